package load

import (
	"context"
	"net"
	"net/netip"
	"sync/atomic"
)

// portsPerSource is how many connections one loopback source address
// carries at most when --sources is left to choose: below the 28,232
// ephemeral ports of this machine's default range (32768–60999), with
// room for the writer and for sockets in TIME_WAIT.
const portsPerSource = 20000

// MaxSources bounds --sources: 127.0.0.1 onwards, well inside 127.0.0.0/8.
const MaxSources = 1000

// sourcesFor is how many source addresses n connections need.
func sourcesFor(n int) int { return max(1, (n+portsPerSource-1)/portsPerSource) }

// sourceDialer binds each connection to one of n loopback source
// addresses, 127.0.0.(1+first) onwards, in turn: one source address has
// one ephemeral port range, so thousands of subscribers need several. A
// nil sourceDialer, or a target that is not an IPv4 loopback address
// (::1, a name), dials as the kernel chooses.
type sourceDialer struct {
	first netip.Addr
	n     int
	next  atomic.Uint64
}

func newSourceDialer(first, n int) *sourceDialer {
	if n <= 1 && first == 0 {
		return nil // 127.0.0.1 is what the kernel picks anyway
	}
	a := netip.AddrFrom4([4]byte{127, 0, 0, 1})
	for range first {
		a = a.Next()
	}
	return &sourceDialer{first: a, n: max(n, 1)}
}

// source is the i-th address, counted from first.
func (s *sourceDialer) source(i int) netip.Addr {
	a := s.first
	for range i {
		a = a.Next()
	}
	return a
}

func (s *sourceDialer) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	if s == nil {
		return dialLoopback(ctx, network, addr)
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	if a, err := netip.ParseAddr(host); err != nil || !a.Is4() || !a.IsLoopback() {
		return dialLoopback(ctx, network, addr)
	}
	src := s.source(int((s.next.Add(1) - 1) % uint64(s.n)))
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: src.AsSlice()}}
	return checkLoopback(d.DialContext(ctx, network, addr))
}
