package ui

import (
	"context"
	"strconv"
	"unicode/utf8"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"github.com/kairan/kairan/app/board"
	"github.com/kairan/kairan/app/sync"
	"github.com/kairan/kairan/shared"
)

// PostForm writes a new topic: the text, the name to post under, a count
// of characters, and the reason when a post cannot be sent. Ctrl+Enter
// (⌘+Enter) posts from the text box, never while an input method is
// composing (the Enter that picks a kanji is not a post).
type PostForm struct {
	app.Compo

	C *controls
	W *words
	// Board is the board posted to: a new one starts a new draft.
	Board string
	// Author is the name the person last posted under: the field starts
	// with it.
	Author string
	// Draft is the text left unposted on this board (kept across reloads):
	// the text box starts with it.
	Draft string
	// Refill is a refused post put back to be fixed (the field's DOM value
	// is set by controls.fill).
	Refill Refill

	refilled int // the Refill.Seq taken
	draft    string
	author   string
	touched  bool // the name field was edited on this page
	drafted  bool // the text box was edited (or posted from) on this page
	board    string
	err      string
	pic      *picture // attached, not posted yet
	busy     bool     // a picture is being prepared or kept
	drawing  bool     // the drawing pad is open
	colour   int      // of padColours
	thick    bool
}

func (f *PostForm) Render() app.UI {
	if f.Board != f.board { // another board: its own draft, no old error, no picture
		f.board, f.drafted, f.err, f.drawing = f.Board, false, "", false
		f.dropAttached()
	}
	if !f.touched {
		f.author = f.Author
	}
	if !f.drafted {
		f.draft = f.Draft
	}
	if f.Refill.Seq != f.refilled { // a refused post, back to be fixed
		f.draft, f.refilled = f.Refill.Text, f.Refill.Seq
		f.pic = nil
		if img := f.Refill.Image; img != nil { // its bytes are still kept
			f.pic = &picture{url: f.C.pictureURL(img.Key), img: *img}
		}
	}
	n, w := utf8.RuneCountInString(f.draft), f.W.or()
	// Every child stays in its place whether or not it shows anything:
	// go-app matches children by position, and a shift would replace the
	// drawing pad's canvas (and lose the drawing).
	return app.Form().ID("post-form").Class("post").OnSubmit(f.onPost).Body(
		app.Textarea().ID("comment").Placeholder(w.WriteTopic).
			Attr("aria-label", w.Comment).Attr("rows", 3).
			Attr("aria-describedby", pick(f.err != "", "error", "")).
			Text(f.draft).OnInput(f.onDraft).OnKeyDown(f.onKey),
		f.renderTools(w),
		app.Div().Class("attached").Body(app.If(f.pic != nil, func() app.UI { return f.renderAttached(w) })),
		app.Div().Class("draw-slot").Body(app.If(f.drawing, func() app.UI { return f.renderPad(w) })),
		app.Div().Class("post-row").Body(
			app.Input().ID("author").Type("text").Class("author-input").Placeholder(w.NameHint).
				Attr("aria-label", w.YourName).MaxLength(shared.MaxAuthorChars).
				Value(f.author).OnInput(f.onAuthor),
			app.Span().Class("count").Class(pick(n > shared.MaxCommentChars, "over", "")).
				Text(strconv.Itoa(n)+"/"+strconv.Itoa(shared.MaxCommentChars)),
			app.Button().ID("post-button").Type("submit").Class("primary").Disabled(!app.IsClient). // the app posts (page.go)

														Attr("aria-keyshortcuts", "Control+Enter Meta+Enter").Text(w.Post),
		),
		app.If(f.err != "", func() app.UI {
			return app.P().ID("error").Class("notice", "error").Attr("role", "alert").Text(f.err)
		}),
	)
}

func (f *PostForm) onDraft(ctx app.Context, e app.Event) {
	f.draft, f.drafted = ctx.JSSrc().Get("value").String(), true
	if f.C != nil {
		f.C.session.SaveDraft(f.draft)
	}
	if f.err != "" && board.CheckPost(f.author, f.draft, f.pic != nil) == nil { // the message goes once the text is fixed
		f.err = ""
	}
}

func (f *PostForm) onAuthor(ctx app.Context, e app.Event) {
	f.author, f.touched = ctx.JSSrc().Get("value").String(), true
}

func (f *PostForm) onKey(ctx app.Context, e app.Event) {
	if submitKey(e) {
		f.post(ctx)
	}
}

func (f *PostForm) onPost(ctx app.Context, e app.Event) { f.post(ctx) }

// post hands the topic to the session: it shows as pending at once and is
// delivered — now, or when the network returns — exactly once. A picture's
// bytes are kept in the browser first (IndexedDB), so the post survives a
// reload until the server has both.
func (f *PostForm) post(ctx app.Context) {
	if f.C == nil || f.busy {
		return
	}
	if f.pic == nil {
		if err := f.C.session.Post(f.author, f.draft); err != nil {
			f.err = f.W.or().errorText(err)
			return
		}
		f.posted(ctx)
		return
	}
	if err := board.CheckPost(f.author, f.draft, true); err != nil {
		f.err = f.W.or().errorText(err)
		return
	}
	pic, author, draft := f.pic, f.author, f.draft
	f.busy = true
	ctx.Async(func() {
		var err error
		if pic.blob != nil { // nil: taken back from a refused post, kept already
			_, err = call(context.Background(), "keep", pic.img.Key, pic.blob)
		}
		ctx.Dispatch(func(ctx app.Context) {
			f.busy = false
			if err == nil {
				err = f.C.session.PostPicture(author, draft, &pic.img)
			}
			if err != nil {
				f.err = f.W.or().errorText(err)
				if shared.AsError(err) == nil {
					f.err = f.W.or().PictureNotKept
				}
				return
			}
			if pic.url != "" {
				f.C.pics[pic.img.Key] = pic.url // shown while it waits
			}
			f.pic = nil
			f.posted(ctx)
		})
	})
}

func (f *PostForm) posted(ctx app.Context) {
	f.err, f.draft, f.drafted = "", "", true
	clearField(ctx, "comment")
}

// Refill is text for the post form to take back, with the post's picture
// (nil for none); Seq tells two apart.
type Refill struct {
	Text  string
	Image *sync.OpImage
	Seq   int
}

// submitKey reports Ctrl+Enter or ⌘+Enter, outside IME composition
// (isComposing, or the keyCode 229 that some browsers send instead).
func submitKey(e app.Event) bool {
	return e.Get("key").String() == "Enter" &&
		(e.Get("ctrlKey").Bool() || e.Get("metaKey").Bool()) &&
		!e.Get("isComposing").Bool() && e.Get("keyCode").Int() != 229
}
