package ui

import (
	"context"
	"strconv"

	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

// The post form's pictures: "Photo" (the phone's camera or gallery through
// a file input) and "Draw" (a pad for finger, pen or mouse). Either gives
// one picture attached to the post, shrunk by the browser before it is
// kept and sent (web/pics.js).

// padColours are the pad's inks (words.Colours names them; app.css has a
// swatch class for each, as the page's CSP allows no inline style).
var padColours = [...]string{"#1d2521", "#d1342f", "#1f5fbf", "#2a8a4a", "#f2b705"}

// Pen widths, as a share of the pad's width.
const thinPen, thickPen = 0.006, 0.02

// renderTools are the buttons that attach a picture. The file input is the
// Photo control itself (visually hidden, still focusable: Enter or Space
// opens the chooser, which a script's click() may not do on every phone);
// its label is what shows.
func (f *PostForm) renderTools(w *words) app.UI {
	return app.Div().Class("pic-tools").Body(
		app.Input().ID("photo").Type("file").Class("file").Accept("image/*").
			Disabled(!app.IsClient || f.busy).OnChange(f.onPhoto),
		app.Elem("label").Attr("for", "photo").Class("tool").Text(w.Photo),
		app.Button().ID("draw").Type("button").Class("tool").Attr("aria-expanded", pick(f.drawing, "true", "false")).
			Attr("aria-controls", "draw-pad").Disabled(!app.IsClient).OnClick(f.onDraw).Text(w.Draw),
		app.If(f.busy, func() app.UI { return app.Span().Class("busy").Attr("role", "status").Text(w.PictureBusy) }),
	)
}

// renderAttached shows the attached picture with a way to take it off.
func (f *PostForm) renderAttached(w *words) app.UI {
	p := f.pic
	alt := pick(p.img.Drawing, w.YourDrawing, w.YourPhoto)
	return app.Div().ID("attached").Class("attached-pic").Body(
		app.If(p.url != "", func() app.UI { return renderPicture(p.url, "", alt, p.img.Width, p.img.Height) }),
		app.Button().ID("remove-picture").Type("button").OnClick(f.onRemove).Text(w.RemovePicture),
	)
}

// renderPad is the drawing pad: the canvas and its tools. The canvas is
// drawn on by web/pics.js alone; Go tells it the ink and width.
func (f *PostForm) renderPad(w *words) app.UI {
	return app.Div().ID("draw-panel").Class("draw-panel").Attr("role", "group").Attr("aria-label", w.Drawing).Body(
		app.Elem("canvas").ID("draw-pad").Class("pad").Attr("role", "img").Attr("aria-label", w.DrawArea),
		app.Div().Class("pad-tools").Body(
			app.Range(padColours[:]).Slice(func(i int) app.UI {
				return app.Button().Type("button").Class("swatch", "swatch-"+strconv.Itoa(i)).
					Attr("aria-pressed", pick(f.colour == i, "true", "false")).Attr("aria-label", w.Colours[i]).
					OnClick(f.onColour(i), app.EventScope(i))
			}),
			app.Button().Type("button").Class("pen", "thin").Attr("aria-pressed", pick(!f.thick, "true", "false")).
				OnClick(f.onThick(false)).Text(w.Thin),
			app.Button().Type("button").Class("pen", "thick").Attr("aria-pressed", pick(f.thick, "true", "false")).
				OnClick(f.onThick(true)).Text(w.Thick),
			app.Button().ID("pad-undo").Type("button").OnClick(f.padDo("undo")).Text(w.Undo),
			app.Button().ID("pad-clear").Type("button").OnClick(f.padDo("clear")).Text(w.Clear),
		),
		app.Div().Class("actions").Body(
			app.Button().ID("use-drawing").Type("button").Class("primary").OnClick(f.onUseDrawing).Text(w.UseDrawing),
			app.Button().ID("cancel-drawing").Type("button").OnClick(f.onCancelDrawing).Text(w.Cancel),
		),
	)
}

// pad is web/pics.js's pad on the page's canvas, made on first use;
// undefined when the canvas is not in the page.
func pad() app.Value {
	p, err := pics()
	if err != nil {
		return app.Undefined()
	}
	return p.Call("pad", "draw-pad")
}

// tunePad gives the pad the chosen ink and width once the canvas is in
// the page.
func (f *PostForm) tunePad(ctx app.Context) {
	colour, width := padColours[f.colour], thinPen
	if f.thick {
		width = thickPen
	}
	tune := func(app.Context) {
		if p := pad(); p.Truthy() {
			p.Set("color", colour)
			p.Set("width", width)
		}
	}
	if pad().Truthy() {
		tune(ctx)
		return
	}
	// The pad's canvas is in the page after the next render; deferred on
	// the page's context, which outlives the button (forms.go).
	f.C.page.Defer(tune)
}

func (f *PostForm) onDraw(ctx app.Context, e app.Event) {
	f.drawing, f.err = !f.drawing, ""
	if f.drawing {
		f.tunePad(ctx)
	}
}

func (f *PostForm) onColour(i int) app.EventHandler {
	return func(ctx app.Context, e app.Event) { f.colour = i; f.tunePad(ctx) }
}

func (f *PostForm) onThick(thick bool) app.EventHandler {
	return func(ctx app.Context, e app.Event) { f.thick = thick; f.tunePad(ctx) }
}

func (f *PostForm) padDo(what string) app.EventHandler {
	return func(ctx app.Context, e app.Event) {
		if p := pad(); p.Truthy() {
			p.Call(what)
		}
	}
}

func (f *PostForm) onCancelDrawing(ctx app.Context, e app.Event) {
	f.drawing, f.err = false, ""
	f.C.focus("draw")
}

// onUseDrawing attaches the drawing (as PNG, from the pad's strokes).
func (f *PostForm) onUseDrawing(ctx app.Context, e app.Event) {
	p := pad()
	if !p.Truthy() || p.Get("strokes").Length() == 0 {
		f.err = f.W.or().DrawFirst
		return
	}
	f.busy = true
	ctx.Async(func() {
		v, err := await(context.Background(), p.Call("export"))
		ctx.Dispatch(func(ctx app.Context) {
			f.busy = false
			if err != nil {
				f.err = f.W.or().PictureUnreadable
				return
			}
			f.attach(pictureOf(v, true))
			f.drawing = false
			f.C.focus("comment")
		})
	})
}

// onPhoto shrinks the chosen photo (the browser decodes, turns it upright
// and re-encodes it) and attaches it.
func (f *PostForm) onPhoto(ctx app.Context, e app.Event) {
	input := ctx.JSSrc()
	files := input.Get("files")
	if !files.Truthy() || files.Length() == 0 {
		return
	}
	file := files.Index(0)
	f.busy, f.err = true, ""
	ctx.Async(func() {
		v, err := call(context.Background(), "shrink", file)
		ctx.Dispatch(func(ctx app.Context) {
			f.busy = false
			input.Set("value", "") // the same photo again is a change again
			if err != nil {
				f.err = f.W.or().PictureUnreadable
				return
			}
			f.attach(pictureOf(v, false))
		})
	})
}

// attach makes p the post's picture, in place of any other.
func (f *PostForm) attach(p *picture) {
	f.dropAttached()
	f.pic, f.err = p, ""
}

func (f *PostForm) onRemove(ctx app.Context, e app.Event) {
	f.dropAttached()
	f.C.focus("comment")
}

// dropAttached lets go of the attached picture: its object URL, and its
// kept bytes when it came back from a refused post.
func (f *PostForm) dropAttached() {
	p := f.pic
	f.pic = nil
	if p == nil {
		return
	}
	if p.blob == nil {
		keptPictures{}.Drop(p.img.Key)
		if f.C != nil {
			delete(f.C.pics, p.img.Key)
		}
		return
	}
	app.Window().Get("URL").Call("revokeObjectURL", p.url)
}
