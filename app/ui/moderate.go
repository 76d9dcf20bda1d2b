package ui

import (
	"strings"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"github.com/kairan/kairan/app/board"
)

// Moderator mode. The moderator pastes the token the server was started
// with; the session asks the server (GET /api/moderator) before any
// delete is offered, so a wrong token is said at once. The token is kept
// in local storage for every board of this origin, like owner tokens, and
// is never rendered: the field is a password field whose value is not bound.

// ModeratorBar says where moderation stands: checking, on, not checked
// yet (the server is out of reach), or refused.
type ModeratorBar struct {
	app.Compo

	State board.Moderation
	Note  string
	C     *controls
	W     *words
}

func (b *ModeratorBar) Render() app.UI {
	refused, w := b.State == board.ModRefused, b.W.or()
	text := moderationText(b.State, w)
	if b.Note != "" && w == english { // the server's words; in Japanese the state says enough
		text += " " + b.Note
	}
	return app.Div().ID("moderation").Class("moderation", pick(refused, "refused", "")).
		Attr("role", pick(refused, "alert", "status")).Attr("data-state", string(b.State)).Body(
		app.Span().Text(text),
		app.Button().ID("stop-moderating").Type("button").OnClick(b.onStop).
			Text(pick(refused, w.Dismiss, w.StopModerating)),
	)
}

func moderationText(m board.Moderation, w *words) string {
	switch m {
	case board.ModChecking:
		return w.ModChecking
	case board.ModUnverified:
		return w.ModUnverified
	case board.ModRefused:
		return w.ModRefused
	}
	return w.ModOn
}

func (b *ModeratorBar) onStop(ctx app.Context, e app.Event) {
	if b.C != nil {
		b.C.session.StopModerating()
	}
}

// ModeratorForm is the discreet way in, at the foot of the page: a
// link-like button that opens the token form.
type ModeratorForm struct {
	app.Compo

	C *controls
	W *words

	open  bool
	draft string
}

func (f *ModeratorForm) Render() app.UI {
	w := f.W.or()
	return app.Div().Class("moderate-way").Body(
		app.If(f.open, func() app.UI {
			return app.Form().ID("moderate-form").Class("moderate").OnSubmit(f.onStart).Body(
				app.Input().ID("moderator-token").Type("password").Class("token-input").
					Placeholder(w.ModeratorToken).Attr("aria-label", w.ModeratorToken).
					Attr("autocomplete", "off").Required(true).OnInput(f.onDraft),
				app.Button().Type("submit").Class("primary").Text(w.Moderate),
				app.Button().Type("button").OnClick(f.onCancel).Text(w.Cancel),
			)
		}).Else(func() app.UI {
			return app.Button().ID("moderate").Type("button").Class("link").OnClick(f.onOpen).Text(w.Moderate)
		}),
	)
}

func (f *ModeratorForm) onOpen(ctx app.Context, e app.Event) {
	f.open = true
	f.C.focus("moderator-token")
}

func (f *ModeratorForm) onCancel(ctx app.Context, e app.Event) {
	f.open, f.draft = false, ""
	f.C.focus("moderate")
}

func (f *ModeratorForm) onDraft(ctx app.Context, e app.Event) {
	f.draft = ctx.JSSrc().Get("value").String()
}

func (f *ModeratorForm) onStart(ctx app.Context, e app.Event) {
	token := strings.TrimSpace(f.draft) // a pasted token often ends in a newline
	if token == "" || f.C == nil {
		return
	}
	f.open, f.draft = false, ""
	f.C.session.Moderate(token)
	f.C.focus("stop-moderating")
}
