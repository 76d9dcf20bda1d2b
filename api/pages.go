package main

import (
	"bytes"
	"net/http"
	"regexp"
	"strconv"
	"strings"
)

// pages wraps go-app's handler for what a person reads:
//
//   - A board's page is rendered anew on every request. go-app answers an
//     If-None-Match equal to the build's version with 304, which suits its
//     scripts but would keep a board's prerendered topics as they were at
//     the first visit.
//   - Link previews carry absolute URLs only when the public origin is
//     known (--public-url, go-app's Domain): without it go-app would print
//     "https:///b/lobby", so those tags are taken out.
//   - An address that is no page answers 404 with a page that links back,
//     not go-app's plain "404 page not found".
func pages(app http.Handler, publicURL string) http.Handler {
	known := publicURL != ""
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		page := r.URL.Path == "/" || strings.HasPrefix(r.URL.Path, "/b/")
		if page {
			r.Header.Del("If-None-Match")
			// The prerender has no request: the language travels in the URL.
			q := r.URL.Query()
			q.Set("lang", requestLang(r))
			r.URL.RawQuery = q.Encode()
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			app.ServeHTTP(w, r)
			return
		}
		if lang := requestLang(r); isManifest(r.URL.Path) && lang != "en" {
			pw := &pageWriter{ResponseWriter: w, page: true}
			app.ServeHTTP(pw, r)
			pw.replace = []string{description["en"], description[lang]}
			w.Header().Add("Vary", "Cookie, Accept-Language")
			pw.finish()
			return
		}
		pw := &pageWriter{ResponseWriter: w, page: page && !known}
		app.ServeHTTP(pw, r)
		pw.finish()
	})
}

// isManifest reports whether path is the web app manifest (go-app serves
// it under two names).
func isManifest(path string) bool {
	return path == "/manifest.webmanifest" || path == "/manifest.json"
}

// requestLang is the language of a page: the person's choice (the "lang"
// cookie the page sets), else the first of Japanese or English in
// Accept-Language by preference, else English.
func requestLang(r *http.Request) string {
	if c, err := r.Cookie("lang"); err == nil && (c.Value == "ja" || c.Value == "en") {
		return c.Value
	}
	best, bestQ := "en", -1.0
	for _, part := range strings.Split(r.Header.Get("Accept-Language"), ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		tag = strings.ToLower(strings.TrimSpace(tag))
		q := 1.0
		if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				q = f
			}
		}
		var lang string
		switch {
		case strings.HasPrefix(tag, "ja"):
			lang = "ja"
		case strings.HasPrefix(tag, "en"):
			lang = "en"
		default:
			continue
		}
		if q > bestQ {
			best, bestQ = lang, q
		}
	}
	return best
}

// hostlessMeta are link-preview tags whose URL has no host (go-app prints
// attributes in no fixed order).
var hostlessMeta = regexp.MustCompile(`\s*<meta (?:property="og:(?:url|image)" content="https?://(?:/[^"]*)?"|content="https?://(?:/[^"]*)?" property="og:(?:url|image)")>`)

// pageWriter holds back a page to take out host-less preview tags, and
// turns a plain 404 into a page of our own. Everything else goes through.
type pageWriter struct {
	http.ResponseWriter
	page     bool     // buffer the body to clean it
	replace  []string // old, new: text to replace in a buffered body
	notFound bool     // a 404: our page is written instead
	status   int
	buf      bytes.Buffer
}

func (p *pageWriter) WriteHeader(code int) {
	if code == http.StatusNotFound && strings.HasPrefix(p.Header().Get("Content-Type"), "text/plain") {
		p.notFound = true
		return
	}
	if p.page && code == http.StatusOK {
		p.status = code
		return
	}
	p.page = false
	p.ResponseWriter.WriteHeader(code)
}

func (p *pageWriter) Write(b []byte) (int, error) {
	switch {
	case p.notFound:
		return len(b), nil
	case p.page:
		return p.buf.Write(b)
	}
	return p.ResponseWriter.Write(b)
}

func (p *pageWriter) finish() {
	switch {
	case p.notFound:
		h := p.Header()
		h.Set("Content-Type", "text/html; charset=utf-8")
		h.Del("Content-Length")
		h.Set("Cache-Control", "no-store")
		p.ResponseWriter.WriteHeader(http.StatusNotFound)
		p.ResponseWriter.Write([]byte(notFoundPage))
	case p.page:
		body := hostlessMeta.ReplaceAll(p.buf.Bytes(), nil)
		if len(p.replace) == 2 {
			body = bytes.ReplaceAll(body, []byte(p.replace[0]), []byte(p.replace[1]))
		}
		p.Header().Del("Content-Length")
		if p.status != 0 {
			p.ResponseWriter.WriteHeader(p.status)
		}
		p.ResponseWriter.Write(body)
	}
}

// notFoundPage is what a person sees at an address that is no page.
const notFoundPage = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Not found · kairan</title>
<link rel="stylesheet" href="/web/app.css">
</head>
<body>
<div class="page">
<header class="bar"><a class="brand" href="/">kairan</a></header>
<main class="board">
<h1>There is no page here</h1>
<p class="notice">Boards live at addresses like <code>/b/night-shift</code>. <a href="/">Go to the lobby</a>.</p>
</main>
</div>
</body>
</html>
`

// Unwrap lets http.ResponseController reach the connection's writer.
func (p *pageWriter) Unwrap() http.ResponseWriter { return p.ResponseWriter }
