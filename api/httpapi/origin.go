package httpapi

import (
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"

	"github.com/kairan/kairan/shared"
)

// sameOriginWrites refuses writes sent by pages of other origins. Origins
// allowed by configuration also get CORS answers, so their pages can call
// the API.
func (a *api) sameOriginWrites(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		allowed := origin != "" && a.allowedOrigins[origin]
		if allowed {
			h := w.Header()
			h.Set("Access-Control-Allow-Origin", origin)
			h.Add("Vary", "Origin")
			h.Set("Access-Control-Expose-Headers", "Retry-After")
			if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
				h.Set("Access-Control-Allow-Methods", "GET, POST, PATCH, DELETE")
				h.Set("Access-Control-Allow-Headers", "Content-Type, Authorization, Idempotency-Key, Last-Event-ID")
				h.Set("Access-Control-Max-Age", "600")
				w.WriteHeader(http.StatusNoContent)
				return
			}
		}
		if isRead(r) {
			next.ServeHTTP(w, r)
			return
		}
		if !allowed && a.crossOrigin(r, origin) {
			a.writeError(w, r, shared.Errorf(shared.CodeForbidden,
				"Writes from pages of another site are refused; post from kairan's own page."))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// crossOrigin tells a write sent by another site's page, in the order of
// Go's http.CrossOriginProtection. The browser's own word comes first:
// Sec-Fetch-Site (every browser since 2023) cannot be set by a page and
// needs no knowledge of proxies. A browser without it still sends Origin,
// compared here in full — scheme, host and port, where the standard
// library compares the host only — with the origin the client asked for,
// as a trusted proxy forwards it. Requests with neither header are not
// from a browser page (curl, native clients) and pass. The standard type
// is not used as is: its fallback compares with Host, which behind a
// TLS-terminating proxy is not what the browser used, and it answers in
// plain text rather than with the contract's error body.
func (a *api) crossOrigin(r *http.Request, origin string) bool {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "same-origin", "none":
		return false
	case "":
	default: // same-site, cross-site
		return true
	}
	if origin == "" {
		return false
	}
	u, err := url.Parse(origin) // "null" parses to no scheme and no host: foreign
	return err != nil || u.Host == "" || canonicalOrigin(u.Scheme, u.Host) != canonicalOrigin(a.proxies.Forwarded(r))
}

// canonicalOrigin writes an origin the way browsers send it: lower case,
// without the scheme's default port.
func canonicalOrigin(scheme, host string) string {
	scheme, host = strings.ToLower(scheme), strings.ToLower(host)
	switch scheme {
	case "https":
		host = strings.TrimSuffix(host, ":443")
	case "http":
		host = strings.TrimSuffix(host, ":80")
	}
	return scheme + "://" + host
}

// isRead tells the methods that change nothing from writes.
func isRead(r *http.Request) bool {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return true
	}
	return false
}

// knownHosts refuses requests for names the server does not go by, when
// Config.Hosts lists them (kairan on a loopback address). A page on
// another site can point its own name at 127.0.0.1 (DNS rebinding) and
// then read and write a kairan on the visitor's machine as its own origin;
// its requests still carry its name in Host, which no page can change.
// The Host header itself is checked, never X-Forwarded-Host: such a page
// is same-origin with its own name and may send any other header.
func (a *api) knownHosts(next http.Handler) http.Handler {
	if a.hosts == nil {
		return next
	}
	var names []string
	for h := range a.hosts {
		if h != "localhost" {
			names = append(names, h)
		}
	}
	slices.Sort(names)
	said := "localhost or a loopback address"
	if len(names) > 0 {
		said = "localhost, a loopback address or " + strings.Join(names, ", ")
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := hostName(r.Host)
		if a.hosts[name] || isLoopback(name) {
			next.ServeHTTP(w, r)
			return
		}
		a.writeError(w, r, shared.Errorf(shared.CodeUnknownHost, "This kairan answers requests for "+said+
			", not "+clip(r.Host)+"; open it by one of those names, or set --public-url to the name people use."))
	})
}

// hostName is the host of a Host header, without port, brackets or a
// final dot, in lower case.
func hostName(hostport string) string {
	h := hostport
	if host, _, err := net.SplitHostPort(hostport); err == nil {
		h = host
	}
	return strings.ToLower(strings.TrimSuffix(strings.Trim(h, "[]"), "."))
}

// LoopbackOnly guards a side listener on loopback (the profiler,
// metrics) against DNS rebinding as knownHosts guards the API: a page whose
// name now points at 127.0.0.1 could otherwise read heap profiles through
// the browser. Only requests naming localhost or a loopback address pass.
func LoopbackOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if name := hostName(r.Host); name != "localhost" && !isLoopback(name) {
			http.Error(w, "421 misdirected request: this listener answers only localhost and loopback addresses", http.StatusMisdirectedRequest)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// isLoopback tells an address literal of this machine. Rebinding needs a
// name, so an address is never a rebinding page's.
func isLoopback(name string) bool {
	a, err := netip.ParseAddr(name)
	return err == nil && a.Unmap().IsLoopback()
}
