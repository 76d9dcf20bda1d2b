package ui

import (
	"slices"
	"strings"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"github.com/kairan/kairan/app/sync"
)

// Moderator mode. The moderator pastes the token the server was started
// with; from then on every topic offers a delete, sent through the outbox
// like the owner's (pending offline, delivered once, from any tab) but
// carrying the moderator token. Nothing asks the server whether the token
// is right: the first delete tells. The token is kept in local storage for
// every board of this origin, like owner tokens, and is never rendered:
// the field is a password field whose value is not bound.

const moderatorKey = "kairan/moderator" // the moderator token, for all boards

// modRefused reports whether op is a delete sent with the moderator token
// that the server refused. A delete that carries a token is refused for
// good only with 403 (unauthorized means no token, not_found counts as
// done), so such an op means the token was not accepted.
func modRefused(op sync.Op, token string) bool {
	return token != "" && op.Kind == sync.OpDelete && op.Token == token && op.Failed != ""
}

func (p *BoardPage) onModerate(ctx app.Context, e app.Event) { p.ModForm = true }

func (p *BoardPage) onCancelModerate(ctx app.Context, e app.Event) {
	p.ModForm, p.modDraft = false, ""
}

func (p *BoardPage) onStartModerating(ctx app.Context, e app.Event) {
	token := strings.TrimSpace(p.modDraft) // a pasted token often ends in a newline
	if token == "" {
		return
	}
	p.ModToken, p.ModForm, p.modDraft = token, false, ""
	ctx.LocalStorage().Set(moderatorKey, token)
}

// onStopModerating forgets the token on every board; this board's deletes
// it got refused are dropped too, since they can never go through.
func (p *BoardPage) onStopModerating(ctx app.Context, e app.Event) {
	for _, op := range p.Outbox.Clone().Ops {
		if modRefused(op, p.ModToken) {
			p.discard(op.Key)
		}
	}
	p.ModToken = ""
	ctx.LocalStorage().Del(moderatorKey)
}

// renderModeration says that deletes act as moderator, or that the server
// did not accept the token.
func (p *BoardPage) renderModeration() app.UI {
	refused := slices.ContainsFunc(p.Outbox.Ops, func(op sync.Op) bool { return modRefused(op, p.ModToken) })
	return app.Div().ID("moderation").Class("moderation", pick(refused, "refused", "")).
		Attr("role", pick(refused, "alert", "status")).Body(
		app.Span().Text(pick(refused,
			"The server did not accept the moderator token: nothing was deleted.",
			"Moderator mode: you can delete any topic.")),
		app.Button().ID("stop-moderating").Type("button").OnClick(p.onStopModerating).Text("Stop moderating"),
	)
}

// renderFooter holds the discreet way in: a link-like button that opens
// the token form.
func (p *BoardPage) renderFooter() app.UI {
	return app.Div().Class("foot").Body(
		app.If(p.ModForm, func() app.UI {
			return app.Form().ID("moderate-form").Class("moderate").OnSubmit(p.onStartModerating).Body(
				app.Input().ID("moderator-token").Type("password").Class("token-input").
					Placeholder("Moderator token").Attr("aria-label", "Moderator token").
					Attr("autocomplete", "off").Required(true).OnInput(p.ValueTo(&p.modDraft)),
				app.Button().Type("submit").Class("primary").Text("Moderate"),
				app.Button().Type("button").OnClick(p.onCancelModerate).Text("Cancel"),
			)
		}).Else(func() app.UI {
			return app.Button().ID("moderate").Type("button").Class("link").OnClick(p.onModerate).Text("Moderate")
		}),
	)
}
