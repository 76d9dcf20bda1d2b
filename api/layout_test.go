package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	bt "github.com/kairan/kairan/api/internal/browsertest"
	"github.com/kairan/kairan/app/client"
	"github.com/kairan/kairan/shared"
)

// TestBrowserLayoutFitsPhoneAndDesktop loads a board with real content at
// 360×740 and 1280×800: nothing may overflow sideways (a long word wraps),
// and the post form stays usable. With KAIRAN_SCREENSHOTS set it also saves
// the README's pictures.
func TestBrowserLayoutFitsPhoneAndDesktop(t *testing.T) {
	ctx := bt.New(t)
	m := startServer(t)
	api := client.Client{Base: m.URL()}
	posts := []shared.CreateTopic{
		{Author: "Keiko", Comment: "Recycling moves to Thursdays from next month. Bins out by 8 am, please."},
		{Author: "Tom", Comment: "Lost: a grey cat with a red collar near the station. Answers to Mochi.\nCall 555-0123 if you see her."},
		{Author: "", Comment: "Averyveryveryveryveryveryveryveryveryveryverylongwordwithoutanyspacesthatmustwrapnicely"},
		{Author: "Aiko", Comment: "Street party on Saturday! Bring a chair and something to share."},
	}
	for _, p := range posts {
		if _, err := api.Post(context.Background(), "night-shift", p, ""); err != nil {
			t.Fatal(err)
		}
	}
	for _, size := range []struct {
		w, h int64
		name string
	}{{360, 740, "board-phone.png"}, {1280, 800, "board-desktop.png"}} {
		bt.Do(t, ctx, 60*time.Second, "open the board",
			chromedp.EmulateViewport(size.w, size.h), chromedp.Navigate(m.URL()+"/b/night-shift"))
		bt.Until(t, ctx, 60*time.Second, "four topics", `document.querySelectorAll("#topics .topic").length === 4 && `+liveSSE)
		overflow := bt.Within(t, ctx, 5*time.Second, "measure", chromedp.Evaluate[string](fmt.Sprintf(
			`document.documentElement.scrollWidth > %d ? "page is " + document.documentElement.scrollWidth + " px wide" : ""`, size.w)))
		if overflow != "" {
			t.Errorf("at %d px: %s", size.w, overflow)
		}
		button := bt.Within(t, ctx, 5*time.Second, "measure the post button", chromedp.Evaluate[string](
			`(() => { const r = document.getElementById("post-button").getBoundingClientRect();
			return r.right <= window.innerWidth && r.height >= 36 ? "" : "post button at " + r.right + " px, " + r.height + " px tall"; })()`))
		if button != "" {
			t.Errorf("at %d px: %s", size.w, button)
		}
		order := bt.Within(t, ctx, 5*time.Second, "read the order", chromedp.Evaluate[string](
			`[...document.querySelectorAll("#topics .author")].map(e => e.textContent).join(",")`))
		if order != "Aiko,anonymous,Tom,Keiko" {
			t.Errorf("topics shown as %q, want newest first", order)
		}
		if !strings.Contains(bt.Within(t, ctx, 5*time.Second, "read a time", chromedp.Evaluate[string](
			`document.querySelector("#topics .when").textContent`)), "just now") {
			t.Error("times are not shown relative to now")
		}
		screenshot(t, ctx, size.name)
	}
}
