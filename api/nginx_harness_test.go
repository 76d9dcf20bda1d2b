package main

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/kairan/kairan/api/config"
	bt "github.com/kairan/kairan/api/internal/browsertest"
	"github.com/kairan/kairan/api/internal/nginxtest"
	"github.com/kairan/kairan/shared/sse"
)

// behindNginx is a real kairan behind Debian's nginx, both configured as
// docs/SCALING.md says: its nginx blocks and its `bin/kairan serve` line
// are read from the document, so the two cannot drift apart. Only what
// must differ in a test is replaced — ports, certificate paths, the
// shutdown timeout — and a replacement that finds nothing fails the test.
type behindNginx struct {
	m      *Main
	nginx  *nginxtest.Nginx
	cert   nginxtest.Cert
	name   string // the public name, board.example.org
	origin string // https://name:port, what a browser's page has
	plain  string // http://name:port, nginx's redirecting server
	// down is the second upstream replica: refusing, like one restarting.
	down string
}

// startBehindNginx runs kairan with the document's flags (edit may change
// limits) and nginx with the document's configuration in front.
func startBehindNginx(t *testing.T, edit ...func(*config.Config)) *behindNginx {
	t.Helper()
	nginxtest.Binary(t) // skip (or fail in CI) before starting anything
	mainConf, site, args := scalingDoc(t)
	loaded, err := config.Load(args, func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatalf("SCALING.md's `bin/kairan serve %s`: %v", strings.Join(args, " "), err)
	}
	m := startServer(t, func(c *config.Config) {
		addr, db := c.Addr, c.DB
		*c = loaded
		c.Addr, c.DB = addr, db
		for _, e := range edit {
			e(c)
		}
	})
	p := &behindNginx{m: m, down: nginxtest.RefusedAddr(t)}
	u, err := url.Parse(loaded.PublicURL)
	if err != nil || u.Hostname() == "" {
		t.Fatalf("SCALING.md's kairan has no --public-url: %q", loaded.PublicURL)
	}
	p.name = u.Hostname()
	if !strings.Contains(site, "server_name "+p.name+";") {
		t.Fatalf("SCALING.md's nginx server_name is not --public-url's host %q", p.name)
	}
	p.cert = nginxtest.NewCert(t, t.TempDir(), p.name)
	tlsLn, plainLn := nginxtest.Listen(t), nginxtest.Listen(t)
	p.origin = "https://" + net.JoinHostPort(p.name, port(tlsLn.Addr()))
	p.plain = "http://" + net.JoinHostPort(p.name, port(plainLn.Addr()))

	mainConf = replace(t, mainConf, `worker_shutdown_timeout\s+\S+;`, "worker_shutdown_timeout 1s;")
	site = replace(t, site, `server\s+127\.0\.0\.1:8081;`, "server "+strings.TrimPrefix(m.URL(), "http://")+";")
	site = replace(t, site, `server\s+127\.0\.0\.1:8082;`, "server "+p.down+";")
	site = replace(t, site, `listen\s+80;`, "listen "+plainLn.Addr().String()+";")
	site = replace(t, site, `listen\s+443\s+ssl\s+http2;`, "listen "+tlsLn.Addr().String()+" ssl http2;")
	site = replace(t, site, `ssl_certificate\s+\S+;`, "ssl_certificate "+p.cert.CertFile+";")
	site = replace(t, site, `ssl_certificate_key\s+\S+;`, "ssl_certificate_key "+p.cert.KeyFile+";")
	p.nginx = nginxtest.Start(t, mainConf, site, tlsLn, plainLn)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("nginx's log:\n%s", p.nginx.Log())
		}
	})
	return p
}

// scalingDoc reads docs/SCALING.md's two nginx blocks (main context, then
// the site) and the arguments of its first `bin/kairan serve` line.
func scalingDoc(t *testing.T) (mainConf, site string, serveArgs []string) {
	t.Helper()
	doc, err := os.ReadFile("../docs/SCALING.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```nginx\n(.*?)```").FindAllStringSubmatch(string(doc), -1)
	if len(blocks) != 2 {
		t.Fatalf("SCALING.md has %d nginx blocks; the test expects two: nginx.conf's main context, then the site", len(blocks))
	}
	serve := regexp.MustCompile(`(?m)^bin/kairan serve (.*?)\s*&?$`).FindStringSubmatch(string(doc))
	if serve == nil {
		t.Fatal("SCALING.md has no `bin/kairan serve …` line")
	}
	return blocks[0][1], blocks[1][1], strings.Fields(serve[1])
}

// replace changes what the test must change; finding nothing means the
// document changed and the test no longer runs what it says.
func replace(t *testing.T, text, pattern, with string) string {
	t.Helper()
	re := regexp.MustCompile(pattern)
	if !re.MatchString(text) {
		t.Fatalf("SCALING.md's nginx configuration has no %s any more: update the test with the document", pattern)
	}
	return re.ReplaceAllLiteralString(text, with)
}

func port(a net.Addr) string { return strconv.Itoa(a.(*net.TCPAddr).Port) }

// client reaches nginx as a browser on the loopback address from would:
// the public name resolves to 127.0.0.1, the test's authority is trusted,
// and redirects are not followed. HTTP/1.1, so every stream has a
// connection of its own and nginx sees each one's address.
func (p *behindNginx) client(t *testing.T, from string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			_, port, _ := net.SplitHostPort(addr)
			return d.DialContext(ctx, network, net.JoinHostPort("127.0.0.1", port))
		},
		TLSClientConfig: &tls.Config{RootCAs: p.cert.Pool},
	}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// stream opens a board's event stream through nginx and fails the test
// unless the answer has the status wanted. On 200 it returns once the
// first event (the reset) arrived, so kairan counts the stream; the body
// is closed when the test ends.
func (p *behindNginx) stream(t *testing.T, c *http.Client, board string, want int, kv ...string) (*http.Response, *sse.Decoder) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, p.origin+"/api/boards/"+board+"/events", nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(kv); i += 2 {
		req.Header.Add(kv[i], kv[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("open a stream through nginx: %v", err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != want {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 300))
		t.Fatalf("a stream through nginx (%q): %s %s, want %d", kv, resp.Status, b, want)
	}
	if resp.StatusCode != http.StatusOK {
		return resp, nil
	}
	dec := sse.NewDecoder(resp.Body, 1<<20)
	if ev, err := dec.Next(); err != nil || ev.Type != "reset" {
		t.Fatalf("first event through nginx: %+v, %v", ev, err)
	}
	return resp, dec
}

// browser starts headless Chromium that resolves the public name to
// 127.0.0.1 and trusts the test's certificate (by its key).
func (p *behindNginx) browser(t *testing.T) context.Context {
	t.Helper()
	return bt.New(t, chromedp.Flag("host-resolver-rules", "MAP "+p.name+" 127.0.0.1"),
		chromedp.Flag("ignore-certificate-errors-spki-list", p.cert.SPKI))
}

// restart stops kairan and starts it again on the same address and
// database, as a service manager would; nginx is left alone. between runs
// while kairan is down.
func (p *behindNginx) restart(t *testing.T, between func()) {
	t.Helper()
	if err := p.m.Close(); err != nil {
		t.Fatal(err)
	}
	between()
	addr, cfg := strings.TrimPrefix(p.m.URL(), "http://"), p.m.Config
	p.m = startServer(t, func(c *config.Config) { *c = cfg; c.Addr = addr })
}
