package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	bt "github.com/kairan/kairan/api/internal/browsertest"
	"github.com/kairan/kairan/app/client"
	"github.com/kairan/kairan/shared"
)

// BenchmarkSlowPhone times what a person on a slow phone waits for, with
// Chrome's "Slow 4G" profile (150 ms RTT, 1.6 Mbit/s down, 750 kbit/s up)
// and 4× CPU throttling: a cold first visit (fresh browser context) —
// first contentful paint, first topic in the DOM, the page live (stream
// open), bytes by resource — beside the same topics as a static HTML page
// with the same CSS, and a second visit from the service worker, online
// and offline. Run: go test -run '^$' -bench SlowPhone -benchtime 1x ./api/
func BenchmarkSlowPhone(b *testing.B) {
	browser := bt.New(b)
	m := startServer(b, unlimited)
	const board, topics = "slowphone", 34
	api := client.Client{Base: m.URL()}
	for i := range topics {
		in := shared.CreateTopic{Author: "neighbour", Comment: fmt.Sprintf("Topic %d: the recycling moves to Thursday; bins out by 8 am, please.", i+1)}
		if _, err := api.Post(context.Background(), board, in, ""); err != nil {
			b.Fatal(err)
		}
	}
	// The static twin: the server's own HTML of the board without its
	// scripts, served beside the same CSS.
	resp, err := http.Get(m.URL() + "/b/" + board)
	if err != nil {
		b.Fatal(err)
	}
	html, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	static := regexp.MustCompile(`(?s)<script[^>]*></script>|<aside id="app-wasm-loader".*?</aside>|<link[^>]*manifest[^>]*>`).ReplaceAll(html, nil)
	staticSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/" {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Write(static)
			return
		}
		http.Redirect(w, r, m.URL()+r.URL.Path, http.StatusTemporaryRedirect) // the CSS, from kairan
	}))
	b.Cleanup(staticSrv.Close)

	slow := func(tab context.Context, offline bool) {
		b.Helper()
		if _, err := chromedp.Call(tab, network.Enable, network.EnableParams{}); err != nil {
			b.Fatal(err)
		}
		if _, err := chromedp.Call(tab, network.SetCacheDisabled, network.SetCacheDisabledParams{CacheDisabled: false}); err != nil {
			b.Fatal(err)
		}
		cond := &network.Conditions{Latency: 150, DownloadThroughput: 1.6e6 / 8, UploadThroughput: 750e3 / 8, Offline: offline}
		if _, err := chromedp.Call(tab, network.EmulateNetworkConditionsByRule, network.EmulateNetworkConditionsByRuleParams{
			EmulateOfflineServiceWorker: new(offline), MatchedNetworkConditions: []*network.Conditions{cond}}); err != nil {
			b.Fatal(err)
		}
		if _, err := chromedp.Call(tab, network.OverrideNetworkState, network.OverrideNetworkStateParams{
			Offline: offline, Latency: 150, DownloadThroughput: 1.6e6 / 8, UploadThroughput: 750e3 / 8}); err != nil {
			b.Fatal(err)
		}
		if _, err := chromedp.Call(tab, emulation.SetCPUThrottlingRate, emulation.SetCPUThrottlingRateParams{Rate: 4}); err != nil {
			b.Fatal(err)
		}
		if _, err := chromedp.Call(tab, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: phoneProbe}); err != nil {
			b.Fatal(err)
		}
	}
	type visit struct {
		FCP, Topic, Live float64
		Bytes            map[string]float64
	}
	read := func(tab context.Context, what string, wantLive bool) visit {
		b.Helper()
		cond := `window.__p && window.__p.topic > 0 && performance.getEntriesByName("first-contentful-paint").length > 0`
		if wantLive {
			cond += ` && window.__p.live > 0`
		}
		bt.Until(b, tab, 120*time.Second, what, cond)
		return bt.Within(b, tab, 10*time.Second, "read "+what, chromedp.Evaluate[visit](`({
			FCP: performance.getEntriesByName("first-contentful-paint")[0].startTime,
			Topic: window.__p.topic, Live: window.__p.live,
			Bytes: Object.fromEntries([performance.getEntriesByType("navigation")[0], ...performance.getEntriesByType("resource")]
				.map(e => [new URL(e.name).pathname, e.transferSize]))})`))
	}
	const runs = 3
	var cold, flat, warm, warmOffline []visit
	for range runs * b.N {
		tab := bt.NewContext(b, browser)
		slow(tab, false)
		bt.Do(b, tab, 120*time.Second, "a cold visit", chromedp.EmulateViewport(360, 740), chromedp.Navigate(m.URL()+"/b/"+board))
		cold = append(cold, read(tab, "the cold visit live", true))
		// The service worker has the shell and app.wasm once its cache holds them.
		bt.Until(b, tab, 120*time.Second, "the service worker's cache", `(() => {
			caches.keys().then(ks => Promise.all(ks.map(k => caches.open(k).then(c => c.match("/web/app.wasm")))))
				.then(rs => { window.__cached = rs.some(Boolean); });
			return navigator.serviceWorker.controller !== null && window.__cached === true;
		})()`)
		bt.Do(b, tab, 120*time.Second, "a second visit", chromedp.Reload())
		warm = append(warm, read(tab, "the second visit", false))
		slow(tab, true)
		bt.Do(b, tab, 120*time.Second, "a second visit offline", chromedp.Reload())
		warmOffline = append(warmOffline, read(tab, "the second visit offline", false))

		st := bt.NewContext(b, browser)
		slow(st, false)
		bt.Do(b, st, 120*time.Second, "the static page", chromedp.EmulateViewport(360, 740), chromedp.Navigate(staticSrv.URL+"/"))
		flat = append(flat, read(st, "the static page", false))
	}
	median := func(vs []visit, f func(visit) float64) float64 {
		var xs []float64
		for _, v := range vs {
			xs = append(xs, f(v))
		}
		slices.Sort(xs)
		return xs[(len(xs)-1)/2]
	}
	fcp := func(v visit) float64 { return v.FCP }
	topic := func(v visit) float64 { return v.Topic }
	b.ReportMetric(median(cold, fcp), "cold-fcp-ms")
	b.ReportMetric(median(cold, topic), "cold-topic-ms")
	b.ReportMetric(median(cold, func(v visit) float64 { return v.Live }), "cold-live-ms")
	b.ReportMetric(median(flat, topic), "static-topic-ms")
	b.ReportMetric(median(warm, topic), "second-topic-ms")
	b.ReportMetric(median(warmOffline, topic), "second-offline-topic-ms")
	var total float64
	for path, n := range cold[0].Bytes {
		total += n
		b.Logf("cold visit: %s %.0f bytes", path, n)
	}
	b.ReportMetric(total, "cold-bytes")
	for i := range cold {
		b.Logf("run %d: cold fcp %.0f topic %.0f live %.0f | static topic %.0f | second %.0f, offline %.0f ms",
			i+1, cold[i].FCP, cold[i].Topic, cold[i].Live, flat[i].Topic, warm[i].Topic, warmOffline[i].Topic)
	}
}

// phoneProbe notes, from the first byte of every document, when the first
// topic is in the DOM and when the status first says live.
const phoneProbe = `(() => {
	window.__p = {topic: 0, live: 0};
	const check = () => {
		if (!window.__p.topic && document.querySelector("#topics .topic")) window.__p.topic = performance.now();
		if (!window.__p.live && document.getElementById("status")?.dataset.mode === "live") window.__p.live = performance.now();
	};
	new MutationObserver(check).observe(document, {subtree: true, childList: true, attributes: true});
})()`
