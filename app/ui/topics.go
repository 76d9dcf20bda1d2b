package ui

import (
	"strconv"
	"time"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"github.com/kairan/kairan/app/board"
	"github.com/kairan/kairan/app/sync"
	"github.com/kairan/kairan/shared"
)

// TopicList shows the board: the posts still on their way, then the
// topics, newest first.
type TopicList struct {
	app.Compo

	View    board.View
	Now     time.Time
	C       *controls
	W       *words
	Editing int64
	// Pics changes when a kept picture of a waiting post has been read,
	// so the list shows it.
	Pics int
}

func (l *TopicList) Render() app.UI {
	v, w := l.View, l.W.or()
	if !v.Loaded && len(v.Topics) == 0 && len(v.Posts) == 0 {
		return app.P().Class("notice").Text(w.Loading)
	}
	if len(v.Topics) == 0 && len(v.Posts) == 0 && v.Complete {
		return app.P().ID("topics").Class("notice", "empty").Attr("tabindex", -1).Text(w.Empty)
	}
	return app.Div().Body(
		app.Ul().ID("topics").Class("topics").Attr("tabindex", -1).Attr("aria-label", w.Topics).Body(
			app.Range(v.Posts).Slice(func(i int) app.UI {
				return renderQueuedPost(l.C, w, v.Posts[i], v.Status.Mode == sync.Live && v.Online)
			}),
			app.Range(v.Topics).Slice(func(i int) app.UI {
				t := v.Topics[i]
				return &TopicItem{T: t, Now: l.Now, C: l.C, W: l.W, Next: nextFocus(v.Topics, i),
					Editing:    l.Editing == t.ID && t.Owned && t.State != "deleting",
					Moderating: v.Moderation.Moderating()}
			}),
		),
		app.If(!v.Complete, l.renderOlder),
	)
}

// renderOlder offers the page of topics before the oldest shown, until
// the board's oldest is.
func (l *TopicList) renderOlder() app.UI {
	v, c, w := l.View, l.C, l.W.or()
	older := func(ctx app.Context, e app.Event) {
		if c != nil {
			c.session.Older()
		}
	}
	return app.Div().Class("older").Body(
		app.Button().ID("older").Type("button").Attr("aria-disabled", pick(v.OlderBusy, "true", "")).
			OnClick(older).Text(pick(v.OlderBusy, w.OlderLoading, w.Older)),
		app.If(v.OlderErr != "", func() app.UI {
			return app.P().Class("why").Attr("role", "alert").Text(w.OlderFailed + v.OlderErr)
		}),
	)
}

// nextFocus is where the keyboard goes when topic i is deleted: the topic
// after it, else the one before, else the list.
func nextFocus(ts []board.Topic, i int) string {
	switch {
	case i+1 < len(ts):
		return topicID(ts[i+1].ID)
	case i > 0:
		return topicID(ts[i-1].ID)
	}
	return "topics"
}

func topicID(id int64) string { return "topic-" + strconv.FormatInt(id, 10) }

// renderQueuedPost shows a post that has not reached the server: pending
// (it will be sent), or failed with the server's reason.
func renderQueuedPost(c *controls, w *words, op sync.Op, live bool) app.UI {
	failed := op.Failed != ""
	state := pick(failed, "failed", "pending")
	return app.Li().ID("op-"+op.Key).Class("topic", state).Body(
		app.Div().Class("meta").Body(
			app.Bdi().Class("author").Text(pick(op.Author == "", "anonymous", op.Author)),
			app.Span().Class("badge", state).Text(pick(failed, w.NotPosted, pick(live, w.Sending, w.Waiting))),
		),
		app.If(op.Comment != "", func() app.UI { return app.P().Class("comment").Text(op.Comment) }),
		app.If(op.Image != nil, func() app.UI {
			img, by := op.Image, pick(op.Author == "", "anonymous", op.Author)
			// Laid out at its size at once; the picture fills in when read.
			return renderPicture(c.pictureURL(img.Key), "", pick(img.Drawing, w.DrawingBy(by), w.PhotoBy(by)), img.Width, img.Height)
		}),
		app.If(failed, func() app.UI { return renderRefused(c, w, op, w.refusal(op)) }),
	)
}

