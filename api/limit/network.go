package limit

import "net/netip"

// Client is who sent a request, as the keys its limits count under: Key is
// the client itself — an IPv4 address, or an IPv6 /64 — and an IPv6 client
// is also counted as part of its /56 and its /48.
//
// One subscriber line or host gets a whole /64, so /64 is the smallest
// IPv6 client; but ISPs delegate a /56 or a /48 to one customer (RIPE-690
// recommends one of the two per end site), so a customer could rotate
// through 256 or 65,536 /64s and take every stream slot, or write without
// limit. Each network therefore gets its own allowance, a few clients'
// worth (networks below). IPv4 is not grouped: addresses are scarce, one
// is often many people already (carrier-grade NAT), and neighbours in a
// /24 are usually unrelated.
type Client struct {
	Key string
	// nets are the /56 and /48 of an IPv6 client, "" for IPv4.
	nets [len(networks)]string
}

// networks are the IPv6 prefixes a client is counted in besides its /64,
// narrowest first, and how many clients' allowance each gets. A /56 is a
// home with several people and devices: 4 clients' worth. A /48 is a site
// (an office, a school, a generous ISP's home): 16. With the default 100
// streams per client a /56 holds at most 400 of the 20,000 stream slots
// and a /48 1,600, so taking them all needs 13 separate /48s; writes are
// 4 and 16 times the per-client rate.
var networks = [...]struct{ bits, share int }{{56, 4}, {48, 16}}

// ClientAt is the client at address a.
func ClientAt(a netip.Addr) Client {
	a = a.Unmap().WithZone("")
	if a.Is4() {
		return Client{Key: a.String()}
	}
	p, _ := a.Prefix(64)
	c := Client{Key: p.String()}
	for i, n := range networks {
		p, _ := a.Prefix(n.bits)
		c.nets[i] = p.String()
	}
	return c
}

func (c Client) String() string { return c.Key }

// scope is one key a client is counted under, with the number of clients'
// allowance it gets.
type scope struct {
	key   string
	share int
}

// scopes are c's keys, the client itself first.
func (c Client) scopes() []scope {
	out := make([]scope, 1, 1+len(networks))
	out[0] = scope{c.Key, 1}
	for i, n := range networks {
		if c.nets[i] != "" {
			out = append(out, scope{c.nets[i], n.share})
		}
	}
	return out
}
