package limit

import (
	"fmt"
	"net/netip"
	"testing"
	"time"
)

// in returns the address of /64 number n inside the /48 2001:db8:<site>::
// — n/256 picks the /56, n%256 the /64 in it — with host bits that differ
// each call, as a client rotating addresses would send.
func in(site, n int) string {
	return fmt.Sprintf("2001:db8:%x:%x::%x", site, n, 1+n*7)
}

func TestClientAtNetworks(t *testing.T) {
	for _, tc := range []struct {
		addr, key string
		nets      [2]string
	}{
		{"2001:db8:aa:bbcc:1:2:3:4", "2001:db8:aa:bbcc::/64", [2]string{"2001:db8:aa:bb00::/56", "2001:db8:aa::/48"}},
		{"fe80::1%eth0", "fe80::/64", [2]string{"fe80::/56", "fe80::/48"}},
		{"198.51.100.9", "198.51.100.9", [2]string{}},
		{"::ffff:198.51.100.9", "198.51.100.9", [2]string{}},
	} {
		c := ClientAt(netip.MustParseAddr(tc.addr))
		if c.Key != tc.key || c.nets != tc.nets {
			t.Errorf("ClientAt(%s) = %q in %q, want %q in %q", tc.addr, c.Key, c.nets, tc.key, tc.nets)
		}
	}
	// Through a trusted proxy, as the server sees it.
	ps := mustProxies(t, "127.0.0.1")
	c := ps.Client(request("127.0.0.1:1", in(7, 0x1234)))
	if c.Key != "2001:db8:7:1234::/64" || c.nets != [2]string{"2001:db8:7:1200::/56", "2001:db8:7::/48"} {
		t.Errorf("forwarded client %q in %q", c.Key, c.nets)
	}
}

// TestStreamsNetworkCaps: /64s of one /56 share 4 clients' worth of
// streams, /56s of one /48 share 16; a client in another /48 is not held
// back, and a released stream frees its place in every network.
func TestStreamsNetworkCaps(t *testing.T) {
	const perClient = 2
	s := NewStreams(1000, perClient)
	take := func(addr string, want string) func() {
		t.Helper()
		release, refused := s.Acquire(cl(addr))
		if refused != want {
			t.Fatalf("Acquire(%s) refused %q, want %q", addr, refused, want)
		}
		return release
	}
	var first func()
	for n := range 4 { // four /64s fill the /56
		for range perClient {
			r := take(in(1, n), "")
			if first == nil {
				first = r
			}
		}
	}
	take(in(1, 4), NetworkFull)    // a fifth /64 of the same /56
	take(in(1, 0), ClientFull)     // a full /64 is told about itself
	take(in(1, 256), "")           // the next /56 of the /48
	for sub := 1; sub < 4; sub++ { // three more /56s take the /48's 32
		for n := range 4 * perClient {
			if sub == 1 && n == 0 {
				continue // taken above
			}
			take(in(1, sub*256+n/perClient), "")
		}
	}
	take(in(1, 4*256), NetworkFull) // a fifth /56 of the same /48
	take(in(2, 0), "")              // another /48
	take("198.51.100.9", "")        // IPv4 is not grouped
	if n := s.Open(); n != 34 {
		t.Fatalf("Open = %d, want 34", n)
	}
	first()
	take(in(1, 4*256), "")      // the /48 has a place again
	take(in(1, 4), NetworkFull) // and is full again
	take(in(1, 5*256+1), NetworkFull)
}

// TestWritesNetworkBuckets: /64s of one /56 share 4 clients' worth of
// writes, /56s of one /48 16; a refusal names the network whose bucket is
// empty, takes nothing from any bucket, and its wait is enough.
func TestWritesNetworkBuckets(t *testing.T) {
	const perMinute = 6 // burst 6: a /56 24 at once, a /48 96
	w, clock := fakeWrites(t, perMinute)
	write := func(addr string) (bool, time.Duration, string) {
		t.Helper()
		return w.Allow(cl(addr))
	}
	for n := range 24 { // 24 /64s, one write each, fill their /56
		if ok, _, _ := write(in(1, n)); !ok {
			t.Fatalf("write %d of the /56's 24 refused", n+1)
		}
	}
	ok, wait, network := write(in(1, 24))
	if ok || network != "2001:db8:1::/56" || wait <= 0 || wait > time.Minute/24 {
		t.Fatalf("25th write in one /56: ok %v, wait %v, network %q; want refused by the /56 within %v", ok, wait, network, time.Minute/24)
	}
	// A client whose own bucket is empty is told about itself.
	spend(t, w, in(1, 300), perMinute)
	if ok, _, network := write(in(1, 300)); ok || network != "" {
		t.Fatalf("7th write of one /64: ok %v, network %q; want refused as the client", ok, network)
	}
	// The refusals took nothing from the /48: 96 − 24 − 6 = 66 remain,
	// spread over other /56s of it.
	for n := range 66 {
		if ok, _, network := write(in(1, 512+(n/20)*256+n%20)); !ok {
			t.Fatalf("write %d of the /48's remaining 66 refused by %q", n+1, network)
		}
	}
	if ok, _, network := write(in(1, 9*256)); ok || network != "2001:db8:1::/48" {
		t.Fatalf("97th write in one /48: ok %v, network %q; want refused by the /48", ok, network)
	}
	spend(t, w, in(2, 0), perMinute) // another /48 is not held back
	// The wait given is enough: after it the refused client writes.
	_, wait, _ = write(in(1, 24))
	clock.advance(wait)
	if ok, again, network := write(in(1, 24)); !ok {
		t.Fatalf("refused again after waiting %v: %v more, by %q", wait, again, network)
	}
}
