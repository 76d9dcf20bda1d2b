package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/andybalholm/brotli"

	"github.com/kairan/kairan/api/config"
	"github.com/kairan/kairan/app/client"
	"github.com/kairan/kairan/shared"
	"github.com/kairan/kairan/shared/sse"
)

// startServer runs the real server wiring on a loopback port with a fresh
// SQLite file, and closes it when the test ends.
func startServer(t testing.TB, edit ...func(*config.Config)) *Main {
	t.Helper()
	cfg := config.Default()
	cfg.Addr = "127.0.0.1:0"
	cfg.DB = filepath.Join(t.TempDir(), "kairan.db")
	for _, e := range edit {
		e(&cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	m := &Main{Config: cfg, Logger: slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))}
	if err := m.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := m.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return m
}

// unlimited turns off the limits meant for the public (all test load
// comes from one address) for tests and benchmarks that write a lot.
func unlimited(c *config.Config) {
	c.RateLimit, c.MaxStreamsPerClient, c.MaxTopicsPerBoard = 0, 0, 0
	c.MaxTopics, c.MaxBoards = 0, 0
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func TestServesPageAPIAndHealth(t *testing.T) {
	m := startServer(t)
	for path, want := range map[string]string{
		"/":                     "<!doctype html>",
		"/b/night-shift":        "night-shift · kairan",
		"/healthz":              `"ok"`,
		"/manifest.webmanifest": `"name":"kairan"`,
		"/web/app.css":          "--teal",
		"/web/icons/icon.svg":   "<svg",
		"/api/boards/lobby":     `"topics":[]`,
	} {
		resp, err := http.Get(m.URL() + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(body), want) {
			t.Errorf("GET %s = %d, body lacks %q:\n%.300s", path, resp.StatusCode, want, body)
		}
	}
	resp, err := http.Get(m.URL() + "/no/such/page")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Errorf("GET /no/such/page = %d, want 404", resp.StatusCode)
	}
}

// wasmBudget is DESIGN §6's limit for app.wasm on the wire, in bytes of
// brotli: what a phone downloads before the app can start.
const wasmBudget = 1_600_000

func TestWasmStaysWithinItsBudget(t *testing.T) {
	a := newAssets(os.DirFS("../web"))
	if a.wasm["br"] == nil {
		t.Fatal("web/app.wasm.br is not built: run `go tool task build` first")
	}
	if n := len(a.wasm["br"]); n > wasmBudget {
		t.Fatalf("app.wasm is %d bytes brotli, over DESIGN §6's budget of %d: find what grew (docs/BENCHMARKS.md shows how)", n, wasmBudget)
	}
}

func TestWasmIsServedPrecompressed(t *testing.T) {
	m := startServer(t)
	a := newAssets(os.DirFS("../web"))
	if a.rawLen == 0 || a.wasm["br"] == nil || a.wasm["gzip"] == nil {
		t.Fatal("web/app.wasm and its .br/.gz are not built: run `go tool task build` first")
	}
	// Both compressed files decode to app.wasm itself (the brotli one
	// uses the format's largest window, 16 MiB).
	raw, err := os.ReadFile("../web/app.wasm")
	if err != nil {
		t.Fatal(err)
	}
	gz, err := gzip.NewReader(bytes.NewReader(a.wasm["gzip"]))
	if err != nil {
		t.Fatal(err)
	}
	for name, r := range map[string]io.Reader{"br": brotli.NewReader(bytes.NewReader(a.wasm["br"])), "gzip": gz} {
		if got, err := io.ReadAll(r); err != nil || !bytes.Equal(got, raw) {
			t.Errorf("app.wasm.%s decodes to %d bytes (%v), want app.wasm's %d", name, len(got), err, len(raw))
		}
	}
	for _, tc := range []struct{ accept, encoding string }{
		{"gzip, deflate, br, zstd", "br"},
		{"gzip", "gzip"},
		{"br;q=0, gzip", "gzip"},
		{"", ""},
		{"identity", ""},
	} {
		req, _ := http.NewRequest("GET", m.URL()+"/web/app.wasm", nil)
		req.Header.Set("Accept-Encoding", tc.accept)
		resp, err := http.DefaultTransport.RoundTrip(req) // no transparent decompression
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		h := resp.Header
		if resp.StatusCode != 200 || h.Get("Content-Type") != "application/wasm" ||
			h.Get("Content-Encoding") != tc.encoding || h.Get("Vary") != "Accept-Encoding" {
			t.Errorf("Accept-Encoding %q: %d, headers %v", tc.accept, resp.StatusCode, h)
			continue
		}
		want := map[string][]byte{"br": a.wasm["br"], "gzip": a.wasm["gzip"], "": a.wasm[""]}[tc.encoding]
		if !bytes.Equal(body, want) {
			t.Errorf("Accept-Encoding %q: body of %d bytes is not the %q file (%d bytes)", tc.accept, len(body), tc.encoding, len(want))
		}
	}
	// The version is the build's: a hash of app.wasm, the same in every process.
	page, err := http.Get(m.URL() + "/")
	if err != nil {
		t.Fatal(err)
	}
	page.Body.Close()
	if etag := page.Header.Get("ETag"); etag != `"`+a.version()+`"` || a.version() == "no-wasm" {
		t.Errorf("ETag = %s, want the wasm hash %q", etag, a.version())
	}
}

