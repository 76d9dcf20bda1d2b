package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/kairan/kairan/api/config"
	bt "github.com/kairan/kairan/api/internal/browsertest"
	"github.com/kairan/kairan/app/client"
	"github.com/kairan/kairan/shared"
)

// The page in the browser around its board session: what the status says
// when the network goes, how many streams a tab holds, the keyboard.

const liveSSE = `document.getElementById("status")?.dataset.mode === "live" && document.getElementById("status")?.dataset.transport === "sse"`

// emulateOffline takes the tab's network away (navigator.onLine false,
// the "offline" event, every request failing) or gives it back.
func emulateOffline(t *testing.T, tab context.Context, offline bool) {
	t.Helper()
	if _, err := chromedp.Call(tab, network.Enable, network.EnableParams{}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(tab, network.OverrideNetworkState, network.OverrideNetworkStateParams{
		Offline: offline, DownloadThroughput: -1, UploadThroughput: -1}); err != nil {
		t.Fatal(err)
	}
	var conditions []*network.Conditions
	if offline {
		conditions = []*network.Conditions{{Offline: true, DownloadThroughput: -1, UploadThroughput: -1}}
	}
	if _, err := chromedp.Call(tab, network.EmulateNetworkConditionsByRule, network.EmulateNetworkConditionsByRuleParams{
		EmulateOfflineServiceWorker: new(offline), MatchedNetworkConditions: conditions}); err != nil {
		t.Fatal(err)
	}
}

// TestBrowserOfflineIsSaidAtOnceAndThePostGoesOnce: with the network
// gone (Chromium's offline emulation), the header says "you are offline"
// within a few seconds, not "live"; a post waits, counted in the header;
// when the network returns it is delivered exactly once.
func TestBrowserOfflineIsSaidAtOnceAndThePostGoesOnce(t *testing.T) {
	tab := bt.New(t)
	m := startServer(t)
	bt.Do(t, tab, 60*time.Second, "open the board", chromedp.EmulateViewport(360, 740), chromedp.Navigate(m.URL()+"/b/tunnel"))
	bt.Until(t, tab, 60*time.Second, "the live board", liveSSE)

	emulateOffline(t, tab, true)
	bt.Until(t, tab, 5*time.Second, "the offline state", `document.getElementById("status")?.textContent === "you are offline"`)
	const comment = "written in the tunnel"
	bt.Do(t, tab, 10*time.Second, "post while offline",
		chromedp.SendKeys(chromedp.ID("comment"), comment),
		chromedp.Click(chromedp.ID("post-button")))
	bt.Until(t, tab, 10*time.Second, "the post waiting, counted",
		`document.getElementById("status")?.textContent === "you are offline · 1 waiting to send" &&
		document.querySelector("#topics .topic.pending .badge")?.textContent === "waiting to send"`)
	screenshot(t, tab, "board-offline-waiting-phone.png")
	if n := countTopics(t, m.URL(), "tunnel", comment); n != 0 {
		t.Fatalf("sent while offline: %d", n)
	}

	emulateOffline(t, tab, false)
	defer func() {
		if t.Failed() {
			t.Log(bt.Within(t, tab, 5*time.Second, "the status", chromedp.Evaluate[string](
				`JSON.stringify({text: document.getElementById("status")?.textContent, mode: document.getElementById("status")?.dataset.mode, transport: document.getElementById("status")?.dataset.transport, online: navigator.onLine, pending: document.querySelectorAll("#topics .topic.pending").length})`)))
		}
	}()
	// Live again over either transport: on a loaded machine the stream
	// may not open within 5 s, and the engine then polls for a while.
	bt.Until(t, tab, 60*time.Second, "live again, the post delivered", `document.getElementById("status")?.dataset.mode === "live" &&
		document.querySelector("#topics .topic.pending") === null &&
		[...document.querySelectorAll("#topics .topic .comment")].filter(e => e.textContent === `+jsString(comment)+`).length === 1`)
	if n := countTopics(t, m.URL(), "tunnel", comment); n != 1 {
		t.Fatalf("the server has the post %d times", n)
	}
}

// TestBrowserOneStreamPerTab: a person hops through eight boards of 100
// full-length topics in one tab — by the board box and by full page
// loads, on a 4×-throttled CPU while the machine is busy — and the server
// ends up counting one open stream, the last board's. (A page that is
// left aborts its requests in its pagehide event; before that, a slow
// page could leave its stream open and on HTTP/1.1 the seventh board sat
// offline.)
func TestBrowserOneStreamPerTab(t *testing.T) {
	tab := bt.New(t)
	m := startServer(t, unlimited)
	api := &client.Client{Base: m.URL()}
	long := strings.Repeat("長い話です。", shared.MaxCommentChars/6+1) // cut to the limit below
	const boards = 8
	errs := make(chan error, boards)
	for b := range boards { // the boards fill side by side
		go func() {
			for i := range 100 {
				comment := string([]rune(fmt.Sprint(i, long))[:shared.MaxCommentChars])
				if _, err := api.Post(context.Background(), fmt.Sprint("hop-", b), shared.CreateTopic{Comment: comment}, ""); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range boards {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	// Busy: both cores spin while the tab hops, and the tab's CPU is slowed.
	stop := make(chan struct{})
	for range 2 {
		go func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
			}
		}()
	}
	defer close(stop)
	if _, err := chromedp.Call(tab, emulation.SetCPUThrottlingRate, emulation.SetCPUThrottlingRateParams{Rate: 4}); err != nil {
		t.Fatal(err)
	}
	bt.Do(t, tab, 120*time.Second, "open the first board", chromedp.Navigate(m.URL()+"/b/hop-0"))
	for b := 1; b < boards; b++ {
		name := fmt.Sprint("hop-", b)
		// Wait until the board before is on screen (its stream may still
		// be opening: leaving then is the case that leaked).
		bt.Until(t, tab, 120*time.Second, "the board before", `document.querySelector(".board-name")?.textContent === "`+fmt.Sprint("hop-", b-1)+`" && document.querySelector(".page[data-app]") !== null`)
		if b%2 == 1 {
			bt.Do(t, tab, 60*time.Second, "go to "+name+" by the board box",
				typeInto("#go-board", name), chromedp.Click(chromedp.CSS(".go-button")))
		} else {
			bt.Do(t, tab, 120*time.Second, "load "+name, chromedp.Navigate(m.URL()+"/b/"+name))
		}
	}
	last := fmt.Sprint("hop-", boards-1)
	bt.Until(t, tab, 120*time.Second, "the last board live",
		`document.querySelector(".board-name")?.textContent === "`+last+`" && `+liveSSE+` && document.querySelectorAll("#topics .topic").length === 100`)
	waitStreams(t, m, 1)
}

// TestBrowserKeyboardAndFocus: the keyboard never falls to the page body.
// Edit puts it in the edit field; Escape cancels and gives it back to the
// Edit button, as Save does; Delete moves it to the next topic.
// Ctrl+Enter posts from the text box, but not while an input method is
// composing.
func TestBrowserKeyboardAndFocus(t *testing.T) {
	tab := bt.New(t)
	m := startServer(t)
	bt.Do(t, tab, 60*time.Second, "open the board", chromedp.Navigate(m.URL()+"/b/keys"))
	bt.Until(t, tab, 60*time.Second, "the live board", liveSSE)
	active := `(document.activeElement?.id ?? "")`
	post := func(comment string) {
		t.Helper()
		bt.Do(t, tab, 10*time.Second, "type "+comment, chromedp.Focus(chromedp.ID("comment")), chromedp.SendKeys(chromedp.ID("comment"), comment))
		// During IME composition Enter picks a character: it never posts.
		bt.Do(t, tab, 5*time.Second, "Ctrl+Enter while composing", chromedp.Evaluate[chromedp.Void](
			`document.getElementById("comment").dispatchEvent(new KeyboardEvent("keydown", {key: "Enter", ctrlKey: true, isComposing: true, bubbles: true}))`))
		bt.Do(t, tab, 10*time.Second, "Ctrl+Enter", chromedp.KeyEvent(kb.Enter, chromedp.KeyModifiers(chromedp.ModifierCtrl)))
		bt.Until(t, tab, 10*time.Second, comment+" posted", `[...document.querySelectorAll("#topics .topic:not(.pending) .comment")].some(e => e.textContent === `+jsString(comment)+`)`)
	}
	post("first")
	if n := countTopics(t, m.URL(), "keys", "first"); n != 1 {
		t.Fatalf("the composing Enter posted too: %d topics", n)
	}
	post("second")
	ids := bt.Within(t, tab, 5*time.Second, "read the ids", chromedp.Evaluate[[]string](`[...document.querySelectorAll("#topics .topic")].map(e => e.id)`))
	if len(ids) != 2 {
		t.Fatalf("topics %v", bt.Within(t, tab, 5*time.Second, "read the topics", chromedp.Evaluate[[]string](
			`[...document.querySelectorAll("#topics .topic")].map(e => e.id + " " + e.className + " " + JSON.stringify(e.querySelector(".comment")?.textContent))`)))
	}
	newest, older := ids[0], ids[1]
	num := strings.TrimPrefix(newest, "topic-")

	bt.Do(t, tab, 10*time.Second, "Edit", chromedp.Click(chromedp.ID("edit-button-"+num)))
	bt.Until(t, tab, 10*time.Second, "focus in the edit field", active+` === "edit-`+num+`"`)
	bt.Do(t, tab, 10*time.Second, "Escape", chromedp.KeyEvent(kb.Escape))
	bt.Until(t, tab, 10*time.Second, "the edit cancelled, focus on Edit",
		`document.getElementById("edit-`+num+`") === null && `+active+` === "edit-button-`+num+`"`)

	bt.Do(t, tab, 10*time.Second, "Edit again, type, Ctrl+Enter",
		chromedp.Click(chromedp.ID("edit-button-"+num)),
		chromedp.WaitVisible(chromedp.ID("edit-"+num)),
		typeInto("#edit-"+num, "second, edited"),
		chromedp.KeyEvent(kb.Enter, chromedp.KeyModifiers(chromedp.ModifierCtrl)))
	bt.Until(t, tab, 10*time.Second, "saved, focus on Edit",
		`document.querySelector("#`+newest+` .comment")?.textContent === "second, edited" && `+active+` === "edit-button-`+num+`"`)

	bt.Do(t, tab, 10*time.Second, "Delete",
		chromedp.Evaluate[chromedp.Void](`window.confirm = () => true`),
		chromedp.Click(chromedp.CSS("#"+newest+" .delete-button")))
	defer func() {
		if t.Failed() {
			t.Log(bt.Within(t, tab, 5*time.Second, "where focus is", chromedp.Evaluate[string](`(document.activeElement?.outerHTML ?? "none").slice(0, 300) + " | " + [...document.querySelectorAll("#topics .topic")].map(e => e.id + ":" + e.className).join(",")`)))
		}
	}()
	bt.Until(t, tab, 10*time.Second, "focus on the next topic", active+` === "`+older+`"`)
	bt.Until(t, tab, 10*time.Second, "the topic gone", `document.getElementById("`+newest+`") === null`)
}

// TestBrowserABurstArrivesWhole: 600 changes arrive on the page's stream
// as fast as the server commits them, while the page's CPU is slowed 4×;
// the page ends with exactly the server's topics (the stream reads only
// as fast as the page applies, so nothing queues and nothing is dropped).
func TestBrowserABurstArrivesWhole(t *testing.T) {
	tab := bt.New(t)
	m := startServer(t, unlimited)
	bt.Do(t, tab, 60*time.Second, "open the board", chromedp.Navigate(m.URL()+"/b/burst"))
	bt.Until(t, tab, 60*time.Second, "the live board", liveSSE)
	if _, err := chromedp.Call(tab, emulation.SetCPUThrottlingRate, emulation.SetCPUThrottlingRateParams{Rate: 4}); err != nil {
		t.Fatal(err)
	}
	api := &client.Client{Base: m.URL()}
	const n = 600
	var deleted []string
	tokens := map[int64]string{}
	for i := range n {
		c, err := api.Post(context.Background(), "burst", shared.CreateTopic{Comment: fmt.Sprint("burst ", i)}, "")
		if err != nil {
			t.Fatal(err)
		}
		tokens[c.Topic.ID] = c.OwnerToken
		if i%10 == 0 && i > 0 { // deletes of older topics in the same burst
			if err := api.Delete(context.Background(), "burst", c.Topic.ID-5, tokens[c.Topic.ID-5]); err != nil {
				t.Fatal(err)
			}
			deleted = append(deleted, fmt.Sprint("burst ", i-5))
		}
	}
	want := n - len(deleted)
	bt.Until(t, tab, 120*time.Second, fmt.Sprint(want, " topics"),
		fmt.Sprintf(`document.querySelectorAll("#topics .topic").length === %d && document.querySelector("#topics .topic .comment")?.textContent === "burst %d"`, want, n-1))
	shown := bt.Within(t, tab, 10*time.Second, "read the topics", chromedp.Evaluate[[]string](
		`[...document.querySelectorAll("#topics .topic .comment")].map(e => e.textContent)`))
	seen := map[string]bool{}
	for _, c := range shown {
		if seen[c] {
			t.Fatalf("%q shown twice", c)
		}
		seen[c] = true
	}
	for _, d := range deleted {
		if seen[d] {
			t.Fatalf("deleted %q still shown", d)
		}
	}
	if len(seen) != want {
		t.Fatalf("%d distinct topics shown, want %d", len(seen), want)
	}
}

// TestBrowserARefusedPostGoesBackIntoTheForm: a post the server refuses
// for good shows as not posted with the server's reason; "Edit" puts its
// text back into the form, focused, to fix and send.
func TestBrowserARefusedPostGoesBackIntoTheForm(t *testing.T) {
	tab := bt.New(t)
	words := filepath.Join(t.TempDir(), "blocklist")
	if err := os.WriteFile(words, []byte("spam\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	m := startServer(t, func(c *config.Config) { c.BlocklistFile = words })
	bt.Do(t, tab, 60*time.Second, "open the board", chromedp.Navigate(m.URL()+"/b/refused"))
	bt.Until(t, tab, 60*time.Second, "the live board", liveSSE)
	bt.Do(t, tab, 10*time.Second, "post a blocked word",
		chromedp.SendKeys(chromedp.ID("comment"), "cheap spam here"), chromedp.Click(chromedp.ID("post-button")))
	defer func() {
		if t.Failed() {
			t.Log(bt.Within(t, tab, 5*time.Second, "the page", chromedp.Evaluate[string](`document.querySelector("main").outerHTML.slice(0, 3000)`)))
		}
	}()
	bt.Until(t, tab, 10*time.Second, "the refusal", `document.querySelector("#topics .topic.failed .why")?.textContent.length > 0`)
	bt.Do(t, tab, 10*time.Second, "Edit the refused post", chromedp.Click(chromedp.CSS("#topics .topic.failed .retry-edit")))
	bt.Until(t, tab, 10*time.Second, "the text back in the form, focused",
		`document.getElementById("comment").value === "cheap spam here" && document.activeElement?.id === "comment" && document.querySelector("#topics .topic.failed") === null`)
	bt.Do(t, tab, 10*time.Second, "fix and post",
		typeInto("#comment", "cheap ham here"), chromedp.Click(chromedp.ID("post-button")))
	bt.Until(t, tab, 10*time.Second, "the fixed post", `[...document.querySelectorAll("#topics .topic:not(.pending) .comment")].some(e => e.textContent === "cheap ham here")`)
	if n := countTopics(t, m.URL(), "refused", "cheap ham here"); n != 1 {
		t.Fatalf("the server has the fixed post %d times", n)
	}
}

// TestBrowserShowOlderTopicsReachesTheOldest: a board of 250 topics shows
// its newest 100; "Show older topics" reaches the oldest, then goes; a
// live delete of an older topic shows.
func TestBrowserShowOlderTopicsReachesTheOldest(t *testing.T) {
	tab := bt.New(t)
	m := startServer(t, unlimited)
	api := &client.Client{Base: m.URL()}
	var made []shared.CreatedTopic
	for i := range 250 {
		c, err := api.Post(context.Background(), "deep", shared.CreateTopic{Comment: fmt.Sprint("topic ", i)}, "")
		if err != nil {
			t.Fatal(err)
		}
		made = append(made, c)
	}
	bt.Do(t, tab, 60*time.Second, "open the board", chromedp.EmulateViewport(360, 740), chromedp.Navigate(m.URL()+"/b/deep"))
	count := `document.querySelectorAll("#topics .topic").length`
	bt.Until(t, tab, 60*time.Second, "the newest 100", liveSSE+` && `+count+` === 100 && document.getElementById("older") !== null`)
	for _, want := range []int{200, 250} {
		bt.Do(t, tab, 10*time.Second, "show older topics", chromedp.Click(chromedp.ID("older")))
		bt.Until(t, tab, 30*time.Second, fmt.Sprint(want, " topics"), fmt.Sprintf(`%s === %d`, count, want))
	}
	bt.Until(t, tab, 10*time.Second, "the oldest shown, no more offer",
		`document.querySelector("#topics .topic:last-child .comment")?.textContent === "topic 0" && document.getElementById("older") === null`)
	if err := api.Delete(context.Background(), "deep", made[7].Topic.ID, made[7].OwnerToken); err != nil {
		t.Fatal(err)
	}
	bt.Until(t, tab, 30*time.Second, "the older topic gone live",
		count+` === 249 && document.getElementById("topic-`+fmt.Sprint(made[7].Topic.ID)+`") === null`)
	screenshot(t, tab, "board-older-phone.png")
}

// TestBrowserTheAppTakesOverThePrerenderedBoard: a first visit shows the
// server's topics from the HTML; when app.wasm takes over there is no
// empty or loading state in between, the loader covers nothing, and the
// layout does not jump (CLS ≤ 0.05).
func TestBrowserTheAppTakesOverThePrerenderedBoard(t *testing.T) {
	tab := bt.New(t)
	m := startServer(t, unlimited)
	api := &client.Client{Base: m.URL()}
	for i := range 12 {
		if _, err := api.Post(context.Background(), "first-second", shared.CreateTopic{Author: "ann", Comment: fmt.Sprint("topic ", i)}, ""); err != nil {
			t.Fatal(err)
		}
	}
	// Watch the page from its first byte: any moment without the topics
	// after they were shown, any "Loading…" or empty notice, layout shifts.
	watch := `
		window.__k = {shown: false, lost: false, empty: false, cls: 0};
		new PerformanceObserver(l => { for (const e of l.getEntries()) if (!e.hadRecentInput) window.__k.cls += e.value; })
			.observe({type: "layout-shift", buffered: true});
		const check = () => {
			const n = document.querySelectorAll("#topics .topic").length;
			if (n === 12) window.__k.shown = true; else if (window.__k.shown) window.__k.lost = true;
			if (document.querySelector(".notice.empty") || [...document.querySelectorAll(".notice")].some(e => e.textContent === "Loading…")) window.__k.empty = true;
		};
		new MutationObserver(check).observe(document, {subtree: true, childList: true, characterData: true});
		document.addEventListener("DOMContentLoaded", () => {
			check();
			const l = document.getElementById("app-wasm-loader")?.getBoundingClientRect();
			window.__k.loaderArea = l ? (l.width * l.height) / (innerWidth * innerHeight) : 0;
		});`
	if _, err := chromedp.Call(tab, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: watch}); err != nil {
		t.Fatal(err)
	}
	bt.Do(t, tab, 60*time.Second, "open the board", chromedp.EmulateViewport(360, 740), chromedp.Navigate(m.URL()+"/b/first-second"))
	bt.Until(t, tab, 60*time.Second, "the app live", liveSSE+` && document.getElementById("app-wasm-loader") === null`)
	state := bt.Within(t, tab, 5*time.Second, "read the watch", chromedp.Evaluate[map[string]any](`window.__k`))
	if state["shown"] != true || state["lost"] != false || state["empty"] != false {
		t.Fatalf("while the app took over: %v (shown: the topics were there; lost: they went; empty: an empty or loading notice)", state)
	}
	if area, _ := state["loaderArea"].(float64); area > 0.05 {
		t.Fatalf("the loader covers %.0f%% of the screen", area*100)
	}
	if cls, _ := state["cls"].(float64); cls > 0.05 {
		t.Fatalf("cumulative layout shift %.3f, want ≤ 0.05", cls)
	}
}

// TestBrowserSmallThings: a draft survives a reload (per board); a board
// typed as "Night Shift" opens night-shift; an impossible name is said by
// the box.
func TestBrowserSmallThings(t *testing.T) {
	tab := bt.New(t)
	m := startServer(t)
	bt.Do(t, tab, 60*time.Second, "open the board", chromedp.Navigate(m.URL()+"/b/drafts"))
	bt.Until(t, tab, 60*time.Second, "the app", liveSSE)
	bt.Do(t, tab, 10*time.Second, "write a draft", chromedp.SendKeys(chromedp.ID("comment"), "half a thought"))
	bt.Do(t, tab, 60*time.Second, "reload", chromedp.Reload())
	bt.Until(t, tab, 60*time.Second, "the draft after the reload", liveSSE+` && document.getElementById("comment").value === "half a thought"`)

	bt.Do(t, tab, 10*time.Second, "an impossible board name", typeInto("#go-board", "no/way"), chromedp.Click(chromedp.CSS(".go-button")))
	bt.Until(t, tab, 10*time.Second, "the error by the box", `document.getElementById("go-error")?.textContent.length > 0 && location.pathname === "/b/drafts"`)
	bt.Do(t, tab, 10*time.Second, "a board as people type it", typeInto("#go-board", "Night Shift"), chromedp.Click(chromedp.CSS(".go-button")))
	bt.Until(t, tab, 30*time.Second, "night-shift", `location.pathname === "/b/night-shift" && document.querySelector(".board-name")?.textContent === "night-shift" && document.getElementById("go-error") === null`)
	bt.Until(t, tab, 30*time.Second, "no draft on another board", `document.getElementById("comment").value === ""`)
}

// TestBrowserJapaneseAndEnglish: a browser that prefers Japanese gets the
// page in Japanese from the first paint (html lang, labels, status, times);
// the switch turns it to English, which a reload and the server's HTML
// remember.
func TestBrowserJapaneseAndEnglish(t *testing.T) {
	tab := bt.New(t)
	m := startServer(t)
	if _, err := (&client.Client{Base: m.URL()}).Post(context.Background(), "kotoba", shared.CreateTopic{Author: "アイコ", Comment: "ゴミの日は火曜日です"}, ""); err != nil {
		t.Fatal(err)
	}
	ua := bt.Within(t, tab, 10*time.Second, "the user agent", chromedp.Evaluate[string](`navigator.userAgent`))
	if _, err := chromedp.Call(tab, emulation.SetUserAgentOverride, emulation.SetUserAgentOverrideParams{UserAgent: ua, AcceptLanguage: "ja-JP,ja,en;q=0.5"}); err != nil {
		t.Fatal(err)
	}
	bt.Do(t, tab, 60*time.Second, "open the board", chromedp.EmulateViewport(360, 740), chromedp.Navigate(m.URL()+"/b/kotoba"))
	bt.Until(t, tab, 60*time.Second, "the page in Japanese, live", `document.documentElement.lang === "ja" &&
		document.getElementById("status")?.textContent === "ライブ" &&
		document.getElementById("comment").placeholder === "トピックを書く…" &&
		document.querySelector("#topics .when")?.textContent === "たった今"`)
	screenshot(t, tab, "board-ja-phone.png")
	bt.Do(t, tab, 10*time.Second, "switch to English", chromedp.Click(chromedp.ID("lang")))
	bt.Until(t, tab, 10*time.Second, "the page in English", `document.documentElement.lang === "en" && document.getElementById("status")?.textContent === "live" && document.getElementById("lang").textContent === "日本語"`)
	bt.Do(t, tab, 60*time.Second, "reload", chromedp.Reload())
	bt.Until(t, tab, 60*time.Second, "English after the reload", `document.documentElement.lang === "en" && document.getElementById("comment").placeholder === "Write a topic…" && `+liveSSE)
	if html := bt.Within(t, tab, 10*time.Second, "the server's HTML with the cookie", chromedp.Evaluate[string](
		`fetch(location.href, {credentials: "same-origin"}).then(r => r.text())`, chromedp.EvalAwaitPromise)); !strings.Contains(html, `<html lang="en">`) {
		t.Error("the server's HTML does not follow the remembered choice")
	}
}
