package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/kairan/kairan/api/config"
)

// get fetches url and returns the status and body.
func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// With --metrics-addr the series are served there, and the public address
// no longer answers them.
func TestMetricsOnTheirOwnListener(t *testing.T) {
	public := startServer(t)
	if status, body := get(t, public.URL()+"/metrics"); status != 200 || !strings.Contains(body, "kairan_sse_subscribers") {
		t.Fatalf("without --metrics-addr, public /metrics = %d", status)
	}

	m := startServer(t, func(c *config.Config) { c.MetricsAddr = "127.0.0.1:0" })
	get(t, m.URL()+"/api/boards/lobby") // one request to count
	if status, body := get(t, m.URL()+"/metrics"); status == 200 || strings.Contains(body, "kairan_") {
		t.Fatalf("with --metrics-addr, public /metrics = %d and shows series", status)
	}
	status, body := get(t, "http://"+m.metricsAddr()+"/metrics")
	if status != 200 || !strings.Contains(body, `kairan_http_requests_total{code="200",method="get",route="GET /api/boards/{board}"} 1`) {
		t.Fatalf("metrics listener = %d:\n%.2000s", status, body)
	}
}

func TestVersion(t *testing.T) {
	for _, arg := range []string{"--version", "version"} {
		var out, errOut bytes.Buffer
		if code := run(context.Background(), []string{arg}, func(string) string { return "" }, &out, &errOut); code != 0 {
			t.Fatalf("kairan %s exited %d: %s", arg, code, errOut.String())
		}
		if !regexp.MustCompile(`^kairan \S+ commit \S+ go1\.\d+`).MatchString(out.String()) {
			t.Fatalf("kairan %s printed %q", arg, out.String())
		}
	}
}

// bin/kairan only serves: the load tool is a command of its own, and the
// old subcommands say where it went.
func TestServerHasNoLoadCommands(t *testing.T) {
	for _, arg := range []string{"load", "bench"} {
		var out, errOut bytes.Buffer
		code := run(context.Background(), []string{arg}, func(string) string { return "" }, &out, &errOut)
		if code != 2 || !strings.Contains(errOut.String(), "bin/kairan-load "+arg) {
			t.Errorf("kairan %s: exit %d, stderr %q; want 2 and a pointer to kairan-load", arg, code, errOut.String())
		}
	}
}

// --log-format json writes one JSON object per line, with the usual keys,
// so a collector needs no parser of its own.
func TestJSONLogs(t *testing.T) {
	var buf bytes.Buffer
	log := newLogger(&buf, "info", "json")
	log.Info("kairan serving", "url", "http://127.0.0.1:8080")
	var line map[string]any
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
		t.Fatalf("not one JSON object: %q: %v", buf.String(), err)
	}
	if line["msg"] != "kairan serving" || line["level"] != "INFO" || line["url"] != "http://127.0.0.1:8080" || line["time"] == nil {
		t.Fatalf("line %v", line)
	}
	if _, err := config.Load([]string{"--log-format", "xml"}, func(string) string { return "" }, io.Discard); err == nil ||
		!strings.Contains(err.Error(), "--log-format") {
		t.Fatalf("--log-format xml: %v", err)
	}
}

// /web/ serves the files a page needs and nothing else: no directory
// listings, no Go source of the package that embeds the directory.
func TestWebServesFilesOnly(t *testing.T) {
	m := startServer(t)
	for _, path := range []string{"/web/", "/web/icons/", "/web/icons", "/web/embed.go", "/web/../web/embed.go", "/web/EMBED.GO"} {
		status, body := get(t, m.URL()+path)
		if status == 200 || strings.Contains(body, "package web") || strings.Contains(body, `<a href="`) && strings.Contains(body, "icons/") {
			t.Errorf("GET %s = %d:\n%.300s", path, status, body)
		}
	}
	if status, body := get(t, m.URL()+"/web/icons/icon.svg"); status != 200 || !strings.Contains(body, "<svg") {
		t.Errorf("GET /web/icons/icon.svg = %d", status)
	}
}

// A snapshot goes gzip-compressed to a client that accepts it, and as is
// to one that does not; both decode to the same JSON.
func TestSnapshotsAreCompressed(t *testing.T) {
	m := startServer(t, unlimited)
	for i := range 40 {
		req, _ := http.NewRequest("POST", m.URL()+"/api/boards/lobby/topics", strings.NewReader(`{"author":"Aiko","comment":"topic number `+strings.Repeat("x", i)+`"}`))
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != 201 {
			t.Fatalf("post %d: %v %v", i, resp, err)
		}
		resp.Body.Close()
	}
	fetch := func(accept string) (*http.Response, []byte) {
		req, _ := http.NewRequest("GET", m.URL()+"/api/boards/lobby", nil)
		req.Header.Set("Accept-Encoding", accept) // set by hand, so Go's client does not decompress
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, b
	}
	plainResp, plain := fetch("identity")
	zipResp, zipped := fetch("br, gzip;q=0.8")
	if plainResp.Header.Get("Content-Encoding") != "" || zipResp.Header.Get("Content-Encoding") != "gzip" ||
		!strings.Contains(zipResp.Header.Get("Vary"), "Accept-Encoding") {
		t.Fatalf("encodings %q / %q, Vary %q", plainResp.Header.Get("Content-Encoding"), zipResp.Header.Get("Content-Encoding"), zipResp.Header.Get("Vary"))
	}
	zr, err := gzip.NewReader(bytes.NewReader(zipped))
	if err != nil {
		t.Fatal(err)
	}
	unzipped, err := io.ReadAll(zr)
	if err != nil || !bytes.Equal(unzipped, plain) {
		t.Fatalf("gzip body does not decode to the plain one (%v)", err)
	}
	if len(zipped)*3 > len(plain) {
		t.Fatalf("gzip saved little: %d of %d bytes", len(zipped), len(plain))
	}
	t.Logf("snapshot of 40 topics: %d bytes, %d gzipped", len(plain), len(zipped))
	if resp, _ := fetch("gzip;q=0"); resp.Header.Get("Content-Encoding") != "" {
		t.Fatal("gzip;q=0 got gzip")
	}
}

// The metrics and profiler listeners on loopback answer only requests
// naming localhost or a loopback address: a DNS-rebinding page cannot read
// them through the browser.
func TestLoopbackListenersRefuseOtherHosts(t *testing.T) {
	m := startServer(t, func(c *config.Config) { c.MetricsAddr, c.PprofAddr = "127.0.0.1:0", "127.0.0.1:0" })
	for _, base := range []string{"http://" + m.metricsAddr() + "/metrics", m.pprofURL() + "/debug/pprof/"} {
		for host, want := range map[string]int{"": 200, "localhost": 200, "127.0.0.1": 200, "evil.example": 421, "127.0.0.1.evil.example": 421} {
			req, _ := http.NewRequest("GET", base, nil)
			if host != "" {
				req.Host = host
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != want {
				t.Errorf("GET %s with Host %q = %d, want %d", base, host, resp.StatusCode, want)
			}
		}
	}
}
