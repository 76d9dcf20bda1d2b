package main

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/kairan/kairan/api/config"
	bt "github.com/kairan/kairan/api/internal/browsertest"
	"github.com/kairan/kairan/app/client"
	"github.com/kairan/kairan/shared"
)

// startRelease runs the server as a given release (version) on a given
// database and address ("127.0.0.1:0" for any port).
func startRelease(t *testing.T, db, addr, version string) *Main {
	t.Helper()
	cfg := config.Default()
	cfg.DB, cfg.Addr = db, addr
	m := &Main{Config: cfg, Logger: slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn})), version: version}
	if err := m.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// swReady waits until the service worker controls the page and has cached
// the shell and the wasm (go-app's page only registers it; caching ends
// after activation).
func swReady(t *testing.T, tab context.Context, cache string) {
	t.Helper()
	bt.Until(t, tab, 60*time.Second, "the service worker and its cache "+cache, `(() => {
		caches.open(`+jsString(cache)+`).then(c => Promise.all([c.match("/web/app.wasm"), c.match("/"), c.match("/web/icons/icon.svg")]))
			.then(r => { window.__kairanCached = r.every(Boolean); });
		return navigator.serviceWorker.controller !== null && window.__kairanCached === true;
	})()`)
}

// TestBrowserOfflineReloadShowsTheLastBoard: with the server gone, a
// reload of /b/<board> still opens (the worker serves the shell), shows the
// topics last seen, and says it is offline and since when it was live.
func TestBrowserOfflineReloadShowsTheLastBoard(t *testing.T) {
	tab := bt.New(t)
	db := filepath.Join(t.TempDir(), "k.db")
	m := startRelease(t, db, "127.0.0.1:0", "offline-v1")
	api := client.Client{Base: m.URL()}
	for _, c := range []string{"first topic", "second topic"} {
		if _, err := api.Post(context.Background(), "train", shared.CreateTopic{Comment: c}, ""); err != nil {
			t.Fatal(err)
		}
	}
	bt.Do(t, tab, 60*time.Second, "open the board", chromedp.Navigate(m.URL()+"/b/train"))
	bt.Until(t, tab, 60*time.Second, "the live board", `document.querySelectorAll("#topics .topic").length === 2 &&
		document.getElementById("status")?.dataset.mode === "live" && document.getElementById("status")?.dataset.transport === "sse"`)
	swReady(t, tab, "kairan-offline-v1")

	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	bt.Do(t, tab, 30*time.Second, "reload without a server", chromedp.Reload())
	bt.Until(t, tab, 30*time.Second, "the cached board, marked offline", `
		[...document.querySelectorAll("#topics .comment")].map(e => e.textContent).join("|") === "second topic|first topic" &&
		document.getElementById("status")?.dataset.mode === "unreachable" &&
		(document.getElementById("status")?.title ?? "").startsWith("Last live")`)
	if title := bt.Within(t, tab, 5*time.Second, "read the board name", chromedp.Evaluate[string](
		`document.querySelector(".board-name").textContent`)); title != "train" {
		t.Errorf("offline page shows board %q, want train", title)
	}
}

