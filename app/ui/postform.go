package ui

import (
	"strconv"
	"unicode/utf8"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

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
}

func (f *PostForm) Render() app.UI {
	if f.Board != f.board { // another board: its own draft, no old error
		f.board, f.drafted, f.err = f.Board, false, ""
	}
	if !f.touched {
		f.author = f.Author
	}
	if !f.drafted {
		f.draft = f.Draft
	}
	if f.Refill.Seq != f.refilled { // a refused post, back to be fixed
		f.draft, f.refilled = f.Refill.Text, f.Refill.Seq
	}
	n, w := utf8.RuneCountInString(f.draft), f.W.or()
	return app.Form().ID("post-form").Class("post").OnSubmit(f.onPost).Body(
		app.Textarea().ID("comment").Placeholder(w.WriteTopic).
			Attr("aria-label", w.Comment).Attr("rows", 3).
			Attr("aria-describedby", pick(f.err != "", "error", "")).
			Text(f.draft).OnInput(f.onDraft).OnKeyDown(f.onKey),
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
	if f.err != "" { // the message goes once the text is fixed
		in := shared.CreateTopic{Author: f.author, Comment: f.draft}
		if in.Normalize() == nil {
			f.err = ""
		}
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
// delivered — now, or when the network returns — exactly once.
func (f *PostForm) post(ctx app.Context) {
	if f.C == nil {
		return
	}
	if err := f.C.session.Post(f.author, f.draft); err != nil {
		f.err = f.W.or().errorText(err)
		return
	}
	f.err, f.draft, f.drafted = "", "", true
	clearField(ctx, "comment")
}

// Refill is text for the post form to take back; Seq tells two apart.
type Refill struct {
	Text string
	Seq  int
}

// submitKey reports Ctrl+Enter or ⌘+Enter, outside IME composition
// (isComposing, or the keyCode 229 that some browsers send instead).
func submitKey(e app.Event) bool {
	return e.Get("key").String() == "Enter" &&
		(e.Get("ctrlKey").Bool() || e.Get("metaKey").Bool()) &&
		!e.Get("isComposing").Bool() && e.Get("keyCode").Int() != 229
}
