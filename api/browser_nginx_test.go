package main

import (
	"context"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	bt "github.com/kairan/kairan/api/internal/browsertest"
	"github.com/kairan/kairan/app/client"
)

// TestBrowserBehindNginx: the real page, loaded over HTTPS and HTTP/2
// through docs/SCALING.md's nginx, goes live over SSE through the proxy
// and posts a topic. The page's origin is https://board.example.org:port;
// kairan itself speaks plain HTTP on loopback and learns the rest from the
// proxy.
func TestBrowserBehindNginx(t *testing.T) {
	p := startBehindNginx(t)
	ctx := p.browser(t)
	const slow = 60 * time.Second // a cold wasm start on a busy 2-core machine

	bt.Do(t, ctx, slow, "open the board through nginx", chromedp.Navigate(p.origin+"/b/proxied"))
	bt.Until(t, ctx, slow, "the board live over SSE", `document.getElementById("status")?.dataset.mode === "live" &&
		document.getElementById("status")?.dataset.transport === "sse"`)
	if proto := bt.Within(t, ctx, 5*time.Second, "read the protocol", chromedp.Evaluate[string](
		`location.protocol + " " + performance.getEntriesByType("navigation")[0].nextHopProtocol`)); proto != "https: h2" {
		t.Fatalf("the page came over %q, want https: h2 (nginx's TLS)", proto)
	}

	const comment = "posted through nginx"
	bt.Do(t, ctx, 10*time.Second, "post through the form",
		chromedp.SendKeys(chromedp.ID("comment"), comment),
		chromedp.Click(chromedp.ID("post-button")),
	)
	// Only a topic the server accepted has an id; a refused post stays as
	// a failed "op-…" item.
	bt.Until(t, ctx, 10*time.Second, "the topic, accepted", `document.querySelector("#topics li[id^=topic-] .comment")?.textContent === `+jsString(comment)+
		` || document.querySelector("#topics .topic.failed") !== null`)
	if refused := bt.Within(t, ctx, 5*time.Second, "look for a refusal", chromedp.Evaluate[string](
		`document.querySelector("#topics .topic.failed")?.textContent ?? ""`)); refused != "" {
		t.Fatalf("the post through nginx was refused: %s", refused)
	}
	snap, err := (&client.Client{Base: p.m.URL()}).Snapshot(context.Background(), "proxied")
	if err != nil || len(snap.Topics) != 1 || snap.Topics[0].Comment != comment {
		t.Fatalf("kairan has %+v, %v", snap, err)
	}
}

// TestBrowserEventSourceThroughRestart: a standard EventSource (not
// kairan's page, which retries by itself) through docs/SCALING.md's nginx
// keeps trying while the only replica restarts — nginx's 502 would close
// it for good; the document's @drop turns it into a network error — and
// is open again once kairan is back.
func TestBrowserEventSourceThroughRestart(t *testing.T) {
	p := startBehindNginx(t)
	ctx := p.browser(t)
	const slow = 60 * time.Second

	// Any page of the site will do; the stylesheet starts nothing else.
	bt.Do(t, ctx, slow, "open a page of the site", chromedp.Navigate(p.origin+"/web/app.css"))
	bt.Do(t, ctx, 5*time.Second, "open an EventSource", chromedp.Evaluate[chromedp.Void](`(() => {
		window.opens = 0; window.errors = [];
		window.es = new EventSource("/api/boards/restart/events");
		es.onopen = () => opens++;
		es.onerror = () => errors.push(es.readyState);
	})()`))
	bt.Until(t, ctx, slow, "the EventSource open", `opens === 1`)

	p.restart(t, func() {
		// The stream's end, then at least one reconnect that found no replica.
		bt.Until(t, ctx, slow, "a failed reconnect while kairan is down", `errors.length >= 2`)
		if states := bt.Within(t, ctx, 5*time.Second, "read the states", chromedp.Evaluate[[]int](`errors`)); states[len(states)-1] != 0 {
			t.Fatalf("EventSource states after errors %v: it gave up (2 = CLOSED) instead of retrying (0)", states)
		}
	})
	bt.Until(t, ctx, slow, "the EventSource open again", `opens === 2 && es.readyState === 1`)
}
