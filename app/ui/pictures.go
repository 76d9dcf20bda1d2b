package ui

import (
	"context"
	"errors"
	"strconv"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"github.com/kairan/kairan/app/client"
	"github.com/kairan/kairan/app/sync"
	"github.com/kairan/kairan/shared"
)

// Pictures on the page. The browser does all picture work through its
// own APIs (web/pics.js: shrinking a photo, the drawing pad, IndexedDB);
// app.wasm only passes JS values along and never decodes a picture. Go's
// image packages would add ~170 KB brotli to app.wasm (docs/BENCHMARKS.md)
// and decode in wasm instead of natively; a drawing pad in Go would cross
// into Go on every pointer move. The pad and the shrinking are ~200 lines
// of JS, far smaller than the same through go-app's interop.

// pics is web/pics.js's API, or an error when the script did not load.
func pics() (app.Value, error) {
	p := app.Window().Get("kairanPics")
	if !p.Truthy() {
		return nil, errors.New("web/pics.js is not loaded")
	}
	return p, nil
}

// await waits for a JS promise: its value, or why it was rejected. It
// blocks, so call it off the UI goroutine; ctx gives up on it (the
// promise's callbacks are released once it settles).
func await(ctx context.Context, p app.Value) (app.Value, error) {
	type result struct {
		v   app.Value
		err error
	}
	done := make(chan result, 1)
	var ok, fail app.Func
	ok = app.FuncOf(func(this app.Value, args []app.Value) any {
		var v app.Value = app.Null()
		if len(args) > 0 {
			v = args[0]
		}
		done <- result{v: v}
		return nil
	})
	fail = app.FuncOf(func(this app.Value, args []app.Value) any {
		msg := "rejected"
		if len(args) > 0 && args[0].Truthy() {
			msg = args[0].Call("toString").String()
		}
		done <- result{err: errors.New(msg)}
		return nil
	})
	p.Call("then", ok, fail)
	release := func(r result) result { ok.Release(); fail.Release(); return r }
	select {
	case r := <-done:
		r = release(r)
		return r.v, r.err
	case <-ctx.Done():
		go func() { release(<-done) }()
		return nil, ctx.Err()
	}
}

// call runs kairanPics.name(args…) and waits for its promise.
func call(ctx context.Context, name string, args ...any) (app.Value, error) {
	p, err := pics()
	if err != nil {
		return nil, err
	}
	return await(ctx, p.Call(name, args...))
}

// keptPictures is the browser's store of the pictures waiting in outboxes
// (IndexedDB, shared by the origin's tabs): the session's sync.Pictures.
type keptPictures struct{}

func (keptPictures) Load(ctx context.Context, key string) (client.Picture, error) {
	v, err := call(ctx, "load", key)
	if err != nil {
		return client.Picture{}, err // storage trouble: the courier tries again
	}
	if !v.Truthy() {
		return client.Picture{}, shared.Errorf(shared.CodeImageUnavailable,
			"This post's picture is no longer kept in this browser (its site data was cleared); discard the post and add the picture again.")
	}
	return client.Picture{Type: v.Get("type").String(), Blob: v}, nil
}

func (keptPictures) Drop(key string) {
	if p, err := pics(); err == nil {
		p.Call("drop", key)
	}
}

// picture is a picture attached to the post form, not posted yet: a JS
// Blob the browser made, its object URL to show it, and what the outbox
// keeps of it.
type picture struct {
	blob app.Value
	url  string
	img  sync.OpImage
}

// pictureOf reads what kairanPics.shrink or a pad's export resolved with.
func pictureOf(v app.Value, drawing bool) *picture {
	return &picture{blob: v.Get("blob"), url: v.Get("url").String(), img: sync.OpImage{
		Key: sync.NewKey(), Type: v.Get("type").String(), Drawing: drawing,
		Width: v.Get("width").Int(), Height: v.Get("height").Int()}}
}

// fit scales w×h to fit a box of side most, keeping its aspect: the size
// a picture is laid out at before its bytes arrive, so nothing moves when
// they do.
func fit(w, h, most int) (int, int) {
	if w <= 0 || h <= 0 {
		return most, most * 3 / 4
	}
	if w <= most && h <= most {
		return w, h
	}
	if w >= h {
		return most, max(1, h*most/w)
	}
	return max(1, w*most/h), most
}

// previewSide is the largest a picture is shown in a topic (the server's
// preview, shared.PreviewSide, fills it without blurring).
const previewSide = shared.PreviewSide

// renderPicture shows a picture at its aspect ratio, as a link to the
// full picture when href is not "" (a tap opens it; the link is in the
// keyboard's tab order, and its name is the picture's alt text). An
// element by name, not go-app's typed <img>: each typed element costs
// app.wasm a few KB.
func renderPicture(src, href, alt string, w, h int) app.UI {
	w, h = fit(w, h, previewSide)
	ws, hs := strconv.Itoa(w), strconv.Itoa(h)
	if src == "" { // being read: an empty box of its size (a canvas keeps the aspect like an img)
		return app.Div().Class("pic").Body(
			app.Elem("canvas").Class("pic-img", "pic-wait").Attr("width", ws).Attr("height", hs).Attr("role", "img").Attr("aria-label", alt))
	}
	img := app.Elem("img").Class("pic-img").Attr("src", src).Attr("alt", alt).
		Attr("width", ws).Attr("height", hs).Attr("decoding", "async")
	if href == "" {
		return app.Div().Class("pic").Body(img)
	}
	return app.A().Class("pic").Href(href).Attr("target", "_blank").Attr("rel", "noopener").Body(img.Attr("loading", "lazy"))
}

// imageURL is where a topic's picture is served; preview picks the small one.
func imageURL(id string, preview bool) string {
	u := "/api/images/" + id
	if preview {
		u += "/preview"
	}
	return u
}

// pictureURL is the object URL of a kept picture (a post not sent yet),
// or "" while it is being read: the page shows it once it is.
func (c *controls) pictureURL(key string) string {
	if c == nil {
		return ""
	}
	if u, ok := c.pics[key]; ok {
		return u
	}
	c.pics[key] = "" // asked once
	c.page.Async(func() {
		v, err := call(context.Background(), "url", key)
		if err != nil || !v.Truthy() {
			return // not kept: the post shows without it
		}
		u := v.String()
		c.page.Dispatch(func(app.Context) { c.pics[key] = u; c.picsSeen++ })
	})
	return ""
}
