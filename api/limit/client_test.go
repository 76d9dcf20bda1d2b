package limit

import (
	"net/http"
	"net/netip"
	"strings"
	"testing"
)

func mustProxies(t *testing.T, s string) Proxies {
	t.Helper()
	ps, err := ParseProxies(s)
	if err != nil {
		t.Fatalf("ParseProxies(%q): %v", s, err)
	}
	return ps
}

// cl is the client named s: the client at s when it is an address, else
// a client of that name (limits test keys need not be addresses).
func cl(s string) Client {
	if a, err := netip.ParseAddr(s); err == nil {
		return ClientAt(a)
	}
	return Client{Key: s}
}

func request(remote string, xff ...string) *http.Request {
	r := &http.Request{RemoteAddr: remote, Header: http.Header{}}
	for _, h := range xff {
		r.Header.Add("X-Forwarded-For", h)
	}
	return r
}

func TestParseProxies(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string // Prefix.String of each
	}{
		{in: "", want: nil},
		{in: " ,  , ", want: nil},
		{in: "10.0.0.0/8", want: []string{"10.0.0.0/8"}},
		{in: "10.1.2.3/8", want: []string{"10.0.0.0/8"}}, // host bits masked
		{in: "127.0.0.1", want: []string{"127.0.0.1/32"}},
		{in: "::1", want: []string{"::1/128"}},
		{in: "fd00::/8", want: []string{"fd00::/8"}},
		{in: "::ffff:1.2.3.4", want: []string{"1.2.3.4/32"}}, // unmapped
		{in: "fe80::1%eth0", want: []string{"fe80::1/128"}},  // zone dropped
		{in: "10.0.0.0/8, 127.0.0.1,fd00::/8 ", want: []string{"10.0.0.0/8", "127.0.0.1/32", "fd00::/8"}},
		{in: "192.168.0.0/16,,172.16.0.0/12", want: []string{"192.168.0.0/16", "172.16.0.0/12"}},
	} {
		ps, err := ParseProxies(tc.in)
		if err != nil {
			t.Errorf("ParseProxies(%q): %v", tc.in, err)
			continue
		}
		var got []string
		for _, p := range ps {
			got = append(got, p.String())
		}
		if strings.Join(got, " ") != strings.Join(tc.want, " ") {
			t.Errorf("ParseProxies(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestParseProxiesErrors(t *testing.T) {
	for _, tc := range []struct {
		in, bad string // bad: the field the message must quote
	}{
		{in: "proxy.example", bad: "proxy.example"},
		{in: "10.0.0.0/33", bad: "10.0.0.0/33"},
		{in: "::/129", bad: "::/129"},
		{in: "10.0.0.0/8/8", bad: "10.0.0.0/8/8"},
		{in: "10.0.0.1:8080", bad: "10.0.0.1:8080"},
		{in: "256.0.0.1", bad: "256.0.0.1"},
		{in: "10.0.0.0/8, bogus , 127.0.0.1", bad: "bogus"},
		{in: "10.0.0.0 /8", bad: "10.0.0.0 /8"},
		{in: "10.0.0.0/-1", bad: "10.0.0.0/-1"},
	} {
		ps, err := ParseProxies(tc.in)
		if err == nil {
			t.Errorf("ParseProxies(%q) = %v, want an error", tc.in, ps)
			continue
		}
		msg := err.Error()
		for _, want := range []string{"--trust-proxy", `"` + tc.bad + `"`, "10.0.0.0/8"} {
			if !strings.Contains(msg, want) {
				t.Errorf("ParseProxies(%q) error %q does not mention %s", tc.in, msg, want)
			}
		}
	}
}

func TestClient(t *testing.T) {
	for _, tc := range []struct {
		name   string
		trust  string
		remote string
		xff    []string
		want   string
	}{
		// No proxy trusted: the peer, whatever the header says.
		{name: "no proxies, no header", remote: "203.0.113.7:5555", want: "203.0.113.7"},
		{name: "no proxies, header ignored", remote: "203.0.113.7:5555", xff: []string{"198.51.100.9"}, want: "203.0.113.7"},
		{name: "untrusted peer spoofs XFF", trust: "10.0.0.0/8", remote: "203.0.113.7:5555",
			xff: []string{"198.51.100.9, 10.0.0.2"}, want: "203.0.113.7"},
		{name: "untrusted peer spoofs a trusted address", trust: "10.0.0.0/8", remote: "203.0.113.7:5555",
			xff: []string{"10.0.0.2"}, want: "203.0.113.7"},

		// Trusted peer: read right to left past trusted hops.
		{name: "trusted peer, one hop", trust: "10.0.0.0/8", remote: "10.0.0.1:443",
			xff: []string{"198.51.100.9"}, want: "198.51.100.9"},
		{name: "client, trusted-proxy", trust: "10.0.0.0/8", remote: "10.0.0.1:443",
			xff: []string{"198.51.100.9, 10.0.0.2"}, want: "198.51.100.9"},
		{name: "spoofed hop left of the client is not believed", trust: "10.0.0.0/8", remote: "10.0.0.1:443",
			xff: []string{"6.6.6.6, 198.51.100.9, 10.0.0.2"}, want: "198.51.100.9"},
		{name: "spoofed trusted-looking hop left of the client", trust: "10.0.0.0/8", remote: "10.0.0.1:443",
			xff: []string{"10.9.9.9, 198.51.100.9, 10.0.0.2"}, want: "198.51.100.9"},
		{name: "all hops trusted: leftmost", trust: "10.0.0.0/8", remote: "10.0.0.1:443",
			xff: []string{"10.0.0.4, 10.0.0.3, 10.0.0.2"}, want: "10.0.0.4"},
		{name: "trusted peer without a header", trust: "10.0.0.0/8", remote: "10.0.0.1:443", want: "10.0.0.1"},
		{name: "single trusted address", trust: "127.0.0.1", remote: "127.0.0.1:9000",
			xff: []string{"198.51.100.9"}, want: "198.51.100.9"},
		{name: "several trusted ranges", trust: "127.0.0.1, 192.168.0.0/16", remote: "127.0.0.1:9000",
			xff: []string{"198.51.100.9, 192.168.4.4"}, want: "198.51.100.9"},
		{name: "spaces around hops", trust: "10.0.0.0/8", remote: "10.0.0.1:443",
			xff: []string{"   198.51.100.9   ,10.0.0.2 "}, want: "198.51.100.9"},

		// Garbage stops the walk at the last hop believed.
		{name: "garbage rightmost: the peer", trust: "10.0.0.0/8", remote: "10.0.0.1:443",
			xff: []string{"198.51.100.9, garbage"}, want: "10.0.0.1"},
		{name: "garbage behind a trusted hop: that hop", trust: "10.0.0.0/8", remote: "10.0.0.1:443",
			xff: []string{"198.51.100.9, unknown, 10.0.0.2"}, want: "10.0.0.2"},
		{name: "garbage left of the client is never read", trust: "10.0.0.0/8", remote: "10.0.0.1:443",
			xff: []string{"<script>, 198.51.100.9"}, want: "198.51.100.9"},
		{name: "hop with a port is garbage", trust: "10.0.0.0/8", remote: "10.0.0.1:443",
			xff: []string{"198.51.100.9:1234"}, want: "10.0.0.1"},
		{name: "empty header", trust: "10.0.0.0/8", remote: "10.0.0.1:443",
			xff: []string{""}, want: "10.0.0.1"},
		{name: "empty hop", trust: "10.0.0.0/8", remote: "10.0.0.1:443",
			xff: []string{"198.51.100.9,,10.0.0.2"}, want: "10.0.0.2"},

		// Several X-Forwarded-For headers read as one list, in order.
		{name: "two headers, client in the first", trust: "10.0.0.0/8", remote: "10.0.0.1:443",
			xff: []string{"6.6.6.6, 198.51.100.9", "10.0.0.2"}, want: "198.51.100.9"},
		{name: "two headers, client in the last", trust: "10.0.0.0/8", remote: "10.0.0.1:443",
			xff: []string{"6.6.6.6", "198.51.100.9, 10.0.0.2"}, want: "198.51.100.9"},
		{name: "two headers, all trusted", trust: "10.0.0.0/8", remote: "10.0.0.1:443",
			xff: []string{"10.0.0.3", "10.0.0.2"}, want: "10.0.0.3"},
		{name: "two headers from an untrusted peer", trust: "10.0.0.0/8", remote: "203.0.113.7:1",
			xff: []string{"198.51.100.9", "10.0.0.2"}, want: "203.0.113.7"},

		// IPv6: keyed by /64.
		{name: "IPv6 peer", remote: "[2001:db8:1:2:aaaa:bbbb:cccc:dddd]:80", want: "2001:db8:1:2::/64"},
		{name: "IPv6 peer with a zone", remote: "[fe80::1%eth0]:80", want: "fe80::/64"},
		{name: "IPv6 client behind an IPv6 proxy", trust: "fd00::/8", remote: "[fd00::1]:443",
			xff: []string{"2001:db8:aa:bb:1:2:3:4, fd00::2"}, want: "2001:db8:aa:bb::/64"},
		{name: "IPv6 client behind an IPv4 proxy", trust: "10.0.0.0/8", remote: "10.0.0.1:443",
			xff: []string{"2001:db8:aa:bb::1"}, want: "2001:db8:aa:bb::/64"},
		{name: "IPv4 client behind an IPv6 proxy", trust: "::1", remote: "[::1]:443",
			xff: []string{"198.51.100.9"}, want: "198.51.100.9"},

		// IPv4-mapped IPv6 is the IPv4 address.
		{name: "mapped peer", remote: "[::ffff:1.2.3.4]:80", want: "1.2.3.4"},
		{name: "mapped hop", trust: "10.0.0.0/8", remote: "10.0.0.1:443",
			xff: []string{"::ffff:198.51.100.9"}, want: "198.51.100.9"},
		{name: "mapped peer is trusted by its IPv4 prefix", trust: "10.0.0.0/8", remote: "[::ffff:10.0.0.1]:443",
			xff: []string{"198.51.100.9"}, want: "198.51.100.9"},
		{name: "mapped trusted hop", trust: "10.0.0.0/8", remote: "10.0.0.1:443",
			xff: []string{"198.51.100.9, ::ffff:10.0.0.2"}, want: "198.51.100.9"},
		{name: "trusted as a mapped address", trust: "::ffff:127.0.0.1", remote: "127.0.0.1:9000",
			xff: []string{"198.51.100.9"}, want: "198.51.100.9"},

		// RemoteAddr that is not host:port.
		{name: "address without a port", remote: "203.0.113.7", want: "203.0.113.7"},
		{name: "not an address (a pipe)", trust: "10.0.0.0/8", remote: "pipe",
			xff: []string{"198.51.100.9"}, want: "pipe"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ps := mustProxies(t, tc.trust)
			if got := ps.Client(request(tc.remote, tc.xff...)).Key; got != tc.want {
				t.Errorf("trust %q, RemoteAddr %q, X-Forwarded-For %q: Client = %q, want %q",
					tc.trust, tc.remote, tc.xff, got, tc.want)
			}
		})
	}
}

func TestClientIPv6Slash64(t *testing.T) {
	var none Proxies
	for _, tc := range []struct {
		a, b string
		same bool
	}{
		{a: "[2001:db8:1:2::1]:1", b: "[2001:db8:1:2::2]:2", same: true},
		{a: "[2001:db8:1:2::1]:1", b: "[2001:db8:1:2:ffff:ffff:ffff:ffff]:1", same: true},
		{a: "[2001:db8:1:2::1]:1", b: "[2001:db8:1:3::1]:1", same: false},
		{a: "[2001:db8:1:2::1]:1", b: "[2001:db8:2:2::1]:1", same: false},
		{a: "[2001:db8::1]:1", b: "[2001:db9::1]:1", same: false},
		{a: "[::ffff:1.2.3.4]:1", b: "1.2.3.4:2", same: true},
		{a: "1.2.3.4:1", b: "1.2.3.5:1", same: false}, // IPv4 is keyed by the whole address
	} {
		ka, kb := none.Client(request(tc.a)).Key, none.Client(request(tc.b)).Key
		if (ka == kb) != tc.same {
			t.Errorf("%s → %q, %s → %q; same = %v, want %v", tc.a, ka, tc.b, kb, ka == kb, tc.same)
		}
	}

	// The same holds for addresses read from X-Forwarded-For.
	ps := mustProxies(t, "10.0.0.0/8")
	k1 := ps.Client(request("10.0.0.1:1", "2001:db8:1:2::1")).Key
	k2 := ps.Client(request("10.0.0.1:1", "2001:db8:1:2:dead:beef::7")).Key
	k3 := ps.Client(request("10.0.0.1:1", "2001:db8:1:3::1")).Key
	if k1 != k2 || k1 == k3 {
		t.Errorf("forwarded IPv6 keys: %q %q %q; want the first two equal and the third different", k1, k2, k3)
	}
}

// A proxy given as an IPv4-mapped prefix should trust the IPv4 peers it
// covers, as the same proxy given as a mapped address does.
func TestParseProxiesMappedPrefix(t *testing.T) {
	for _, trust := range []string{"::ffff:10.0.0.1", "::ffff:10.0.0.1/128", "::ffff:10.0.0.0/104"} {
		ps := mustProxies(t, trust)
		if got := ps.Client(request("10.0.0.1:443", "198.51.100.9")).Key; got != "198.51.100.9" {
			t.Errorf("--trust-proxy %q: peer 10.0.0.1 not trusted (Client = %q, want 198.51.100.9); parsed as %v",
				trust, got, ps)
		}
	}
}