// renderRefused says why the server refused op for good and lets the
// person drop it, or put a post back into the form.
func renderRefused(c *controls, w *words, op sync.Op, why string) app.UI {
	discard := func(ctx app.Context, e app.Event) {
		if c != nil {
			c.session.Discard(op.Key)
		}
	}
	// A refused post can go back into the form, to fix and send again.
	refill := func(ctx app.Context, e app.Event) {
		if c != nil {
			c.refill = Refill{Text: op.Comment, Image: op.Image, Seq: c.refill.Seq + 1}
			c.session.Retract(op.Key)                                         // its picture stays kept, for the form
			ctx.Dispatch(func(app.Context) { c.fill("comment", op.Comment) }) // the page re-renders the form
		}
	}
	return app.Div().Body(
		app.P().Class("why").Text(why),
		app.Div().Class("actions").Body(
			app.If(op.Kind == sync.OpPost, func() app.UI {
				return app.Button().Type("button").Class("retry-edit").OnClick(refill, app.EventScope(op.Key)).Text(w.Edit)
			}),
			app.Button().Type("button").Class("discard").OnClick(discard, app.EventScope(op.Key)).Text(w.Discard),
		),
	)
}

// TopicItem is one topic: who, when, what, and what this browser may do
// with it (edit and delete its own; delete any as moderator).
type TopicItem struct {
	app.Compo

	T          board.Topic
	Now        time.Time
	C          *controls
	W          *words
	Next       string // where focus goes after a delete
	Editing    bool
	Moderating bool
}

// Render draws the topic. Its handlers capture the topic, and go-app keeps
// a handler whose function is unchanged when a list item is reused for
// another topic (a new topic on top shifts them all): the EventScope of
// the topic's id makes it replace them, or a click would act on the topic
// that was there before.
func (it *TopicItem) Render() app.UI {
	t, w := it.T, it.W.or()
	failed := t.Failed.Key != ""
	return app.Li().ID(topicID(t.ID)).Class("topic", t.State).Class(pick(failed, "failed", "")).Attr("tabindex", -1).Body(
		app.Div().Class("meta").Body(
			app.Bdi().Class("author").Text(t.Author),
			// tabindex: a tap (or Tab) shows the absolute time, which a
			// phone has no hover to reveal (app.css).
			app.Time().Class("when").DateTime(t.CreatedAt.Format(time.RFC3339)).Attr("tabindex", 0).
				Title(t.CreatedAt.Local().Format(w.Stamp)).Text(w.ago(it.Now, t.CreatedAt)),
			app.If(!t.UpdatedAt.Equal(t.CreatedAt), func() app.UI {
				return app.Span().Class("edited").Title(w.Edited + " " + t.UpdatedAt.Local().Format(w.Stamp)).Text(w.Edited)
			}),
		),
		app.If(it.Editing, it.renderEditor).ElseIf(t.Comment != "", func() app.UI {
			return app.P().Class("comment").Text(t.Comment)
		}),
		app.If(t.Image != nil, func() app.UI {
			img := t.Image
			alt := pick(img.Type == shared.TypePNG, w.DrawingBy(t.Author), w.PhotoBy(t.Author))
			return renderPicture(imageURL(img.ID, true), imageURL(img.ID, false), alt, img.Width, img.Height)
		}),
		app.If(failed, func() app.UI {
			return renderRefused(it.C, w, t.Failed, pick(t.Failed.Kind == sync.OpDelete, w.NotDeleted, w.NotSaved)+w.refusal(t.Failed))
		}),
		// While its delete is on its way its buttons stay, marked
		// unavailable rather than removed: the keyboard focus may be on them.
		// An edit on its way changes nothing: a second edit or a delete
		// queues behind it.
		app.If(t.Owned && !it.Editing, func() app.UI {
			busy := pick(t.State == "deleting", "true", "")
			return app.Div().Class("actions").Body(
				app.Button().ID("edit-button-"+strconv.FormatInt(t.ID, 10)).Type("button").Class("edit-button").
					Attr("aria-disabled", busy).OnClick(it.onEdit, app.EventScope(t.ID, t.State)).Text(w.Edit),
				app.Button().Type("button").Class("delete-button").Attr("aria-disabled", busy).
					OnClick(it.onDelete(false, w.DeleteQ), app.EventScope(t.ID, t.State)).Text(w.Delete),
			)
		}).ElseIf(it.Moderating && !t.Owned && t.State == "", func() app.UI {
			return app.Div().Class("actions").Body(
				app.Button().Type("button").Class("delete-button", "mod-delete").
					OnClick(it.onDelete(true, w.DeleteModQ(isolate(t.Author))), app.EventScope(t.ID)).
					Text(w.DeleteAsModerator),
			)
		}),
	)
}

