package main

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/kairan/kairan/api/config"
	"github.com/kairan/kairan/app/client"
	"github.com/kairan/kairan/shared"
	"github.com/kairan/kairan/shared/sse"
)

// trickle opens a connection, sends head at once, then one byte of rest
// every 50 ms, like a slow-loris client. The returned channel yields how the
// connection ended (the server closing it, or an answer) once it does.
func trickle(t *testing.T, addr, head, rest string) <-chan string {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	ended := make(chan string, 1)
	stop := make(chan struct{})
	go func() { // the writer: stops when the reader saw the end
		if _, err := io.WriteString(conn, head); err != nil {
			return
		}
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for i := 0; ; i = (i + 1) % len(rest) {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			if _, err := conn.Write([]byte{rest[i]}); err != nil {
				return
			}
		}
	}()
	go func() {
		defer close(stop)
		line, err := bufio.NewReader(conn).ReadString('\n')
		switch {
		case line != "":
			ended <- "answered " + strings.TrimSpace(line)
		case errors.Is(err, io.EOF), errors.Is(err, syscall.ECONNRESET):
			// A close with the client's bytes unread goes out as a reset.
			ended <- "closed"
		default:
			ended <- "error " + err.Error()
		}
	}()
	return ended
}

// TestSlowClientsAreCutOff: clients that trickle their headers or their
// body are disconnected once the read timeout passes, while others post,
// read and follow a live stream undisturbed — the stream lives on well past
// the read timeout, which applies to requests, not to streams.
func TestSlowClientsAreCutOff(t *testing.T) {
	m := startServer(t, func(c *config.Config) {
		c.ReadTimeout = time.Second
		c.RateLimit = 0
	})
	addr := strings.TrimPrefix(m.URL(), "http://")
	c := &client.Client{Base: m.URL()}

	// A subscriber that is there before the attack and must outlive it.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", m.URL()+"/api/boards/calm/events", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	events := sse.NewDecoder(resp.Body, 1<<20)
	if ev, err := events.Next(); err != nil || ev.Type != "reset" {
		t.Fatalf("first event %+v, %v; want a reset", ev, err)
	}

	var slow []<-chan string
	for range 20 {
		slow = append(slow, trickle(t, addr, "GET /healthz HTTP/1.1\r\nHost: localhost\r\n", "X-Slow: aaaaaaaaaaaaaaaaaaaaaaaa\r\n"))
		slow = append(slow, trickle(t, addr, "POST /api/boards/calm/topics HTTP/1.1\r\nHost: localhost\r\n"+
			"Content-Type: application/json\r\nContent-Length: 4000\r\n\r\n", `{"comment":"`))
	}

	// While they trickle, everyone else is served.
	var wg sync.WaitGroup
	for i := range 10 {
		wg.Go(func() {
			if _, err := c.Post(context.Background(), "calm", shared.CreateTopic{Comment: "during the attack"}, ""); err != nil {
				t.Errorf("post %d during the attack: %v", i, err)
			}
		})
	}
	wg.Wait()
	for range 10 {
		if ev, err := events.Next(); err != nil || ev.Type != "change" {
			t.Fatalf("the stream gave %+v, %v during the attack", ev, err)
		}
	}

	deadline := time.After(30 * time.Second) // a test bound, far above the 1 s timeout
	for i, ended := range slow {
		select {
		case how := <-ended:
			// Headers never finished: closed (or 408). A body that never
			// finished: 400 from the handler, or closed.
			if how != "closed" && !strings.HasPrefix(how, "answered HTTP/1.1 4") {
				t.Errorf("slow client %d ended with %q", i, how)
			}
		case <-deadline:
			t.Fatalf("slow client %d still connected after 30 s with a 1 s read timeout", i)
		}
	}

	// The stream opened before the attack is still live, past the timeout.
	if _, err := c.Post(context.Background(), "calm", shared.CreateTopic{Comment: "after the attack"}, ""); err != nil {
		t.Fatal(err)
	}
	ev, err := events.Next()
	if err != nil || ev.Type != "change" || !strings.Contains(string(ev.Data), "after the attack") {
		t.Fatalf("after the attack the stream gave %+v, %v", ev, err)
	}
	snap, err := c.Snapshot(context.Background(), "calm")
	if err != nil || len(snap.Topics) != 11 {
		t.Fatalf("board holds %d topics (%v), want the 11 real posts and nothing from slow clients", len(snap.Topics), err)
	}
}
