package httpapi_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/kairan/kairan/api/httpapi"
	"github.com/kairan/kairan/api/limit"
	"github.com/kairan/kairan/shared"
)

func trustLoopback(t *testing.T) func(*httpapi.Config) {
	ps, err := limit.ParseProxies("127.0.0.1, ::1")
	if err != nil {
		t.Fatal(err)
	}
	return func(c *httpapi.Config) { c.Proxies = ps }
}

// Behind a TLS-terminating proxy named by --trust-proxy, the origin the
// browser used is the one the proxy forwards (scheme and host with port),
// so the site's own page may write and every other origin may not. The
// same headers from a peer that is not trusted are not believed.
func TestWritesBehindATrustedProxy(t *testing.T) {
	e := newEnv(t, trustLoopback(t)) // the test's client is the "proxy"
	fwd := []string{"X-Forwarded-Proto", "https", "X-Forwarded-Host", "board.example:8443", "X-Forwarded-For", "192.0.2.7"}
	with := func(kv ...string) []string { return append(append([]string{}, fwd...), kv...) }

	e.post(t, "lobby", "", "from the page behind the proxy", with("Origin", "https://board.example:8443")...)
	e.post(t, "lobby", "", "default port written out", "Origin", "https://board.example",
		"X-Forwarded-Proto", "https", "X-Forwarded-Host", "Board.Example:443")
	e.post(t, "lobby", "", "proto only, Host from the proxy", "Origin", "https://"+strings.TrimPrefix(e.srv.URL, "http://"),
		"X-Forwarded-Proto", "https")
	before := e.state(t, "lobby")
	for _, origin := range []string{
		"https://evil.example",
		"http://board.example:8443", // the scheme the proxy did not use
		"https://board.example",     // another port
		"https://board.example:8443.evil.example",
		"null",
	} {
		r := e.do(t, "POST", "/api/boards/lobby/topics", `{"comment":"from afar"}`, jsonHdr(with("Origin", origin)...))
		wantError(t, r, http.StatusForbidden, shared.CodeForbidden)
	}
	e.unchanged(t, "lobby", before)

	plain := newEnv(t) // no --trust-proxy: the forwarded headers are anyone's words
	r := plain.do(t, "POST", "/api/boards/lobby/topics", `{"comment":"spoofed"}`, jsonHdr(with("Origin", "https://board.example:8443")...))
	wantError(t, r, http.StatusForbidden, shared.CodeForbidden)
}

// The browser's Sec-Fetch-Site is believed before Origin: same-origin
// passes wherever the server sits (no proxy settings needed), cross-site
// and same-site are refused even with an Origin that matches, and an
// origin allowed by configuration is allowed from any site.
func TestSecFetchSite(t *testing.T) {
	e := newEnv(t, func(c *httpapi.Config) { c.AllowedOrigins = []string{"https://kairan.example"} })
	e.post(t, "lobby", "", "same origin through some proxy", "Origin", "https://board.example", "Sec-Fetch-Site", "same-origin")
	e.post(t, "lobby", "", "allowed origin", "Origin", "https://kairan.example", "Sec-Fetch-Site", "cross-site")
	before := e.state(t, "lobby")
	for _, site := range []string{"cross-site", "same-site", "bogus"} {
		r := e.do(t, "POST", "/api/boards/lobby/topics", `{"comment":"x"}`, jsonHdr("Origin", e.srv.URL, "Sec-Fetch-Site", site))
		wantError(t, r, http.StatusForbidden, shared.CodeForbidden)
	}
	r := e.do(t, "GET", "/api/boards/lobby", "", hdr("Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site"))
	wantStatus(t, r, http.StatusOK) // reads are not writes; CORS keeps the answer from the page
	e.unchanged(t, "lobby", before)
}

// A server on a loopback address answers only for localhost, loopback
// addresses and the names it is given: a page that points its own name at
// 127.0.0.1 (DNS rebinding) gets 421 unknown_host for reads and writes,
// and changes nothing.
func TestUnknownHostRefused(t *testing.T) {
	e := newEnv(t, func(c *httpapi.Config) { c.Hosts = []string{"localhost", "board.example"} })
	port := e.srv.URL[strings.LastIndex(e.srv.URL, ":"):]
	for _, host := range []string{"localhost" + port, "LOCALHOST", "127.0.0.1" + port, "127.0.0.2" + port,
		"[::1]" + port, "board.example", "Board.Example.:443"} {
		e.post(t, "lobby", "", "by "+host, "Host", host)
	}
	before := e.state(t, "lobby")
	for _, host := range []string{"rebind.example" + port, "localhost.rebind.example", "board.example.evil", "10.0.0.1" + port} {
		r := e.do(t, "POST", "/api/boards/lobby/topics", `{"comment":"rebound"}`, jsonHdr("Host", host, "Origin", "http://"+host))
		wantError(t, r, http.StatusMisdirectedRequest, shared.CodeUnknownHost)
		if msg := string(r.body); !strings.Contains(msg, "board.example") || !strings.Contains(msg, "--public-url") {
			t.Fatalf("the message does not say which names work: %s", msg)
		}
		r = e.do(t, "GET", "/api/boards/lobby", "", hdr("Host", host))
		wantError(t, r, http.StatusMisdirectedRequest, shared.CodeUnknownHost)
	}
	e.unchanged(t, "lobby", before)

	open := newEnv(t) // not on loopback: every name
	open.post(t, "lobby", "", "any name", "Host", "rebind.example"+port)
}
