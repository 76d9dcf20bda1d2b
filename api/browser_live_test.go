package main

import (
	"context"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/kairan/kairan/api/config"
	bt "github.com/kairan/kairan/api/internal/browsertest"
	"github.com/kairan/kairan/app/client"
	"github.com/kairan/kairan/shared"
)

// TestBrowserTwoPeopleSeeEachOtherLive opens one board in two browser
// contexts (two people): a post in one shows in the other without a
// reload; then the server restarts on the same database and port, and both
// pages catch up with a post made after the restart.
func TestBrowserTwoPeopleSeeEachOtherLive(t *testing.T) {
	browser := bt.New(t)
	dbPath := t.TempDir() + "/live.db"
	first := startServer(t, func(c *config.Config) { c.DB = dbPath })
	addr, url := first.ln.Addr().String(), first.URL()+"/b/live-test"
	const slow = 60 * time.Second

	ann, bob := bt.NewContext(t, browser), bt.NewContext(t, browser)
	for _, tab := range []context.Context{ann, bob} {
		bt.Do(t, tab, slow, "open the board", chromedp.Navigate(url))
		bt.Until(t, tab, slow, "the live board", `document.querySelector(".notice.empty") !== null &&
			document.getElementById("status")?.dataset.mode === "live" && document.getElementById("status")?.dataset.transport === "sse"`)
	}

	bt.Do(t, ann, 10*time.Second, "post as Ann",
		chromedp.SendKeys(chromedp.ID("comment"), "hello from Ann"),
		chromedp.Click(chromedp.ID("post-button")))
	bt.Until(t, bob, 10*time.Second, "Ann's post on Bob's screen",
		`document.querySelector("#topics .topic .comment")?.textContent === "hello from Ann"`)
	if owned := bt.Within(t, bob, 5*time.Second, "Bob's actions", chromedp.Evaluate[bool](
		`document.querySelector("#topics .edit-button") !== null`)); owned {
		t.Error("Bob may edit Ann's topic")
	}

	// Restart: both pages notice that the board is no longer live, say
	// they are retrying, and catch up. "reconnecting" shows only during the
	// first short backoffs (full jitter: it may last a few milliseconds);
	// after two attempts that reach nothing the page says the server is out
	// of reach, and keeps saying so between attempts. Either is the page
	// telling the truth; waiting for "reconnecting" alone raced the jitter.
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	for _, tab := range []context.Context{ann, bob} {
		bt.Until(t, tab, 20*time.Second, "a retrying state",
			`(() => { const s = document.getElementById("status"); if (!s) return false;
				const text = s.textContent ?? "";
				return (s.dataset.mode === "reconnecting" && text.startsWith("reconnecting")) ||
					(s.dataset.mode === "unreachable" && text.startsWith("can't reach the server")) })()`)
	}
	second := startServer(t, func(c *config.Config) { c.DB, c.Addr = dbPath, addr })
	if _, err := (&client.Client{Base: second.URL()}).Post(context.Background(), "live-test",
		shared.CreateTopic{Author: "Cleo", Comment: "after the restart"}, ""); err != nil {
		t.Fatal(err)
	}
	for _, tab := range []context.Context{ann, bob} {
		// Live over either transport: on a loaded machine a stream that
		// does not open within 5 s sends the engine to long polling for a
		// while, which is the design, not a failure.
		bt.Until(t, tab, 60*time.Second, "both topics after the restart",
			`[...document.querySelectorAll("#topics .comment")].map(e => e.textContent).join("|") === "after the restart|hello from Ann" &&
			document.getElementById("status")?.dataset.mode === "live"`)
	}
}
