package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	bt "github.com/kairan/kairan/api/internal/browsertest"
	"github.com/kairan/kairan/app/client"
	"github.com/kairan/kairan/shared"
)

// TestBrowserHostileTextUnderCSP: the real page runs under kairan's
// Content-Security-Policy without a single violation (the wasm compiles,
// the styles and icons load, the stream opens), topics whose text is HTML
// and script render as text and run nothing, and the policy really is
// enforced: an inline script injected into the page is refused.
func TestBrowserHostileTextUnderCSP(t *testing.T) {
	ctx := bt.New(t)
	m := startServer(t)
	const slow = 60 * time.Second

	bt.Do(t, ctx, slow, "start the browser")
	if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{
		Source: `window.__csp = []; document.addEventListener("securitypolicyviolation",
			e => window.__csp.push(e.effectiveDirective + " " + (e.blockedURI || "inline")), true);`,
	}); err != nil {
		t.Fatal(err)
	}

	hostile := []shared.CreateTopic{
		{Author: `<b>bold</b>`, Comment: `<script>window.pwned = "script"</script>`},
		{Author: "Eve", Comment: `<img src=x onerror="window.pwned = 'img'">`},
		{Author: "Eve", Comment: `<svg onload="window.pwned = 'svg'"></svg><a href="javascript:window.pwned='a'">click</a>`},
		{Author: "Eve", Comment: "<iframe srcdoc=\"<script>parent.pwned='iframe'</script>\"></iframe>\n&lt;not an entity&gt; {{.}} ${x}"},
	}
	c := &client.Client{Base: m.URL()}
	for _, in := range hostile {
		if _, err := c.Post(context.Background(), "hostile", in, ""); err != nil {
			t.Fatalf("post %q: %v", in.Comment, err)
		}
	}

	bt.Do(t, ctx, slow, "open the board", chromedp.Navigate(m.URL()+"/b/hostile"))
	bt.Until(t, ctx, slow, "the four topics live", `document.querySelectorAll("#topics .topic:not(.pending)").length === 4 &&
		document.getElementById("status")?.dataset.mode === "live" && document.getElementById("status")?.dataset.transport === "sse"`)
	shown := bt.Within(t, ctx, 5*time.Second, "read the topics", chromedp.Evaluate[[]string](
		`[...document.querySelectorAll("#topics .topic")].map(t => t.querySelector(".author").textContent + "|" + t.querySelector(".comment").textContent)`))
	for i, in := range hostile {
		want := in.Author + "|" + in.Comment
		if got := shown[len(shown)-1-i]; got != want { // newest first
			t.Errorf("topic %d shows %q, want the text %q", i, got, want)
		}
	}
	if n := bt.Within(t, ctx, 5*time.Second, "look for injected elements", chromedp.Evaluate[int](
		`document.querySelectorAll("#topics script, #topics img, #topics svg, #topics iframe, #topics a[href^=javascript], #topics b").length`)); n != 0 {
		t.Fatalf("%d elements from topic text made it into the page", n)
	}
	if pwned := bt.Within(t, ctx, 5*time.Second, "check what ran", chromedp.Evaluate[string](`String(window.pwned)`)); pwned != "undefined" {
		t.Fatalf("topic text ran as code: window.pwned = %s", pwned)
	}
	if v := bt.Within(t, ctx, 5*time.Second, "read CSP violations", chromedp.Evaluate[[]string](`window.__csp`)); len(v) != 0 {
		t.Fatalf("the page itself violates its CSP: %q", v)
	}

	// The policy is enforced: an inline script is refused, and reported.
	bt.Do(t, ctx, 5*time.Second, "inject an inline script", chromedp.Evaluate[chromedp.Void](
		`(() => { const s = document.createElement("script"); s.textContent = "window.inlineRan = true"; document.body.appendChild(s); })()`))
	bt.Until(t, ctx, 5*time.Second, "the violation report", `window.__csp.length > 0`)
	if ran := bt.Within(t, ctx, 5*time.Second, "check the inline script", chromedp.Evaluate[bool](`window.inlineRan === true`)); ran {
		t.Fatal("an inline script ran: the CSP is not enforced")
	}
	if v := bt.Within(t, ctx, 5*time.Second, "read CSP violations", chromedp.Evaluate[[]string](`window.__csp`)); !strings.HasPrefix(v[0], "script-src") {
		t.Fatalf("violations %q, want the injected script's", v)
	}
}

// TestBrowserNamesAreIsolated: a right-to-left name cannot reorder what
// follows it (names are <bdi>, unicode-bidi: isolate), an emoji sequence
// with zero-width joiners is kept whole, and a name with a direction
// override is refused in the form with the server's own rule, before
// anything is queued.
func TestBrowserNamesAreIsolated(t *testing.T) {
	ctx := bt.New(t)
	m := startServer(t)
	const slow = 60 * time.Second
	c := &client.Client{Base: m.URL()}
	for _, in := range []shared.CreateTopic{
		{Author: "ليلى", Comment: "مرحبا! a reply in Arabic, then English"},
		{Author: "👩‍💻 Aiko", Comment: "コードを書いています 🧑🏽‍🚒"},
		{Author: "Tom", Comment: "plain"},
	} {
		if _, err := c.Post(context.Background(), "names", in, ""); err != nil {
			t.Fatalf("post by %q: %v", in.Author, err)
		}
	}
	bt.Do(t, ctx, slow, "open the board", chromedp.EmulateViewport(360, 740), chromedp.Navigate(m.URL()+"/b/names"))
	// The prerendered page already lists the topics; the app replaces it.
	bt.Until(t, ctx, slow, "the app with the three topics", `document.querySelector(".page[data-app]") !== null &&
		document.querySelectorAll("#topics .topic:not(.pending)").length === 3`)
	got := bt.Within(t, ctx, 5*time.Second, "read the names", chromedp.Evaluate[string](
		`[...document.querySelectorAll("#topics .author")].map(e => e.tagName + ":" + getComputedStyle(e).unicodeBidi + ":" + e.textContent).join("|")`))
	if want := "BDI:isolate:Tom|BDI:isolate:👩‍💻 Aiko|BDI:isolate:ليلى"; got != want {
		t.Fatalf("names shown as %q, want %q", got, want)
	}
	screenshot(t, ctx, "board-names-phone.png")

	bt.Do(t, ctx, 10*time.Second, "post as a spoofed name",
		typeInto("#author", "admin\u202Etxt.exe"),
		typeInto("#comment", "hello"),
		chromedp.Click(chromedp.ID("post-button")),
	)
	bt.Until(t, ctx, 10*time.Second, "the refusal", `document.getElementById("error")?.textContent.includes("U+202E")`)
	if n := bt.Within(t, ctx, 5*time.Second, "count pending", chromedp.Evaluate[int](
		`document.querySelectorAll("#topics .topic.pending").length`)); n != 0 {
		t.Fatalf("%d posts queued with a refused name", n)
	}
}
