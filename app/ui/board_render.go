package ui

import (
	"math"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"github.com/kairan/kairan/app/sync"
	"github.com/kairan/kairan/shared"
)

// StatusText is the connection state in words: "live (SSE)",
// "live (polling)", "reconnecting in 3 s", "offline · last live 2 min ago".
func StatusText(s sync.Status, now time.Time) string {
	switch s.Mode {
	case sync.Reconnecting:
		secs := int(math.Ceil(s.RetryAt.Sub(now).Seconds()))
		if secs <= 0 {
			return "reconnecting…"
		}
		return "reconnecting in " + strconv.Itoa(secs) + " s"
	case sync.Connecting:
		return "connecting…"
	case sync.Offline:
		if s.LastLive.IsZero() {
			return "offline"
		}
		return "offline · last live " + Ago(now, s.LastLive)
	}
	return string(s.Mode)
}

func statusClass(m sync.Mode) string {
	switch m {
	case sync.LiveSSE, sync.LivePolling:
		return "live"
	case sync.Offline:
		return "offline"
	}
	return "waiting"
}

// Render draws the page from its fields alone. Every user text goes
// through app.Text, which sets text nodes: a comment of "<script>" shows
// those characters and runs nothing.
func (p *BoardPage) Render() app.UI {
	return app.Div().Class("page").Body(
		p.renderHeader(),
		app.If(p.ModToken != "", p.renderModeration),
		app.If(p.UpdateReady, func() app.UI {
			return app.Div().ID("update").Class("update").Attr("role", "status").Body(
				app.Span().Text("A new version of kairan is ready."),
				app.Button().ID("reload").Type("button").Class("primary").OnClick(p.onReload).Text("Reload"),
			)
		}),
		app.Main().Class("board").Body(
			app.If(p.Invalid != "", func() app.UI {
				return app.P().Class("notice", "error").Text(p.Invalid)
			}).Else(func() app.UI {
				return app.Div().Body(
					p.renderForm(),
					app.If(p.Error != "", func() app.UI {
						return app.P().ID("error").Class("notice", "error").Attr("role", "alert").Text(p.Error)
					}),
					p.renderTopics(),
				)
			}),
		),
		app.If(p.ModToken == "" && p.Invalid == "", p.renderFooter),
	)
}

func (p *BoardPage) renderHeader() app.UI {
	return app.Header().Class("bar").Body(
		app.A().Class("brand").Href("/").Text("kairan"),
		app.H1().Class("board-name").Text(p.Board),
		app.If(p.Invalid == "" && p.Status.Mode != "", func() app.UI {
			return app.Span().ID("status").Class("status", statusClass(p.Status.Mode)).
				Attr("role", "status").Attr("data-tab", pick(p.Leader, "leader", "follower")).
				Text(StatusText(p.Status, p.Now))
		}),
		app.Form().Class("go").OnSubmit(p.onGoBoard).Body(
			app.Input().ID("go-board").Type("text").Class("go-input").Placeholder("board…").
				Attr("aria-label", "Go to board").Attr("autocapitalize", "none").
				Value(p.BoardGo).OnInput(p.ValueTo(&p.BoardGo)),
			app.Button().Type("submit").Class("go-button").Text("Go"),
		),
	)
}

func (p *BoardPage) renderForm() app.UI {
	n := utf8.RuneCountInString(p.Draft)
	return app.Form().ID("post-form").Class("post").OnSubmit(p.onPost).Body(
		app.Textarea().ID("comment").Placeholder("Write a topic…").
			Attr("aria-label", "Comment").Attr("rows", 3).
			Text(p.Draft).OnInput(p.ValueTo(&p.Draft)),
		app.Div().Class("post-row").Body(
			app.Input().ID("author").Type("text").Class("author-input").Placeholder("Name (optional)").
				Attr("aria-label", "Your name").MaxLength(shared.MaxAuthorChars).
				Value(p.Author).OnInput(p.ValueTo(&p.Author)),
			app.Span().Class("count").Class(pick(n > shared.MaxCommentChars, "over", "")).
				Text(strconv.Itoa(n)+"/"+strconv.Itoa(shared.MaxCommentChars)),
			p.renderPostButton(),
		),
	)
}

func (p *BoardPage) renderPostButton() app.UI {
	return app.Button().ID("post-button").Type("submit").Class("primary").Text("Post")
}

func (p *BoardPage) renderTopics() app.UI {
	posts := p.queuedPosts()
	topics := p.shown()
	if !p.Loaded && len(topics) == 0 && len(posts) == 0 {
		return app.P().Class("notice").Text("Loading…")
	}
	if len(topics) == 0 && len(posts) == 0 {
		return app.P().Class("notice", "empty").Text("No topics yet. Be the first to post.")
	}
	return app.Ul().ID("topics").Class("topics").Body(
		app.Range(posts).Slice(func(i int) app.UI { return p.renderQueuedPost(posts[i]) }),
		app.Range(topics).Slice(func(i int) app.UI { return p.renderTopic(topics[i]) }),
	)
}

