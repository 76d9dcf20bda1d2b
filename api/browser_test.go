package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	bt "github.com/kairan/kairan/api/internal/browsertest"
	"github.com/kairan/kairan/app/client"
)

// TestBrowserPostEditDelete drives the real page in headless Chromium:
// the wasm loads, a post through the form appears in the list (as text,
// even when it looks like HTML), survives a reload with its author name
// remembered, and can be edited and deleted by its owner.
func TestBrowserPostEditDelete(t *testing.T) {
	ctx := bt.New(t)
	m := startServer(t)
	const slow = 60 * time.Second // a cold wasm start on a busy 2-core machine

	bt.Do(t, ctx, slow, "open the board", chromedp.EmulateViewport(360, 740), chromedp.Navigate(m.URL()+"/b/browser-test"))
	bt.Until(t, ctx, slow, "the wasm app to show the empty board",
		`!document.getElementById("app-wasm-loader") && document.querySelector(".notice.empty") !== null`)

	const comment = `<script>window.pwned = 1</script><b>bold?</b> hello`
	bt.Do(t, ctx, 10*time.Second, "post through the form",
		chromedp.SendKeys(chromedp.ID("author"), "Ann"),
		chromedp.SendKeys(chromedp.ID("comment"), comment),
		chromedp.Click(chromedp.ID("post-button")),
	)
	bt.Until(t, ctx, 10*time.Second, "the topic in the list",
		`document.querySelector("#topics .topic:not(.pending) .comment")?.textContent === `+jsString(comment))
	if got := bt.Within(t, ctx, 5*time.Second, "read the author",
		chromedp.Evaluate[string](`document.querySelector("#topics .topic .author").textContent`)); got != "Ann" {
		t.Errorf("author shown = %q", got)
	}
	if pwned := bt.Within(t, ctx, 5*time.Second, "check for injected script",
		chromedp.Evaluate[bool](`window.pwned === 1 || document.querySelector("#topics b") !== null`)); pwned {
		t.Fatal("the comment was rendered as HTML")
	}
	// The topic can arrive over the live stream before the POST's own
	// answer, which is what clears the form: wait for that.
	bt.Until(t, ctx, 10*time.Second, "the form to clear after posting", `document.getElementById("comment").value === ""`)
	snap, err := (&client.Client{Base: m.URL()}).Snapshot(context.Background(), "browser-test")
	if err != nil || len(snap.Topics) != 1 || snap.Topics[0].Comment != comment || snap.Topics[0].Author != "Ann" {
		t.Fatalf("the server has %+v, %v", snap, err)
	}
	screenshot(t, ctx, "board-phone.png")

	// After a reload: the topic is listed, the name is remembered, and the
	// owner token (local storage) still offers edit and delete.
	bt.Do(t, ctx, slow, "reload", chromedp.Reload())
	bt.Until(t, ctx, slow, "the topic after reload", `document.querySelector("#topics .topic .edit-button") !== null`)
	if name := bt.Within(t, ctx, 5*time.Second, "read the name field",
		chromedp.Evaluate[string](`document.getElementById("author").value`)); name != "Ann" {
		t.Errorf("author field after reload = %q, want Ann", name)
	}

	bt.Do(t, ctx, 10*time.Second, "edit the topic",
		chromedp.Click(chromedp.CSS("#topics .edit-button")),
		chromedp.WaitVisible(chromedp.CSS("#topics .edit-text")),
		typeInto("#topics .edit-text", "edited text"),
		chromedp.Click(chromedp.CSS("#topics .edit button[type=submit]")),
	)
	bt.Until(t, ctx, 10*time.Second, "the edited topic",
		`document.querySelector("#topics .topic .comment")?.textContent === "edited text" && document.querySelector("#topics .edited") !== null`)

	// An error from the API is shown to the person: a comment that is too
	// long is refused before it is sent, with the server's own rule.
	bt.Do(t, ctx, 10*time.Second, "post an over-long comment",
		typeInto("#comment", strings.Repeat("x", 2001)),
		chromedp.Click(chromedp.ID("post-button")),
	)
	bt.Until(t, ctx, 10*time.Second, "the length error", `document.getElementById("error")?.textContent.includes("at most 2000")`)

	bt.Do(t, ctx, 10*time.Second, "delete the topic",
		chromedp.Evaluate[chromedp.Void](`window.confirm = () => true`),
		chromedp.Click(chromedp.CSS("#topics .delete-button")),
	)
	bt.Until(t, ctx, 10*time.Second, "the empty board", `document.querySelector(".notice.empty") !== null`)
	snap, err = (&client.Client{Base: m.URL()}).Snapshot(context.Background(), "browser-test")
	if err != nil || len(snap.Topics) != 0 {
		t.Fatalf("after delete the server has %+v, %v", snap, err)
	}
}

// screenshot saves a PNG into $KAIRAN_SCREENSHOTS when set (the README's
// pictures come from here).
func screenshot(t *testing.T, ctx context.Context, name string) {
	dir := os.Getenv("KAIRAN_SCREENSHOTS")
	if dir == "" {
		return
	}
	png := bt.Within(t, ctx, 10*time.Second, "screenshot", chromedp.CaptureScreenshot())
	if err := os.WriteFile(filepath.Join(dir, name), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// typeInto replaces a field's text the way typing does: the value, then an
// input event for go-app's handler.
func typeInto(selector, text string) chromedp.Action[chromedp.Void] {
	return chromedp.Evaluate[chromedp.Void](`(() => { const el = document.querySelector(` + jsString(selector) + `);
		el.value = ` + jsString(text) + `; el.dispatchEvent(new Event("input", {bubbles: true})); })()`)
}

func jsString(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	return `"` + r.Replace(s) + `"`
}
