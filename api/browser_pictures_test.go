package main

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/jpeg"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"

	bt "github.com/kairan/kairan/api/internal/browsertest"
	"github.com/kairan/kairan/app/client"
	"github.com/kairan/kairan/shared"
)

// Pictures in the real page: a photo chosen from a file and a drawing made
// by pointer events, shrunk by the browser, posted, and shown live on a
// second person's screen; a picture posted offline is delivered once.

// writePhoto writes a JPEG of w×h (a gradient, so it is no flat colour a
// codec could shrink to nothing) and returns its path.
func writePhoto(t *testing.T, w, h int) string {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{uint8(x * 255 / w), uint8(y * 255 / h), uint8((x + y) % 256), 255})
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "photo.jpg")
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// draw opens the pad, draws two strokes with the mouse (real input
// events, which the page sees as pointer events), and uses the drawing.
func draw(t *testing.T, tab context.Context) {
	t.Helper()
	bt.Do(t, tab, 10*time.Second, "open the pad", chromedp.Click(chromedp.ID("draw")))
	bt.Until(t, tab, 10*time.Second, "the pad", `document.getElementById("draw-pad")?.width > 0 && window.kairanPics.pad("draw-pad") !== null`)
	bt.Do(t, tab, 5*time.Second, "scroll the pad into view", chromedp.Evaluate[chromedp.Void](`document.getElementById("draw-pad").scrollIntoView({block: "center"})`))
	rect := bt.Within(t, tab, 5*time.Second, "measure the pad", chromedp.Evaluate[[]float64](
		`(() => { const r = document.getElementById("draw-pad").getBoundingClientRect(); return [r.left, r.top, r.width, r.height]; })()`))
	x0, y0, w, h := rect[0], rect[1], rect[2], rect[3]
	stroke := func(fx0, fy0, fx1, fy1 float64) []chromedp.Action[chromedp.Void] {
		steps := []chromedp.Action[chromedp.Void]{chromedp.MouseEvent(chromedp.MousePressed, x0+fx0*w, y0+fy0*h, chromedp.ButtonLeft)}
		for i := 1; i <= 8; i++ {
			f := float64(i) / 8
			steps = append(steps, chromedp.MouseEvent(chromedp.MouseMoved, x0+(fx0+(fx1-fx0)*f)*w, y0+(fy0+(fy1-fy0)*f)*h, chromedp.ButtonLeft))
		}
		return append(steps, chromedp.MouseEvent(chromedp.MouseReleased, x0+fx1*w, y0+fy1*h, chromedp.ButtonLeft))
	}
	bt.Do(t, tab, 10*time.Second, "draw a stroke", stroke(.1, .2, .9, .8)...)
	bt.Do(t, tab, 10*time.Second, "thick red", chromedp.Click(chromedp.CSS(".swatch-1")), chromedp.Click(chromedp.CSS(".pen.thick")))
	bt.Do(t, tab, 10*time.Second, "draw another", stroke(.1, .8, .9, .2)...)
	bt.Until(t, tab, 5*time.Second, "two strokes on the pad", `window.kairanPics.pad("draw-pad").strokes.length === 2 &&
		window.kairanPics.pad("draw-pad").strokes[1].color === "#d1342f"`)
}

// fingerStroke draws one stroke on the open pad with a finger: touch
// events, which the page sees as pointer events of type "touch" (the pad's
// touch-action keeps the page from scrolling instead).
func fingerStroke(t *testing.T, tab context.Context) {
	t.Helper()
	rect := bt.Within(t, tab, 5*time.Second, "measure the pad", chromedp.Evaluate[[]float64](
		`(() => { const r = document.getElementById("draw-pad").getBoundingClientRect(); return [r.left, r.top, r.width, r.height]; })()`))
	at := func(f float64) []*input.TouchPoint {
		return []*input.TouchPoint{{X: rect[0] + rect[2]/2, Y: rect[1] + rect[3]*(0.1+0.8*f)}}
	}
	touch := func(typ input.DispatchTouchEventType, points []*input.TouchPoint) {
		if _, err := chromedp.Call(tab, input.DispatchTouchEvent, input.DispatchTouchEventParams{Type: typ, TouchPoints: points}); err != nil {
			t.Fatalf("touch %s: %v", typ, err)
		}
	}
	touch(input.DispatchTouchEventTypeTouchStart, at(0))
	for i := 1; i <= 8; i++ {
		touch(input.DispatchTouchEventTypeTouchMove, at(float64(i)/8))
	}
	touch(input.DispatchTouchEventTypeTouchEnd, []*input.TouchPoint{})
}

