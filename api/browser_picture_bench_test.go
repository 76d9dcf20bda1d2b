package main

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	bt "github.com/kairan/kairan/api/internal/browsertest"
	"github.com/kairan/kairan/api/internal/picturetest"
	"github.com/kairan/kairan/app/client"
)

// BenchmarkPictureUploadToVisible times a photo of about 1 MB from the
// moment Ann taps Post to the moment its preview has loaded on Bob's
// screen (another browser context, live on the board): the browser's
// shrink happened before, when she chose it, and is timed apart. On
// loopback, and with both on Chrome's "Slow 4G" network (150 ms RTT,
// 1.6 Mbit/s down, 750 kbit/s up; no CPU throttling). Run:
// go test -run '^$' -bench PictureUploadToVisible -benchtime 1x ./api/
func BenchmarkPictureUploadToVisible(b *testing.B) {
	browser := bt.New(b)
	m := startServer(b, unlimited)
	photo := picturetest.Photo(2048, 1536) // noise keeps it near 1 MB, like a phone's photo
	path := filepath.Join(b.TempDir(), "photo.jpg")
	if err := os.WriteFile(path, photo, 0o644); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(len(photo)), "file-bytes")
	// The pages go through a proxy that notes the size of each upload.
	var sent atomic.Int64
	edge := newCourierEdge(b, m, func(w http.ResponseWriter, r *http.Request, n int) bool {
		if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/images") {
			sent.Store(r.ContentLength)
		}
		return false
	})

	throttle := func(tab context.Context) {
		b.Helper()
		if _, err := chromedp.Call(tab, network.Enable, network.EnableParams{}); err != nil {
			b.Fatal(err)
		}
		cond := &network.Conditions{Latency: 150, DownloadThroughput: 1.6e6 / 8, UploadThroughput: 750e3 / 8}
		if _, err := chromedp.Call(tab, network.EmulateNetworkConditionsByRule, network.EmulateNetworkConditionsByRuleParams{
			MatchedNetworkConditions: []*network.Conditions{cond}}); err != nil {
			b.Fatal(err)
		}
	}
	const runs = 3
	for _, profile := range []string{"loopback", "slow4g"} {
		board := "upload-" + profile
		ann, bob := bt.NewContext(b, browser), bt.NewContext(b, browser)
		for _, tab := range []context.Context{ann, bob} {
			if profile == "slow4g" {
				throttle(tab)
			}
			bt.Do(b, tab, 120*time.Second, "open the board", chromedp.EmulateViewport(360, 740), chromedp.Navigate(edge.URL+"/b/"+board))
			bt.Until(b, tab, 120*time.Second, "the live board", `document.querySelector(".page[data-app]") !== null && `+liveSSE)
		}
		var visible, shrink []float64
		var kept int64
		for i := range runs * b.N {
			comment := "photo " + strconv.Itoa(i)
			start := time.Now()
			bt.Do(b, ann, 10*time.Second, "choose the photo", chromedp.SetUploadFiles(chromedp.ID("photo"), []string{path}))
			bt.Until(b, ann, 60*time.Second, "the photo attached", attached)
			shrink = append(shrink, float64(time.Since(start).Milliseconds())) // an upper bound: includes the test's polling
			bt.Do(b, ann, 10*time.Second, "the comment", chromedp.SendKeys(chromedp.ID("comment"), comment))
			// Bob's page notes the moment the preview has loaded; both pages
			// share this machine's clock.
			bt.Do(b, bob, 10*time.Second, "watch for the photo", chromedp.Evaluate[chromedp.Void](`(() => {
				window.__seen = 0;
				const poll = () => {
					const li = [...document.querySelectorAll("#topics .topic:not(.pending)")].find(l => l.querySelector(".comment")?.textContent === `+jsString(comment)+`);
					const img = li?.querySelector("img.pic-img");
					if (img && img.complete && img.naturalWidth > 0) { window.__seen = Date.now(); return; }
					if (img && !img.complete) { img.addEventListener("load", () => { window.__seen = Date.now(); }, {once: true}); return; }
					setTimeout(poll, 2);
				};
				poll();
			})()`))
			t0 := bt.Within(b, ann, 10*time.Second, "post", chromedp.Evaluate[float64](`(() => { const t = Date.now(); document.getElementById("post-button").click(); return t; })()`))
			bt.Until(b, bob, 120*time.Second, "the photo on Bob's screen", `window.__seen > 0`)
			seen := bt.Within(b, bob, 5*time.Second, "when", chromedp.Evaluate[float64](`window.__seen`))
			visible = append(visible, seen-t0)
		}
		snap, err := (&client.Client{Base: m.URL()}).Snapshot(context.Background(), board)
		if err != nil || len(snap.Topics) != runs*b.N || snap.Topics[0].Image == nil {
			b.Fatalf("the server has %+v, %v", snap, err)
		}
		if resp, err := http.Head(m.URL() + "/api/images/" + snap.Topics[0].Image.ID); err == nil {
			kept = resp.ContentLength
			resp.Body.Close()
		}
		slices.Sort(visible)
		slices.Sort(shrink)
		b.ReportMetric(visible[(len(visible)-1)/2], profile+"-visible-p50-ms")
		b.ReportMetric(visible[len(visible)-1], profile+"-visible-max-ms")
		b.ReportMetric(shrink[(len(shrink)-1)/2], profile+"-choose-to-attached-p50-ms")
		b.ReportMetric(float64(kept), profile+"-kept-bytes")
		b.ReportMetric(float64(sent.Load()), profile+"-sent-bytes")
	}
}