func (it *TopicItem) renderEditor() app.UI {
	t, c, w := it.T, it.C, it.W.or()
	id := strconv.FormatInt(t.ID, 10)
	return app.Form().Class("edit").OnSubmit(it.onSave, app.EventScope(t.ID)).Body(
		app.Textarea().ID("edit-"+id).Class("edit-text").Attr("aria-label", w.EditComment).Attr("rows", 3).
			Attr("aria-keyshortcuts", "Control+Enter Meta+Enter Escape").
			Text(c.editDraft).OnInput(it.onEditDraft, app.EventScope(t.ID)).OnKeyDown(it.onEditKey, app.EventScope(t.ID)),
		app.If(c.editErr != "", func() app.UI {
			return app.P().Class("notice", "error").Attr("role", "alert").Text(c.editErr)
		}),
		app.Div().Class("actions").Body(
			app.Button().Type("submit").Class("primary").Text(w.Save),
			app.Button().Type("button").OnClick(it.onCancel, app.EventScope(t.ID)).Text(w.Cancel),
		),
	)
}

// onEdit opens the editor with the topic's text and puts the cursor in it.
func (it *TopicItem) onEdit(ctx app.Context, e app.Event) {
	t, c := it.T, it.C
	if t.State == "deleting" {
		return
	}
	ctx.Dispatch(func(ctx app.Context) { // the page re-renders: one editor at a time
		c.editing, c.editDraft, c.editErr = t.ID, t.Comment, ""
		c.focus("edit-" + strconv.FormatInt(t.ID, 10))
	})
}

func (it *TopicItem) onEditDraft(ctx app.Context, e app.Event) {
	it.C.editDraft = ctx.JSSrc().Get("value").String()
}

// onEditKey: Escape cancels, Ctrl/⌘+Enter saves.
func (it *TopicItem) onEditKey(ctx app.Context, e app.Event) {
	switch {
	case e.Get("key").String() == "Escape" && !e.Get("isComposing").Bool():
		it.onCancel(ctx, e)
	case submitKey(e):
		it.onSave(ctx, e)
	}
}

func (it *TopicItem) onSave(ctx app.Context, e app.Event) {
	t, c := it.T, it.C
	if err := c.session.Edit(t.ID, c.editDraft); err != nil {
		c.editErr = it.W.or().errorText(err)
		return
	}
	it.closeEditor(ctx)
}

func (it *TopicItem) onCancel(ctx app.Context, e app.Event) { it.closeEditor(ctx) }

// closeEditor ends editing and gives the keyboard back to the Edit button.
func (it *TopicItem) closeEditor(ctx app.Context) {
	t, c := it.T, it.C
	ctx.Dispatch(func(ctx app.Context) {
		c.editing, c.editDraft, c.editErr = 0, "", ""
		c.focus("edit-button-" + strconv.FormatInt(t.ID, 10))
	})
}

// onDelete asks first, then deletes with the owner's token, or as
// moderator with the moderator's; the keyboard moves on to the next topic.
func (it *TopicItem) onDelete(asModerator bool, question string) app.EventHandler {
	t, c, next := it.T, it.C, it.Next
	return func(ctx app.Context, e app.Event) {
		if t.State == "deleting" {
			return
		}
		if !app.Window().Call("confirm", question).Bool() {
			return
		}
		c.session.Delete(t.ID, asModerator)
		c.focus(next)
		// When the topic leaves the list go-app reuses the list's nodes,
		// and the one holding the focus may go: focus it again then.
		c.refocus, c.refocusAfter = next, t.ID
	}
}

// isolate wraps a name for plain text (a confirm dialog has no <bdi>):
// first-strong isolate … pop isolate, so a right-to-left name cannot
// reorder the question around it.
func isolate(name string) string { return "\u2068" + name + "\u2069" }
