package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/kairan/kairan/api/config"
	"github.com/kairan/kairan/api/internal/picturetest"
	"github.com/kairan/kairan/shared"
)

// TestNginxFromScalingDoc runs docs/SCALING.md's nginx configuration in
// front of a kairan started with the document's flags, and checks what
// the document promises. The steps run in order on one nginx.
func TestNginxFromScalingDoc(t *testing.T) {
	p := startBehindNginx(t, func(c *config.Config) { c.MaxStreamsPerClient = 2 })

	// First, while nginx has not yet learnt that the second replica is
	// down: requests that meet it go on to the live one.
	t.Run("a replica that is down costs no request", func(t *testing.T) {
		c := p.client(t, "127.0.0.9")
		for i := range 4 {
			resp, err := c.Get(p.origin + "/healthz")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("request %d: %s while one replica is down", i, resp.Status)
			}
		}
		if !strings.Contains(p.nginx.Log(), "Connection refused") {
			t.Fatal("nginx never tried the replica that is down; the check proves nothing")
		}
	})

	t.Run("the page's origin may write, other origins may not", func(t *testing.T) {
		c := p.client(t, "127.0.0.9")
		if got := postWithOrigin(t, c, p.origin, p.origin); got != http.StatusCreated {
			t.Fatalf("a post from the page's own origin %s through nginx: %d", p.origin, got)
		}
		for _, origin := range []string{"https://evil.example", "http://" + strings.TrimPrefix(p.origin, "https://"),
			"https://" + p.name, "null"} {
			if got := postWithOrigin(t, c, p.origin, origin); got != http.StatusForbidden {
				t.Errorf("a post from %s through nginx: %d, want 403", origin, got)
			}
		}
		if snap := p.snapshot(t, c); len(snap.Topics) != 1 {
			t.Fatalf("the board has %d topics, want the one from the own origin", len(snap.Topics))
		}
	})

	t.Run("HSTS over TLS, plain HTTP redirected", func(t *testing.T) {
		c := p.client(t, "127.0.0.9")
		resp, err := c.Get(p.origin + "/b/lobby")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if hsts := resp.Header.Get("Strict-Transport-Security"); !strings.HasPrefix(hsts, "max-age=") || resp.StatusCode != http.StatusOK {
			t.Fatalf("%s with Strict-Transport-Security %q", resp.Status, hsts)
		}
		resp, err = c.Get(p.plain + "/b/lobby")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusMovedPermanently || !strings.HasPrefix(loc, "https://"+p.name+"/b/lobby") {
			t.Fatalf("plain HTTP: %s to %q, want a redirect to https", resp.Status, loc)
		}
	})

	// Each real client has its own cap (2 here): the proxy's address is
	// not one client for the whole site.
	t.Run("streams are capped per real client", func(t *testing.T) {
		a, b := p.client(t, "127.0.0.2"), p.client(t, "127.0.0.3")
		p.stream(t, a, "lobby", http.StatusOK)
		p.stream(t, a, "night-shift", http.StatusOK)
		p.stream(t, a, "lobby", http.StatusServiceUnavailable) // its cap is 2
		p.stream(t, b, "lobby", http.StatusOK)                 // the cap is not shared
		p.stream(t, b, "lobby", http.StatusOK)
	})

	// 127.0.0.1 is the proxy's address and so trusted: a client there is
	// the case where a forwarded chain would let its own header through.
	t.Run("a client's own X-Forwarded-For is not believed", func(t *testing.T) {
		c := p.client(t, "127.0.0.1")
		p.stream(t, c, "lobby", http.StatusOK, "X-Forwarded-For", "198.51.100.1")
		p.stream(t, c, "lobby", http.StatusOK, "X-Forwarded-For", "198.51.100.2")
		resp, _ := p.stream(t, c, "lobby", http.StatusServiceUnavailable, "X-Forwarded-For", "198.51.100.3")
		var body shared.ErrorBody
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || body.Error.Code != shared.CodeUnavailable {
			t.Fatalf("the refusal: %+v, %v", body.Error, err)
		}
	})

	// nginx's default body limit is 1 MB; the document's images location
	// lets pictures through up to kairan's own limit, which answers past it.
	t.Run("pictures up to --max-image-bytes pass, larger get kairan's 413", func(t *testing.T) {
		c := p.client(t, "127.0.0.30")
		photo := picturetest.Photo(2400, 1800) // ~1.4 MB, over nginx's default 1 MiB
		big := append(bytes.Clone(photo), make([]byte, shared.MaxImageBytes+1-len(photo))...)
		for _, tc := range []struct {
			body   []byte
			status int
		}{{photo, http.StatusCreated}, {big, http.StatusRequestEntityTooLarge}} {
			req, _ := http.NewRequest(http.MethodPost, p.origin+"/api/boards/lobby/images", bytes.NewReader(tc.body))
			req.Header.Set("Content-Type", "image/jpeg")
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var body map[string]json.RawMessage
			err = json.NewDecoder(resp.Body).Decode(&body)
			resp.Body.Close()
			if resp.StatusCode != tc.status || err != nil {
				t.Fatalf("%d bytes through nginx: %s (%v), want %d with kairan's JSON", len(tc.body), resp.Status, err, tc.status)
			}
		}
	})

	// Last: a reload replaces the workers. The old one holds a stream,
	// and worker_shutdown_timeout ends it instead of letting it live on.
	t.Run("a reload does not keep old workers for their streams", func(t *testing.T) {
		c := p.client(t, "127.0.0.20")
		_, dec := p.stream(t, c, "lobby", http.StatusOK)
		ended := make(chan error, 1)
		go func() {
			for {
				if _, err := dec.Next(); err != nil {
					ended <- err
					return
				}
			}
		}()
		p.nginx.Reload(t)
		select {
		case <-ended:
		case <-time.After(60 * time.Second): // last-resort bound; the document's 1m becomes 1s here
			t.Fatal("the stream on the old worker is still open 60 s after the reload")
		}
		p.stream(t, c, "lobby", http.StatusOK) // the new workers serve
	})
}

// postWithOrigin sends a topic to base with an Origin and returns the status.
func postWithOrigin(t *testing.T, c *http.Client, base, origin string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, base+"/api/boards/proxied/topics", strings.NewReader(`{"comment":"through nginx"}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Origin", origin)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

func (p *behindNginx) snapshot(t *testing.T, c *http.Client) shared.Snapshot {
	t.Helper()
	resp, err := c.Get(p.origin + "/api/boards/proxied")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var snap shared.Snapshot
	if err := json.NewDecoder(resp.Body).Decode(&snap); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("snapshot through nginx: %s, %v", resp.Status, err)
	}
	return snap
}