// TestBrowserNewVersionActivatesWhileStreaming: a new release must take
// over although the page holds an open event stream (go-app's default
// worker would proxy the stream and keep the new version waiting for
// ever); the page offers a reload, and the reload runs the new version.
func TestBrowserNewVersionActivatesWhileStreaming(t *testing.T) {
	tab := bt.New(t)
	db := filepath.Join(t.TempDir(), "k.db")
	v1 := startRelease(t, db, "127.0.0.1:0", "release-1")
	addr := v1.ln.Addr().String()
	bt.Do(t, tab, 60*time.Second, "open the board", chromedp.Navigate(v1.URL()+"/b/updates"))
	bt.Until(t, tab, 60*time.Second, "the live board", `document.getElementById("status")?.dataset.mode === "live" && document.getElementById("status")?.dataset.transport === "sse"`)
	swReady(t, tab, "kairan-release-1")
	if updating := bt.Within(t, tab, 5*time.Second, "look for an update offer", chromedp.Evaluate[bool](
		`document.getElementById("update") !== null`)); updating {
		t.Fatal("the first install was offered as an update")
	}

	v1.Close()
	startRelease(t, db, addr, "release-2")
	// Live again, over either transport (see browser_live_test.go); the
	// update check below wants the stream, so it waits for SSE as well.
	bt.Until(t, tab, 60*time.Second, "the page to be live on the new server", `document.getElementById("status")?.dataset.mode === "live"`)
	bt.Do(t, tab, 5*time.Second, "check for an update", chromedp.Evaluate[chromedp.Void](`goappTryUpdate()`))
	bt.Until(t, tab, 90*time.Second, "the update offer while the stream is open", `document.getElementById("update") !== null &&
		document.getElementById("status")?.dataset.mode === "live" && document.getElementById("status")?.dataset.transport === "sse"`)

	bt.Within(t, tab, 30*time.Second, "reload to update",
		chromedp.WaitEvent(page.LoadEventFired, nil, chromedp.Click(chromedp.ID("reload"))))
	bt.Until(t, tab, 60*time.Second, "the new version running", `document.getElementById("status")?.dataset.mode === "live" && document.getElementById("status")?.dataset.transport === "sse" &&
		document.getElementById("update") === null`)
	swReady(t, tab, "kairan-release-2")
	keys := bt.Within(t, tab, 10*time.Second, "list caches", chromedp.Evaluate[[]string](`caches.keys()`, chromedp.EvalAwaitPromise))
	if len(keys) != 1 || keys[0] != "kairan-release-2" {
		t.Errorf("caches after the update = %v, want only kairan-release-2", keys)
	}
}

// TestBrowserOfflineVisitPaintsTheBoardFromItsHTML: the worker keeps each
// visited board's page (stale-while-revalidate), so with the server gone a
// visit to a board paints that board — its name and topics in the HTML,
// before app.wasm runs — not the lobby's shell.
func TestBrowserOfflineVisitPaintsTheBoardFromItsHTML(t *testing.T) {
	tab := bt.New(t)
	db := filepath.Join(t.TempDir(), "k.db")
	m := startRelease(t, db, "127.0.0.1:0", "pages-v1")
	api := &client.Client{Base: m.URL()}
	for _, b := range []string{"alpha", "beta"} {
		if _, err := api.Post(context.Background(), b, shared.CreateTopic{Comment: b + " topic"}, ""); err != nil {
			t.Fatal(err)
		}
	}
	bt.Do(t, tab, 60*time.Second, "open alpha", chromedp.Navigate(m.URL()+"/b/alpha"))
	bt.Until(t, tab, 60*time.Second, "alpha live", liveSSE)
	swReady(t, tab, "kairan-pages-v1")
	bt.Do(t, tab, 60*time.Second, "open beta", chromedp.Navigate(m.URL()+"/b/beta"))
	bt.Until(t, tab, 60*time.Second, "beta live", liveSSE)
	// Visit alpha once more under the worker, so its page is in the cache.
	bt.Do(t, tab, 60*time.Second, "alpha again", chromedp.Navigate(m.URL()+"/b/alpha"))
	bt.Until(t, tab, 60*time.Second, "alpha live again", liveSSE)
	bt.Until(t, tab, 30*time.Second, "alpha's page in the worker's cache", `(() => {
		caches.open("kairan-pages-v1").then(c => c.match(location.origin + "/b/alpha")).then(r => { window.__kept = !!r; });
		return window.__kept === true;
	})()`)

	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(tab, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: `
		document.addEventListener("DOMContentLoaded", () => {
			window.__first = (document.querySelector(".board-name")?.textContent ?? "") + "|" +
				(document.querySelector("#topics .topic .comment")?.textContent ?? "");
		});`}); err != nil {
		t.Fatal(err)
	}
	bt.Do(t, tab, 60*time.Second, "go to alpha with the server gone", chromedp.Navigate(m.URL()+"/b/alpha"))
	bt.Until(t, tab, 30*time.Second, "the first paint", `typeof window.__first === "string"`)
	if first := bt.Within(t, tab, 5*time.Second, "read the first paint", chromedp.Evaluate[string](`window.__first`)); first != "alpha|alpha topic" {
		t.Fatalf("the first paint offline showed %q, want alpha's board from its own page", first)
	}
}
