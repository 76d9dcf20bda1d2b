package limit

import (
	"crypto/tls"
	"net/http"
	"testing"
)

// The scheme and host come from the connection unless a trusted proxy
// forwards them; an untrusted peer's headers change nothing.
func TestForwarded(t *testing.T) {
	ps := mustProxies(t, "10.0.0.1, fd00::/8")
	for _, tc := range []struct {
		name, remote string
		tls          bool
		hdr          []string // key, value pairs
		scheme, host string
	}{
		{name: "plain connection", remote: "192.0.2.7:5000", scheme: "http", host: "board.example"},
		{name: "TLS connection", remote: "192.0.2.7:5000", tls: true, scheme: "https", host: "board.example"},
		{name: "untrusted peer's headers ignored", remote: "192.0.2.7:5000",
			hdr: []string{"X-Forwarded-Proto", "https", "X-Forwarded-Host", "evil.example"}, scheme: "http", host: "board.example"},
		{name: "trusted proxy", remote: "10.0.0.1:5000",
			hdr: []string{"X-Forwarded-Proto", "https", "X-Forwarded-Host", "board.example:8443"}, scheme: "https", host: "board.example:8443"},
		{name: "trusted IPv6 proxy", remote: "[fd00::5]:5000",
			hdr: []string{"X-Forwarded-Proto", "HTTPS"}, scheme: "https", host: "board.example"},
		{name: "trusted proxy sends proto only", remote: "10.0.0.1:5000",
			hdr: []string{"X-Forwarded-Proto", "https"}, scheme: "https", host: "board.example"},
		{name: "rightmost value wins", remote: "10.0.0.1:5000",
			hdr:    []string{"X-Forwarded-Proto", "http, https", "X-Forwarded-Host", "evil.example", "X-Forwarded-Host", "a.example, board.example"},
			scheme: "https", host: "board.example"},
		{name: "garbage ignored", remote: "10.0.0.1:5000",
			hdr: []string{"X-Forwarded-Proto", "javascript", "X-Forwarded-Host", "evil.example/path"}, scheme: "http", host: "board.example"},
		{name: "user info ignored", remote: "10.0.0.1:5000",
			hdr: []string{"X-Forwarded-Host", "evil.example@board.example"}, scheme: "http", host: "board.example"},
		{name: "not TCP", remote: "pipe", hdr: []string{"X-Forwarded-Proto", "https"}, scheme: "http", host: "board.example"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &http.Request{RemoteAddr: tc.remote, Host: "board.example", Header: http.Header{}}
			if tc.tls {
				r.TLS = &tls.ConnectionState{}
			}
			for i := 0; i+1 < len(tc.hdr); i += 2 {
				r.Header.Add(tc.hdr[i], tc.hdr[i+1])
			}
			scheme, host := ps.Forwarded(r)
			if scheme != tc.scheme || host != tc.host {
				t.Fatalf("Forwarded = %s, %s; want %s, %s", scheme, host, tc.scheme, tc.host)
			}
		})
	}
	var none Proxies
	r := &http.Request{RemoteAddr: "10.0.0.1:5000", Host: "board.example", Header: http.Header{"X-Forwarded-Proto": {"https"}}}
	if scheme, _ := none.Forwarded(r); scheme != "http" {
		t.Fatalf("without --trust-proxy the forwarded scheme was believed: %s", scheme)
	}
}
