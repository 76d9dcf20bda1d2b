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
}

func (b *ModeratorBar) Render() app.UI {
	refused := b.State == board.ModRefused
	text := moderationText(b.State)
	if b.Note != "" {
		text += " " + b.Note
	}
	return app.Div().ID("moderation").Class("moderation", pick(refused, "refused", "")).
		Attr("role", pick(refused, "alert", "status")).Attr("data-state", string(b.State)).Body(
		app.Span().Text(text),
		app.Button().ID("stop-moderating").Type("button").OnClick(b.onStop).
			Text(pick(refused, "Dismiss", "Stop moderating")),
	)
}

func moderationText(m board.Moderation) string {
	switch m {
	case board.ModChecking:
		return "Checking the moderator token…"
	case board.ModUnverified:
		return "Moderator mode: the token will be checked when the server can be reached."
	case board.ModRefused:
		return "That is not the moderator token, so nothing can be deleted with it."
	}
	return "Moderator mode: you can delete any topic."
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

	open  bool
	draft string
}

func (f *ModeratorForm) Render() app.UI {
	// A div in the contentinfo role is the landmark a <footer> would be,
	// without linking go-app's footer element type (~2 KB brotli).
	return app.Div().Class("foot").Attr("role", "contentinfo").Body(
		app.If(f.open, func() app.UI {
			return app.Form().ID("moderate-form").Class("moderate").OnSubmit(f.onStart).Body(
				app.Input().ID("moderator-token").Type("password").Class("token-input").
					Placeholder("Moderator token").Attr("aria-label", "Moderator token").
					Attr("autocomplete", "off").Required(true).OnInput(f.onDraft),
				app.Button().Type("submit").Class("primary").Text("Moderate"),
				app.Button().Type("button").OnClick(f.onCancel).Text("Cancel"),
			)
		}).Else(func() app.UI {
			return app.Button().ID("moderate").Type("button").Class("link").OnClick(f.onOpen).Text("Moderate")
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
