// Package limit keeps one client from taking what belongs to all: it tells
// who the client is (its address, or the one a trusted proxy reports, and
// for IPv6 the networks around it), how fast it may write (a token bucket
// per client and per network) and how many streams it may hold open (a cap
// per client, per network and one overall).
package limit

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// Proxies are the reverse proxies whose X-Forwarded-For is believed.
type Proxies []netip.Prefix

// ParseProxies reads --trust-proxy: comma-separated addresses or CIDR
// prefixes ("10.0.0.0/8, 127.0.0.1"). Empty trusts no proxy.
func ParseProxies(s string) (Proxies, error) {
	var ps Proxies
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if p, err := netip.ParsePrefix(f); err == nil {
			if p.Addr().Is4In6() { // peers are compared unmapped
				if p.Bits() < 96 {
					return nil, fmt.Errorf("--trust-proxy %q: an IPv4-mapped prefix needs at least /96; write it as IPv4", f)
				}
				p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
			}
			ps = append(ps, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(f)
		if err != nil {
			return nil, fmt.Errorf("--trust-proxy %q is not an address or prefix such as 10.0.0.0/8", f)
		}
		ps = append(ps, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
	}
	return ps, nil
}

func (ps Proxies) trusts(a netip.Addr) bool {
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Client is who sent the request, as a key for limits: the connection's
// peer address, unless that peer is a trusted proxy, in which case the
// X-Forwarded-For chain is read from the right (the hop the proxy itself
// appended) past every trusted hop to the first one that is not. Hops
// further left were written by the client and could be anything, so they
// are never believed.
//
// IPv6 clients are keyed by their /64 and counted in their /56 and /48 as
// well (see Client).
func (ps Proxies) Client(r *http.Request) Client {
	peer := remoteAddr(r.RemoteAddr)
	if !peer.IsValid() {
		return Client{Key: r.RemoteAddr} // not TCP (a test's pipe): one client
	}
	client := peer
	if len(ps) > 0 && ps.trusts(peer) {
		client = ps.forwarded(r.Header.Values("X-Forwarded-For"), peer)
	}
	return ClientAt(client)
}

func (ps Proxies) forwarded(headers []string, peer netip.Addr) netip.Addr {
	var hops []string
	for _, h := range headers {
		hops = append(hops, strings.Split(h, ",")...)
	}
	client := peer
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			// Garbage where an address should be: the last hop believed
			// is the one that passed it on.
			return client
		}
		client = a.Unmap()
		if !ps.trusts(client) {
			return client
		}
	}
	return client
}

func remoteAddr(s string) netip.Addr {
	host, _, err := net.SplitHostPort(s)
	if err != nil {
		host = s
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	return a.Unmap().WithZone("")
}
