package main

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	bt "github.com/kairan/kairan/api/internal/browsertest"
	"github.com/kairan/kairan/app/client"
	"github.com/kairan/kairan/shared"
)

// TestBrowserSevenTabsShareOneConnection: over plain HTTP/1.1 a browser
// opens at most six connections per host, so seven tabs each holding an
// event stream would hang. The tabs of a board elect one leader that holds
// the stream; all seven stay live, a post from a follower tab goes out
// once, and when the leader tab closes another takes over.
func TestBrowserSevenTabsShareOneConnection(t *testing.T) {
	browser := bt.New(t)
	m := startServer(t)
	board := m.URL() + "/b/seven"
	var tabs []context.Context
	var closers []context.CancelFunc
	for i := range 7 {
		tab, cancel := bt.NewTab(t, browser)
		bt.Do(t, tab, 60*time.Second, fmt.Sprint("open tab ", i), chromedp.Navigate(board))
		tabs, closers = append(tabs, tab), append(closers, cancel)
	}
	for i, tab := range tabs {
		bt.Until(t, tab, 60*time.Second, fmt.Sprint("tab ", i, " live"), `document.getElementById("status")?.dataset.mode === "live" && document.getElementById("status")?.dataset.transport === "sse"`)
	}
	leaders := func() []int {
		var ls []int
		for i, tab := range tabs {
			if tab == nil {
				continue
			}
			if bt.Within(t, tab, 5*time.Second, "ask for the role", chromedp.Evaluate[string](
				`document.getElementById("status")?.dataset.tab ?? ""`)) == "leader" {
				ls = append(ls, i)
			}
		}
		return ls
	}
	if ls := leaders(); len(ls) != 1 {
		t.Fatalf("leaders = %v, want exactly one", ls)
	}

	everyTab := func(what, comment string, want int) {
		t.Helper()
		for i, tab := range tabs {
			if tab != nil {
				bt.Until(t, tab, 30*time.Second, fmt.Sprint(what, " in tab ", i), fmt.Sprintf(
					`[...document.querySelectorAll("#topics .topic:not(.pending) .comment")].filter(e => e.textContent === %s).length === %d`,
					jsString(comment), want))
			}
		}
	}
	api := client.Client{Base: m.URL()}
	if _, err := api.Post(context.Background(), "seven", shared.CreateTopic{Comment: "to all seven"}, ""); err != nil {
		t.Fatal(err)
	}
	everyTab("a post from outside", "to all seven", 1)

	// A post from a follower tab travels through the leader, once.
	follower := (leaders()[0] + 1) % 7
	bt.Do(t, tabs[follower], 10*time.Second, "post from a follower tab",
		chromedp.SendKeys(chromedp.ID("comment"), "from a follower"),
		chromedp.Click(chromedp.ID("post-button")))
	everyTab("the follower's post", "from a follower", 1)
	if n := countTopics(t, m.URL(), "seven", "from a follower"); n != 1 {
		t.Fatalf("the server has the follower's post %d times", n)
	}

	// The leader tab closes: another takes over and the rest stay live.
	old := leaders()[0]
	closers[old]()
	tabs[old] = nil
	deadline := time.Now().Add(30 * time.Second)
	for {
		ls := leaders()
		if len(ls) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the leader closed, leaders = %v", ls)
		}
		// Let the browser hand the lock over before asking the tabs again.
		bt.Until(t, tabs[(old+1)%7], 5*time.Second, "a moment", `new Promise(r => setTimeout(() => r(true), 100))`)
	}
	if _, err := api.Post(context.Background(), "seven", shared.CreateTopic{Comment: "after the handover"}, ""); err != nil {
		t.Fatal(err)
	}
	everyTab("a post after the handover", "after the handover", 1)
}