// attached waits for the picture attached to the post form to show.
const attached = `document.querySelector("#attached img.pic-img")?.complete === true && document.querySelector("#attached img.pic-img").naturalWidth > 0`

// pictureShown is a JS test that a topic with alt text alt shows its
// server preview, loaded, linking to the full picture.
func pictureShown(alt string) string {
	return `[...document.querySelectorAll("#topics .topic:not(.pending) a.pic img")].some(img => img.alt === ` + jsString(alt) + ` &&
		img.complete && img.naturalWidth > 0 && /^\/api\/images\/[A-Za-z0-9_-]+\/preview$/.test(new URL(img.src).pathname) &&
		new URL(img.closest("a").href).pathname + "/preview" === new URL(img.src).pathname)`
}

// TestBrowserPhotoAndDrawingShowLive: Ann posts a photo chosen from a file
// (larger than the server keeps: the browser shrinks it) and then a
// drawing made with the mouse; Bob, in another browser, sees both without
// a reload, each at its aspect ratio with its alt text; accessibility holds
// with pictures on the board and the pad open.
func TestBrowserPhotoAndDrawingShowLive(t *testing.T) {
	m := startServer(t)
	browser := bt.New(t)
	other := bt.New(t) // Bob: another browser
	url := m.URL() + "/b/pictures"
	const slow = 60 * time.Second
	ann, bob := bt.NewContext(t, browser), bt.NewContext(t, other)
	for _, tab := range []context.Context{ann, bob} {
		bt.Do(t, tab, slow, "open the board", chromedp.EmulateViewport(360, 740), chromedp.Navigate(url))
		bt.Until(t, tab, slow, "the live board", `document.querySelector(".page[data-app]") !== null && `+liveSSE)
	}

	photo := writePhoto(t, 3000, 2000)
	bt.Do(t, ann, 10*time.Second, "choose a photo",
		chromedp.SendKeys(chromedp.ID("author"), "Ann"),
		chromedp.SetUploadFiles(chromedp.ID("photo"), []string{photo}))
	bt.Until(t, ann, 30*time.Second, "the photo attached", attached)
	bt.Do(t, ann, 10*time.Second, "post the photo",
		chromedp.SendKeys(chromedp.ID("comment"), "the view from the roof"),
		chromedp.Click(chromedp.ID("post-button")))
	bt.Until(t, bob, 30*time.Second, "Ann's photo on Bob's screen", pictureShown("Photo by Ann"))
	bt.Until(t, ann, 30*time.Second, "the photo posted, the form empty", pictureShown("Photo by Ann")+
		` && document.getElementById("attached") === null && document.getElementById("comment").value === ""`)

	draw(t, ann)
	axe := axeSource(t)
	axeCheck(t, ann, axe, "the drawing pad on a phone")
	screenshot(t, ann, "board-draw-phone.png")
	bt.Do(t, ann, 10*time.Second, "use the drawing", chromedp.Click(chromedp.ID("use-drawing")))
	bt.Until(t, ann, 30*time.Second, "the drawing attached", attached+` && document.getElementById("draw-pad") === null`)
	bt.Do(t, ann, 10*time.Second, "post the drawing alone", chromedp.Click(chromedp.ID("post-button")))
	bt.Until(t, bob, 30*time.Second, "Ann's drawing on Bob's screen", pictureShown("Drawing by Ann"))

	// What the server keeps: the photo shrunk to 2048 on its longest side
	// by the browser, at its aspect; the drawing as PNG; and the page lays
	// each out at that aspect before its bytes arrive.
	snap, err := (&client.Client{Base: m.URL()}).Snapshot(context.Background(), "pictures")
	if err != nil || len(snap.Topics) != 2 {
		t.Fatalf("the server has %+v, %v", snap, err)
	}
	drawing, shot := snap.Topics[0], snap.Topics[1]
	if img := shot.Image; img == nil || img.Type != shared.TypeJPEG || img.Width != 2048 || img.Height != 1365 || shot.Comment != "the view from the roof" {
		t.Errorf("the photo's topic = %+v, image %+v; want a 2048×1365 JPEG", shot, img)
	}
	if img := drawing.Image; img == nil || img.Type != shared.TypePNG || img.Width*3 != img.Height*4 || drawing.Comment != "" {
		t.Errorf("the drawing's topic = %+v, image %+v; want a 4:3 PNG without comment", drawing, img)
	}
	for _, tp := range []shared.Topic{shot, drawing} {
		ratio := bt.Within(t, bob, 5*time.Second, "the laid-out aspect", chromedp.Evaluate[[]int](
			`(() => { const img = document.querySelector('#topic-`+strconv.FormatInt(tp.ID, 10)+` img.pic-img'); return [+img.getAttribute("width"), +img.getAttribute("height")]; })()`))
		if w, h := ratio[0], ratio[1]; w <= 0 || h <= 0 || abs(w*tp.Image.Height-h*tp.Image.Width) > max(tp.Image.Width, tp.Image.Height) {
			t.Errorf("topic %d is laid out at %d×%d, its picture is %d×%d", tp.ID, w, h, tp.Image.Width, tp.Image.Height)
		}
	}

	axeCheck(t, bob, axe, "a board with pictures on a phone")
	screenshot(t, bob, "board-pictures-phone.png")
	bt.Do(t, bob, 10*time.Second, "desktop width", chromedp.EmulateViewport(1280, 900))
	axeCheck(t, bob, axe, "a board with pictures on a desktop")
	screenshot(t, bob, "board-pictures-desktop.png")
	bt.Do(t, ann, 10*time.Second, "desktop width", chromedp.EmulateViewport(1280, 900))
	draw(t, ann)
	bt.Do(t, ann, 5*time.Second, "to the top", chromedp.Evaluate[chromedp.Void](`window.scrollTo(0, 0)`))
	axeCheck(t, ann, axe, "the drawing pad on a desktop")
	screenshot(t, ann, "board-draw-desktop.png")
	// Undo takes the last stroke back, Clear all; an empty pad is not used.
	bt.Do(t, ann, 10*time.Second, "undo", chromedp.Click(chromedp.ID("pad-undo")))
	bt.Until(t, ann, 5*time.Second, "one stroke left", `window.kairanPics.pad("draw-pad").strokes.length === 1`)
	bt.Do(t, ann, 10*time.Second, "clear", chromedp.Click(chromedp.ID("pad-clear")))
	bt.Until(t, ann, 5*time.Second, "no stroke left", `window.kairanPics.pad("draw-pad").strokes.length === 0`)
	bt.Do(t, ann, 10*time.Second, "use the empty pad", chromedp.Click(chromedp.ID("use-drawing")))
	bt.Until(t, ann, 5*time.Second, "asked to draw first", `document.getElementById("error")?.textContent === "Draw something first, or cancel." &&
		document.getElementById("attached") === null && document.getElementById("draw-pad") !== null`)
	bt.Do(t, ann, 10*time.Second, "cancel", chromedp.Click(chromedp.ID("cancel-drawing")))
	bt.Until(t, ann, 5*time.Second, "the pad closed, the focus on Draw", `document.getElementById("draw-pad") === null && document.activeElement?.id === "draw"`)

	// A tap on the photo opens the full picture in the viewer, over the
	// board; Escape closes it and the keyboard is back on the picture.
	link := `#topic-` + strconv.FormatInt(shot.ID, 10) + ` a.pic`
	bt.Do(t, bob, 10*time.Second, "phone width", chromedp.EmulateViewport(360, 740))
	bt.Do(t, bob, 10*time.Second, "tap the photo", chromedp.Click(chromedp.CSS(link)))
	bt.Until(t, bob, 30*time.Second, "the full photo in the viewer", `(() => { const d = document.getElementById("pic-viewer"); const img = d?.querySelector("img");
		return d?.open && document.activeElement === d.querySelector("button") && img.alt === "Photo by Ann" &&
			img.complete && img.naturalWidth === 2048 && img.naturalHeight === 1365 && location.pathname === "/b/pictures"; })()`)
	axeCheck(t, bob, axe, "the picture viewer")
	screenshot(t, bob, "board-viewer-phone.png")
	bt.Do(t, bob, 10*time.Second, "Escape", chromedp.KeyEvent(""))
	bt.Until(t, bob, 10*time.Second, "the viewer closed, the focus on the photo's link", `!document.getElementById("pic-viewer").open &&
		document.activeElement === document.querySelector(`+jsString(link)+`)`)

	// The link itself opens the full picture (the server's, with its
	// sandbox CSP), at the size the server keeps.
	href := bt.Within(t, bob, 5*time.Second, "the photo's link", chromedp.Evaluate[string](
		`document.querySelector(`+jsString(link)+`).href`))
	bt.Do(t, bob, 30*time.Second, "open the full photo", chromedp.Navigate(href))
	bt.Until(t, bob, 30*time.Second, "the full photo", `document.images.length === 1 && document.images[0].complete &&
		document.images[0].naturalWidth === 2048 && document.images[0].naturalHeight === 1365`)
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

// TestBrowserOfflinePictureIsDeliveredOnce: a drawing posted while the
// server is out of reach shows as pending with its picture (from the
// bytes the browser keeps), survives a reload, and is delivered when the
// server returns: one topic, one picture, as a second person sees.
func TestBrowserOfflinePictureIsDeliveredOnce(t *testing.T) {
	browser := bt.New(t)
	db := filepath.Join(t.TempDir(), "k.db")
	m := startRelease(t, db, "127.0.0.1:0", "pictures-v1")
	addr, url := m.ln.Addr().String(), m.URL()+"/b/cellar"
	ann := bt.NewContext(t, browser)
	bt.Do(t, ann, 60*time.Second, "open the board", chromedp.EmulateViewport(360, 740), chromedp.Navigate(url))
	bt.Until(t, ann, 60*time.Second, "the live board", `document.querySelector(".page[data-app]") !== null && `+liveSSE)
	swReady(t, ann, "kairan-pictures-v1")

	m.Close()
	bt.Until(t, ann, 30*time.Second, "the server out of reach", `(document.getElementById("status")?.textContent ?? "").startsWith("can't reach the server")`)
	draw(t, ann)
	scrolled := bt.Within(t, ann, 5*time.Second, "the scroll position", chromedp.Evaluate[float64](`window.scrollY`))
	fingerStroke(t, ann)
	bt.Until(t, ann, 5*time.Second, "a third stroke, by finger, the page not scrolled", `window.kairanPics.pad("draw-pad").strokes.length === 3 &&
		window.kairanPics.pad("draw-pad").strokes[2].points.length > 2 && window.scrollY === `+strconv.FormatFloat(scrolled, 'f', -1, 64))
	bt.Do(t, ann, 10*time.Second, "use the drawing", chromedp.Click(chromedp.ID("use-drawing")))
	bt.Until(t, ann, 30*time.Second, "the drawing attached", attached)
	const comment = "drawn in the cellar"
	bt.Do(t, ann, 10*time.Second, "post while offline",
		chromedp.SendKeys(chromedp.ID("comment"), comment),
		chromedp.Click(chromedp.ID("post-button")))
	pending := `(() => { const li = document.querySelector("#topics .topic.pending"); const img = li?.querySelector("img.pic-img");
		return li?.querySelector(".comment")?.textContent === ` + jsString(comment) + ` && img?.src.startsWith("blob:") && img.complete && img.naturalWidth > 0; })()`
	bt.Until(t, ann, 30*time.Second, "the pending post with its picture", pending)
	bt.Do(t, ann, 30*time.Second, "reload while offline", chromedp.Reload())
	bt.Until(t, ann, 60*time.Second, "the pending post with its picture after the reload", pending)
	screenshot(t, ann, "board-offline-picture-phone.png")

	m2 := startRelease(t, db, addr, "pictures-v1")
	bt.Until(t, ann, 60*time.Second, "the post delivered", `document.querySelector("#topics .topic.pending") === null && `+pictureShown("Drawing by anonymous"))
	bob := bt.NewContext(t, browser)
	bt.Do(t, bob, 60*time.Second, "open the board as Bob", chromedp.Navigate(url))
	bt.Until(t, bob, 60*time.Second, "the post on Bob's screen, once", pictureShown("Drawing by anonymous")+` &&
		[...document.querySelectorAll("#topics .topic .comment")].filter(e => e.textContent === `+jsString(comment)+`).length === 1`)
	snap, err := (&client.Client{Base: m2.URL()}).Snapshot(context.Background(), "cellar")
	if err != nil || len(snap.Topics) != 1 || snap.Topics[0].Image == nil || snap.Topics[0].Comment != comment {
		t.Fatalf("the server has %+v, %v; want one topic with its picture", snap, err)
	}
	// The kept bytes went with the delivery.
	left := bt.Within(t, ann, 10*time.Second, "the kept pictures", chromedp.Evaluate[int](`new Promise((ok, fail) => {
		const r = indexedDB.open("kairan"); r.onerror = fail;
		r.onsuccess = () => { const q = r.result.transaction("pictures").objectStore("pictures").count(); q.onsuccess = () => ok(q.result); q.onerror = fail; };
	})`, chromedp.EvalAwaitPromise))
	if left != 0 {
		t.Errorf("%d pictures are still kept in IndexedDB after delivery", left)
	}

	// The service worker kept the preview Ann's page showed (and nothing
	// else under /api/): with the server gone, a reload still shows it.
	bt.Until(t, ann, 30*time.Second, "the preview in the picture cache", `caches.open("kairan-pictures").then(c => c.keys()).then(ks => {
		window.__pictureKeys = ks.map(k => new URL(k.url).pathname); return true; }) && (window.__pictureKeys ?? []).some(p => /^\/api\/images\/[A-Za-z0-9_-]+\/preview$/.test(p))`)
	keys := bt.Within(t, ann, 10*time.Second, "the cached paths", chromedp.Evaluate[[]string](`(async () => {
		const out = [];
		for (const name of await caches.keys()) {
			for (const k of await (await caches.open(name)).keys()) {
				const p = new URL(k.url).pathname;
				if (p.startsWith("/api/")) { out.push(name + " " + p); }
			}
		}
		return out;
	})()`, chromedp.EvalAwaitPromise))
	for _, k := range keys {
		if !strings.HasPrefix(k, "kairan-pictures /api/images/") {
			t.Errorf("the service worker cached %s: only pictures may be cached under /api/", k)
		}
	}
	m2.Close()
	bt.Do(t, ann, 30*time.Second, "reload with the server gone", chromedp.Reload())
	bt.Until(t, ann, 60*time.Second, "the picture from the cache", `document.querySelector(".page[data-app]") !== null && `+pictureShown("Drawing by anonymous"))
}

// TestBrowserPictureLostAnswersStillPostOnce: a proxy lets the page's
// first upload and first post reach the server but drops both answers, as
// a train tunnel would; the page sends each again with its own key (the
// picture's bytes read again from IndexedDB), and there is one topic with
// one picture.
func TestBrowserPictureLostAnswersStillPostOnce(t *testing.T) {
	tab := bt.New(t)
	m := startServer(t)
	var uploads, posts atomic.Int32
	var edge *courierEdge
	edge = newCourierEdge(t, m, func(w http.ResponseWriter, r *http.Request, n int) bool {
		var count *atomic.Int32
		switch {
		case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/images"):
			count = &uploads
		case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/topics"):
			count = &posts
		default:
			return false
		}
		if count.Add(1) != 1 {
			return false
		}
		rec := httptest.NewRecorder()
		edge.forward.ServeHTTP(rec, r) // the server takes it...
		if rec.Code != http.StatusCreated {
			t.Errorf("the first %s was answered %d %s", r.URL.Path, rec.Code, rec.Body)
		}
		hangUp(w) // ...and the answer is lost
		return true
	})
	bt.Do(t, tab, 60*time.Second, "open the board through the proxy", chromedp.EmulateViewport(360, 740), chromedp.Navigate(edge.URL+"/b/tunnel"))
	bt.Until(t, tab, 60*time.Second, "the live board", `document.querySelector(".page[data-app]") !== null && `+liveSSE)
	bt.Do(t, tab, 10*time.Second, "choose a photo", chromedp.SetUploadFiles(chromedp.ID("photo"), []string{writePhoto(t, 800, 600)}))
	bt.Until(t, tab, 30*time.Second, "the photo attached", attached)
	bt.Do(t, tab, 10*time.Second, "post", chromedp.SendKeys(chromedp.ID("comment"), "through the tunnel"), chromedp.Click(chromedp.ID("post-button")))
	bt.Until(t, tab, 60*time.Second, "the post, once, owned, with its picture", `document.querySelector("#topics .topic.pending") === null &&
		document.querySelectorAll("#topics .topic").length === 1 && document.querySelector("#topics .edit-button") !== null && `+pictureShown("Photo by anonymous"))
	if uploads.Load() != 2 || posts.Load() != 2 {
		t.Errorf("%d uploads and %d posts reached the proxy; want each lost once and sent again", uploads.Load(), posts.Load())
	}
	var keys []string
	edge.mu.Lock()
	for k := range edge.counts {
		keys = append(keys, k)
	}
	edge.mu.Unlock()
	for _, k := range keys {
		if (strings.HasSuffix(strings.Fields(k)[1], "/images") || strings.HasSuffix(strings.Fields(k)[1], "/topics")) && len(strings.Fields(k)) != 3 {
			t.Errorf("a write without its Idempotency-Key: %q", k)
		}
	}
	snap, err := (&client.Client{Base: m.URL()}).Snapshot(context.Background(), "tunnel")
	if err != nil || len(snap.Topics) != 1 || snap.Topics[0].Image == nil || snap.Topics[0].Image.Width != 800 {
		t.Fatalf("the server has %+v, %v; want one topic with an 800×600 picture", snap, err)
	}
}

// TestBrowserSweepsAbandonedPictures: kept pictures that no outbox of any
// board names are dropped once an hour old (a picture taken back into the
// form and abandoned, or kept by a tab that closed before posting); those
// an outbox names, and those just kept, stay.
func TestBrowserSweepsAbandonedPictures(t *testing.T) {
	tab := bt.New(t)
	m := startServer(t)
	bt.Do(t, tab, 60*time.Second, "open a board", chromedp.Navigate(m.URL()+"/b/sweep"))
	bt.Until(t, tab, 60*time.Second, "the app", `document.querySelector(".page[data-app]") !== null && window.kairanPics !== undefined`)
	left := bt.Within(t, tab, 20*time.Second, "sweep", chromedp.Evaluate[[]string](`(async () => {
		const blob = new Blob(["x"], {type: "image/png"});
		const hours = (n) => Date.now() - n * 3600e3;
		localStorage.setItem("kairan/outbox/elsewhere", JSON.stringify({ops: [{key: "p1", kind: "post", board: "elsewhere", image: {key: "named-old"}}]}));
		const d = await new Promise((ok, fail) => { const r = indexedDB.open("kairan", 1);
			r.onupgradeneeded = () => r.result.createObjectStore("pictures"); r.onsuccess = () => ok(r.result); r.onerror = fail; });
		await new Promise((ok, fail) => { const tx = d.transaction("pictures", "readwrite"); const s = tx.objectStore("pictures");
			s.put({blob, at: hours(2)}, "orphan-old"); s.put({blob, at: hours(0)}, "orphan-new"); s.put({blob, at: hours(30)}, "named-old");
			tx.oncomplete = ok; tx.onerror = fail; });
		await window.kairanPics.sweep();
		return await new Promise((ok, fail) => { const q = d.transaction("pictures").objectStore("pictures").getAllKeys();
			q.onsuccess = () => ok(q.result.sort()); q.onerror = fail; });
	})()`, chromedp.EvalAwaitPromise))
	if got := strings.Join(left, ","); got != "named-old,orphan-new" {
		t.Errorf("kept after the sweep: %s; want named-old,orphan-new", got)
	}
}
