package main

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/kairan/kairan/api/config"
	"github.com/kairan/kairan/api/internal/uring"
	"github.com/kairan/kairan/app/client"
	"github.com/kairan/kairan/shared"
)

// TestIOURingSettingReachesTheStreams: --io-uring decides how the live
// streams are written. Off, no write goes in a batch; on (where the
// kernel allows io_uring), a fan-out to many streams does, and every
// stream still gets every change.
func TestIOURingSettingReachesTheStreams(t *testing.T) {
	for _, on := range []bool{false, true} {
		t.Run(fmt.Sprintf("io-uring=%v", on), func(t *testing.T) {
			if on {
				r, err := uring.Open(4)
				if err != nil {
					t.Skipf("io_uring is not available here, so kairan writes one by one: %v", err)
				}
				r.Close()
			}
			m := startServer(t, unlimited, func(c *config.Config) { c.IOURing = on })
			const streams, posts = 48, 5
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			lines := make(chan string, streams*(posts+1))
			for range streams {
				req, _ := http.NewRequestWithContext(ctx, "GET", m.URL()+"/api/boards/uring/events", nil)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				go func() { // each stream's change events, as "event: change" lines
					sc := bufio.NewScanner(resp.Body)
					for sc.Scan() {
						if sc.Text() == "event: change" {
							lines <- sc.Text()
						}
					}
				}()
			}
			waitStreams(t, m, streams)
			c := &client.Client{Base: m.URL()}
			for i := range posts {
				if _, err := c.Post(ctx, "uring", shared.CreateTopic{Author: "Ann", Comment: fmt.Sprint("post ", i)}, ""); err != nil {
					t.Fatal(err)
				}
			}
			for got := 0; got < streams*posts; got++ {
				select {
				case <-lines:
				case <-time.After(sessionWait):
					t.Fatalf("%d of %d changes arrived", got, streams*posts)
				}
			}
			batched := serverCounter(t, m.URL(), "kairan_stream_writes_batched_total")
			if !on && batched != 0 {
				t.Fatalf("%d writes batched with --io-uring=false", batched)
			}
			if on && batched == 0 {
				t.Fatalf("no write of %d batched with --io-uring=true", streams*posts)
			}
		})
	}
}