// renderQueuedPost shows a post that has not reached the server: pending
// (it will be sent), or failed with the server's reason.
func (p *BoardPage) renderQueuedPost(op sync.Op) app.UI {
	failed := op.Failed != ""
	state := "pending"
	if failed {
		state = "failed"
	}
	return app.Li().ID("op-"+op.Key).Class("topic", state).Body(
		app.Div().Class("meta").Body(
			app.Span().Class("author").Text(op.Author),
			app.Span().Class("badge", state).Text(pick(failed, "not posted", p.pendingText())),
		),
		app.P().Class("comment").Text(op.Comment),
		app.If(failed, func() app.UI { return p.renderRefused(op, op.Failed) }),
	)
}

// renderRefused says why the server refused op for good and lets the
// person drop it; a post can go back into the form instead.
func (p *BoardPage) renderRefused(op sync.Op, why string) app.UI {
	return app.Div().Body(
		app.P().Class("why").Text(why),
		app.Div().Class("actions").Body(
			app.If(op.Kind == sync.OpPost, func() app.UI {
				return app.Button().Type("button").Class("retry-edit").OnClick(p.onDiscard(op, true), app.EventScope(op.Key)).Text("Edit")
			}),
			app.Button().Type("button").Class("discard").OnClick(p.onDiscard(op, false), app.EventScope(op.Key)).Text("Discard"),
		),
	)
}

// pick returns a if cond, else b. (A map[bool]string literal reads the same
// but builds a map on every render.)
func pick(cond bool, a, b string) string {
	if cond {
		return a
	}
	return b
}

// pendingText says why a write waits.
func (p *BoardPage) pendingText() string {
	switch p.Status.Mode {
	case sync.LiveSSE, sync.LivePolling:
		return "sending…"
	}
	return "pending · sent when back online"
}

// renderTopic draws one topic. Its handlers capture the topic, and go-app
// keeps a handler whose function is unchanged when a list item is reused
// for another topic (a new topic on top shifts them all): the EventScope
// of the topic's id makes it replace them, or a click would act on the
// topic that was there before.
func (p *BoardPage) renderTopic(st shownTopic) app.UI {
	t := st.Topic
	_, owned := p.Owned[t.ID]
	editing := owned && p.EditingID == t.ID && st.state == ""
	failed := st.failed.Key != ""
	return app.Li().ID("topic-"+strconv.FormatInt(t.ID, 10)).Class("topic", st.state).Class(pick(failed, "failed", "")).Body(
		app.Div().Class("meta").Body(
			app.Span().Class("author").Text(t.Author),
			app.Time().Class("when").DateTime(t.CreatedAt.Format(time.RFC3339)).
				Title(t.CreatedAt.Local().Format("Mon 2 Jan 2006 15:04")).Text(Ago(p.Now, t.CreatedAt)),
			app.If(!t.UpdatedAt.Equal(t.CreatedAt), func() app.UI {
				return app.Span().Class("edited").Title("edited " + t.UpdatedAt.Local().Format("Mon 2 Jan 2006 15:04")).Text("edited")
			}),
		),
		app.If(editing, func() app.UI {
			return app.Form().Class("edit").OnSubmit(p.onSave(t.ID), app.EventScope(t.ID)).Body(
				app.Textarea().Class("edit-text").Attr("aria-label", "Edit comment").Attr("rows", 3).
					Text(p.EditDraft).OnInput(p.ValueTo(&p.EditDraft)),
				app.Div().Class("actions").Body(
					app.Button().Type("submit").Class("primary").Text("Save"),
					app.Button().Type("button").OnClick(p.onCancelEdit).Text("Cancel"),
				),
			)
		}).Else(func() app.UI {
			return app.P().Class("comment").Text(t.Comment)
		}),
		app.If(failed, func() app.UI {
			return p.renderRefused(st.failed, pick(st.failed.Kind == sync.OpDelete, "Not deleted: ", "Not saved: ")+st.failed.Failed)
		}),
		app.If(owned && !editing && st.state == "", func() app.UI {
			return app.Div().Class("actions").Body(
				app.Button().Type("button").Class("edit-button").OnClick(p.onEdit(t.ID, t.Comment), app.EventScope(t.ID)).Text("Edit"),
				app.Button().Type("button").Class("delete-button").
					OnClick(p.onDelete(t.ID, false, "Delete this topic for everyone?"), app.EventScope(t.ID)).Text("Delete"),
			)
		}).ElseIf(p.ModToken != "" && !owned && st.state == "", func() app.UI {
			return app.Div().Class("actions").Body(
				app.Button().Type("button").Class("delete-button", "mod-delete").
					OnClick(p.onDelete(t.ID, true, "Delete this topic by "+t.Author+" for everyone, as moderator?"), app.EventScope(t.ID)).
					Text("Delete as moderator"),
			)
		}),
	)
}