func TestShutdownFinishesInFlightAndClosesTheDatabase(t *testing.T) {
	dir := t.TempDir()
	cfg := config.Default()
	cfg.Addr, cfg.DB = "127.0.0.1:0", filepath.Join(dir, "k.db")
	m := &Main{Config: cfg, Logger: slog.New(slog.DiscardHandler)}
	if err := m.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	// A post is in flight: headers and half its body are sent.
	body := `{"comment":"in flight during shutdown"}`
	conn, err := net.Dial("tcp", m.ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// "Expect: 100-continue" makes the server say when the handler starts
	// reading the body: from then on the request is surely in flight.
	fmt.Fprintf(conn, "POST /api/boards/lobby/topics HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: %d\r\nExpect: 100-continue\r\n\r\n", len(body))
	br := bufio.NewReader(conn)
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("waiting for 100 Continue: %v", err)
		}
		if line == "\r\n" {
			break
		}
	}
	fmt.Fprint(conn, body[:10])

	closed := make(chan error, 1)
	go func() { closed <- m.Close() }()
	// Shutdown closes the listener first: wait until new connections fail.
	for {
		c, err := net.Dial("tcp", m.ln.Addr().String())
		if err != nil {
			break
		}
		c.Close()
		runtime.Gosched()
	}
	// The in-flight request still completes.
	fmt.Fprint(conn, body[10:])
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	var created shared.CreatedTopic
	json.NewDecoder(resp.Body).Decode(&created)
	resp.Body.Close()
	if resp.StatusCode != 201 || created.Topic.ID == 0 {
		t.Fatalf("in-flight post during shutdown = %d %+v", resp.StatusCode, created)
	}
	if err := <-closed; err != nil {
		t.Fatalf("close: %v", err)
	}
	if _, err := http.Get(m.URL() + "/healthz"); err == nil {
		t.Fatal("server still answers after Close")
	}
	// The database was closed cleanly: a new process opens it and sees the post.
	m2 := &Main{Config: cfg, Logger: slog.New(slog.DiscardHandler)}
	if err := m2.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer m2.Close()
	snap, err := (&client.Client{Base: m2.URL()}).Snapshot(context.Background(), "lobby")
	if err != nil || len(snap.Topics) != 1 || snap.Topics[0].ID != created.Topic.ID {
		t.Fatalf("after restart: %+v, %v", snap, err)
	}
}

// TestShutdownEndsOpenStreams: open SSE streams must not hold shutdown
// until its timeout; the hub ends them and the clients see the stream end.
func TestShutdownEndsOpenStreams(t *testing.T) {
	cfg := config.Default()
	cfg.Addr, cfg.DB = "127.0.0.1:0", filepath.Join(t.TempDir(), "k.db")
	cfg.ShutdownTimeout = time.Minute // a hang would show as a test timeout, not a slow pass
	var logs strings.Builder
	var mu sync.Mutex
	m := &Main{Config: cfg, Logger: slog.New(slog.NewTextHandler(lockedWriter{&mu, &logs}, nil))}
	if err := m.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	var bodies []io.ReadCloser
	for range 3 {
		resp, err := http.Get(m.URL() + "/api/boards/lobby/events")
		if err != nil {
			t.Fatal(err)
		}
		bodies = append(bodies, resp.Body)
		if _, err := sse.NewDecoder(resp.Body, 1<<20).Next(); err != nil { // the reset
			t.Fatal(err)
		}
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	for _, b := range bodies {
		if _, err := io.Copy(io.Discard, b); err != nil {
			t.Errorf("stream did not end cleanly: %v", err)
		}
		b.Close()
	}
	mu.Lock()
	defer mu.Unlock()
	if strings.Contains(logs.String(), "did not finish in time") {
		t.Fatalf("shutdown waited for streams:\n%s", logs.String())
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// serverCounter reads one unlabelled series from the server's /metrics.
func serverCounter(t *testing.T, base, name string) int {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	mm := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + ` (\S+)$`).FindSubmatch(body)
	if mm == nil {
		t.Fatalf("no %s in /metrics", name)
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(string(mm[1])), 64)
	if err != nil {
		t.Fatalf("%s = %q: %v", name, mm[1], err)
	}
	return int(v)
}
