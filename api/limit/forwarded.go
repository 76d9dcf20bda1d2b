package limit

import (
	"net/http"
	"strings"
)

// Forwarded is the scheme and host the client asked for: the connection's
// own (https when it is TLS, and the Host header), unless the peer is a
// trusted proxy that says otherwise in X-Forwarded-Proto and
// X-Forwarded-Host. A TLS-terminating proxy talks plain HTTP to kairan, and
// may pass the public name in Host without the port the browser used; only
// the proxy knows both.
//
// Of several values the rightmost is taken, the one written by the proxy
// that talks to kairan: with a chain of proxies the outermost sets these
// headers and the inner ones pass them on. Values that cannot be a scheme
// or a host are ignored, and so is everything an untrusted peer sends.
func (ps Proxies) Forwarded(r *http.Request) (scheme, host string) {
	scheme, host = "http", r.Host
	if r.TLS != nil {
		scheme = "https"
	}
	if len(ps) == 0 || !ps.trusts(remoteAddr(r.RemoteAddr)) {
		return scheme, host
	}
	switch p := strings.ToLower(last(r.Header.Values("X-Forwarded-Proto"))); p {
	case "http", "https":
		scheme = p
	}
	if h := last(r.Header.Values("X-Forwarded-Host")); isHost(h) {
		host = h
	}
	return scheme, host
}

// last is the rightmost comma-separated value of a header's lines.
func last(lines []string) string {
	if len(lines) == 0 {
		return ""
	}
	l := lines[len(lines)-1]
	return strings.TrimSpace(l[strings.LastIndexByte(l, ',')+1:])
}

// isHost accepts what a Host header may hold here: a name or an address
// literal, and a port. Anything else (paths, user info, spaces) is not a
// host a browser could have asked for.
func isHost(h string) bool {
	if h == "" || len(h) > 255 {
		return false
	}
	for _, c := range h {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.ContainsRune(".-_:[]", c):
		default:
			return false
		}
	}
	return true
}
