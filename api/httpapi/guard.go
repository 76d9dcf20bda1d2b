package httpapi

import (
	"context"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/kairan/kairan/api/limit"
	"github.com/kairan/kairan/shared"
)

// The guards in front of the handlers: browser-side security headers,
// the per-client write rate, the stream caps and the blocklist.

// pageCSP lets the page load its own scripts, styles, icons and the wasm
// (compiling wasm needs 'wasm-unsafe-eval', which allows no JS eval) and
// nothing else: no inline script, no other origin, no framing, no plugins.
// blob: images are the page's own: a picture waiting to be sent, shown from
// the bytes this browser keeps (web/pics.js).
const pageCSP = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; " +
	"img-src 'self' data: blob:; connect-src 'self'; worker-src 'self'; manifest-src 'self'; " +
	"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// apiCSP is for JSON, event streams and metrics: nothing in them is ever
// meant to run or render as a page.
const apiCSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

// securityHeaders sets the headers every answer carries. Strict-Transport-
// Security is left to the TLS-terminating proxy, which knows whether the
// site is served over HTTPS.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		csp := pageCSP
		if strings.HasPrefix(r.URL.Path, "/api/") || r.URL.Path == "/metrics" || r.URL.Path == "/healthz" {
			csp = apiCSP
		}
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		next.ServeHTTP(w, r)
	})
}

// bodyDeadline gives a request with a body BodyTimeout to send it, from
// the moment its headers are read. A write refused before its body is read
// (a foreign origin, a wrong host, the rate limit) would otherwise let the
// client hold the connection: net/http reads up to 256 KiB of an unread
// body, with no deadline, before it sends the refusal and reuses the
// connection. Requests without a body (every stream) are untouched.
func (a *api) bodyDeadline(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body != nil && r.Body != http.NoBody {
			_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(a.bodyTimeout))
		}
		next.ServeHTTP(w, r)
	})
}

// limitWrites spends one token of the client's bucket per write (any
// method but GET, HEAD and OPTIONS, on any path: a made-up method on a page
// is refused, but a flood of them is still limited), before the body is
// read, so a flood costs the server next to nothing.
func (a *api) limitWrites(next http.Handler) http.Handler {
	if a.writes == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if isRead(r) || a.isModerator(bearer(r)) {
			// The moderator cleaning up a spam wave is not limited.
			next.ServeHTTP(w, r)
			return
		}
		ok, wait, network := a.writes.Allow(a.proxies.Client(r))
		if !ok {
			secs := max(1, int((wait+time.Second-1)/time.Second))
			w.Header().Set("Retry-After", strconv.Itoa(secs))
			a.metrics.rejected("rate_limited")
			who := "You are"
			if network != "" {
				who = "Your network (" + network + ") is"
			}
			a.writeError(w, r, shared.Errorf(shared.CodeRateLimited,
				who+" writing faster than this board allows; wait "+plural(secs, "second")+" and try again."))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// capStreams holds one stream slot for the client while h runs. A refusal
// says when to retry, spread over 5–15 s so refused clients do not all
// come back in the same instant.
func (a *api) capStreams(h http.HandlerFunc) http.HandlerFunc {
	if a.streams == nil {
		return h
	}
	return func(w http.ResponseWriter, r *http.Request) {
		release, refused := a.streams.Acquire(a.proxies.Client(r))
		if refused != "" {
			a.metrics.rejected("streams_" + refused)
			w.Header().Set("Retry-After", strconv.Itoa(5+rand.IntN(11)))
			msg := "The server has as many live connections as it can hold; it will retry shortly."
			switch refused {
			case limit.ClientFull:
				msg = "Your address has too many live connections open; close some tabs or devices and retry."
			case limit.NetworkFull:
				msg = "Your network (the addresses around yours) has too many live connections open; close some tabs or devices and retry."
			}
			a.writeError(w, r, shared.Errorf(shared.CodeUnavailable, msg))
			return
		}
		// A detached stream outlives the handler and takes the slot along.
		sl := &slot{release: release}
		defer func() { // also when h panics
			if !sl.taken {
				release()
			}
		}()
		h(w, r.WithContext(context.WithValue(r.Context(), slotKey{}, sl)))
	}
}

// checkBlocklist refuses text holding a blocklisted word or phrase. The
// answer does not repeat the word: the person knows what they wrote, and a
// slur should not come back to them in an error.
func (a *api) checkBlocklist(r *http.Request, board string, texts ...string) error {
	word, found := a.blocklist.Load().Match(texts...)
	if !found {
		return nil
	}
	a.metrics.rejected("blocked")
	a.log.InfoContext(r.Context(), "post blocked", "board", board, "entry", word)
	return shared.Errorf(shared.CodeBlocked,
		"This board does not allow a word or phrase in your post; reword it and try again.")
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return strconv.Itoa(n) + " " + unit + "s"
}
