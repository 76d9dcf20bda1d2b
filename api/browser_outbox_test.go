package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	bt "github.com/kairan/kairan/api/internal/browsertest"
	"github.com/kairan/kairan/app/client"
)

// countTopics asks the server how many topics of board carry comment.
func countTopics(t *testing.T, base, board, comment string) int {
	t.Helper()
	snap, err := (&client.Client{Base: base}).Snapshot(context.Background(), board)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, tp := range snap.Topics {
		if tp.Comment == comment {
			n++
		}
	}
	return n
}

// TestBrowserOfflinePostIsDeliveredOnce: a post made while the server is
// out of reach shows as pending, survives a reload, and is delivered when
// the server returns — exactly once, as a second person sees.
func TestBrowserOfflinePostIsDeliveredOnce(t *testing.T) {
	browser := bt.New(t)
	db := filepath.Join(t.TempDir(), "k.db")
	m := startRelease(t, db, "127.0.0.1:0", "outbox-v1")
	addr, board := m.ln.Addr().String(), m.URL()+"/b/basement"
	ann := bt.NewContext(t, browser)
	bt.Do(t, ann, 60*time.Second, "open the board", chromedp.EmulateViewport(360, 740), chromedp.Navigate(board))
	bt.Until(t, ann, 60*time.Second, "the live board", `document.getElementById("status")?.dataset.mode === "live" && document.getElementById("status")?.dataset.transport === "sse"`)
	swReady(t, ann, "kairan-outbox-v1")

	m.Close()
	bt.Until(t, ann, 30*time.Second, "the server out of reach", `(document.getElementById("status")?.textContent ?? "").startsWith("can't reach the server")`)
	const comment = "posted in the basement"
	bt.Do(t, ann, 10*time.Second, "post while offline",
		chromedp.SendKeys(chromedp.ID("comment"), comment),
		chromedp.Click(chromedp.ID("post-button")))
	pending := `document.querySelector("#topics .topic.pending .comment")?.textContent === ` + jsString(comment)
	bt.Until(t, ann, 10*time.Second, "the pending post", pending)
	bt.Do(t, ann, 30*time.Second, "reload while offline", chromedp.Reload())
	bt.Until(t, ann, 30*time.Second, "the pending post after the reload", pending)
	screenshot(t, ann, "board-offline-phone.png")

	m2 := startRelease(t, db, addr, "outbox-v1")
	bt.Until(t, ann, 60*time.Second, "the post delivered", `
		document.querySelector("#topics .topic.pending") === null &&
		[...document.querySelectorAll("#topics .topic .comment")].filter(e => e.textContent === `+jsString(comment)+`).length === 1 &&
		document.querySelector("#topics .edit-button") !== null`)

	bob := bt.NewContext(t, browser)
	bt.Do(t, bob, 60*time.Second, "open the board as Bob", chromedp.Navigate(board))
	bt.Until(t, bob, 60*time.Second, "the post on Bob's screen, once", `
		[...document.querySelectorAll("#topics .topic .comment")].filter(e => e.textContent === `+jsString(comment)+`).length === 1`)
	if n := countTopics(t, m2.URL(), "basement", comment); n != 1 {
		t.Fatalf("the server has the post %d times", n)
	}
}

// TestBrowserLostAnswerStillPostsOnce: a proxy lets the first POST reach
// the server but drops its answer, as a train tunnel would; the page
// retries with the same Idempotency-Key, and there is one topic.
func TestBrowserLostAnswerStillPostsOnce(t *testing.T) {
	tab := bt.New(t)
	m := startServer(t)
	target, _ := url.Parse(m.URL())
	proxy := httputil.NewSingleHostReverseProxy(target)
	var posts, dropped atomic.Int32
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/topics") {
			if posts.Add(1) == 1 {
				rec := httptest.NewRecorder()
				proxy.ServeHTTP(rec, r) // the server creates the topic...
				if rec.Code == http.StatusCreated {
					dropped.Add(1)
				}
				conn, _, err := http.NewResponseController(w).Hijack()
				if err == nil {
					conn.Close() // ...and the answer is lost on the way back
				}
				return
			}
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(func() { front.CloseClientConnections(); front.Close() }) // the page's stream is still open

	bt.Do(t, tab, 60*time.Second, "open the board through the proxy", chromedp.Navigate(front.URL+"/b/tunnel"))
	bt.Until(t, tab, 60*time.Second, "the live board", `document.getElementById("status")?.dataset.mode === "live" && document.getElementById("status")?.dataset.transport === "sse"`)
	const comment = "through the tunnel"
	bt.Do(t, tab, 10*time.Second, "post",
		chromedp.SendKeys(chromedp.ID("comment"), comment),
		chromedp.Click(chromedp.ID("post-button")))
	bt.Until(t, tab, 30*time.Second, "the post, once, owned", `
		document.querySelector("#topics .topic.pending") === null &&
		[...document.querySelectorAll("#topics .topic .comment")].filter(e => e.textContent === `+jsString(comment)+`).length === 1 &&
		document.querySelector("#topics .edit-button") !== null`)
	if dropped.Load() != 1 || posts.Load() < 2 {
		t.Fatalf("the proxy dropped %d answers and saw %d posts; want 1 dropped and a retry", dropped.Load(), posts.Load())
	}
	if n := countTopics(t, m.URL(), "tunnel", comment); n != 1 {
		t.Fatalf("the server has the post %d times", n)
	}
}
