package load

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
)

// CheckURL accepts a kairan base URL on this machine's loopback interface
// only (127.0.0.0/8, ::1 or localhost) and returns it as scheme://host:port.
// A load tool pointed at someone else's server is an attack, not a test.
func CheckURL(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("--url %q is not a URL such as http://127.0.0.1:8080", raw)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", fmt.Errorf("--url %q must start with http://, for example http://127.0.0.1:8080", raw)
	}
	if u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
		return "", fmt.Errorf("--url %q must be the server's base address only, such as http://127.0.0.1:8080", raw)
	}
	if host := u.Hostname(); !isLoopbackHost(host) {
		return "", fmt.Errorf("--url %q: the load tool only talks to this machine's loopback interface "+
			"(127.0.0.0/8, ::1 or localhost), not to %q", raw, host)
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return "", fmt.Errorf("--url %q has no valid port", raw)
		}
	}
	return u.Scheme + "://" + u.Host, nil
}

func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return false
	}
	return a.WithZone("").Unmap().IsLoopback()
}

var errNotLoopback = errors.New("the address resolved to a host outside loopback; refusing to connect")

// dialLoopback dials and then checks the peer really is on loopback, so a
// name like "localhost" mapped elsewhere (/etc/hosts) cannot send load off
// this machine either.
func dialLoopback(ctx context.Context, network, addr string) (net.Conn, error) {
	var d net.Dialer
	return checkLoopback(d.DialContext(ctx, network, addr))
}

// checkLoopback closes c unless its peer is on loopback.
func checkLoopback(c net.Conn, err error) (net.Conn, error) {
	if err != nil {
		return nil, err
	}
	if ta, ok := c.RemoteAddr().(*net.TCPAddr); !ok || !ta.IP.IsLoopback() {
		c.Close()
		return nil, errNotLoopback
	}
	return c, nil
}
