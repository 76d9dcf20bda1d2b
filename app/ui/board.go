package ui

import (
	"context"
	"crypto/rand"
	"net/url"
	"strconv"
	"time"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"github.com/kairan/kairan/app/client"
	"github.com/kairan/kairan/app/sync"
	"github.com/kairan/kairan/shared"
)

// Local storage keys.
const (
	authorKey = "kairan/author"
	tokensKey = "kairan/tokens" // map "board/id" → owner token
)

// BoardPage shows one board: the post form and the topics, newest first.
// Exported fields are its whole render state.
type BoardPage struct {
	app.Compo

	Board   string
	Invalid string // why Board is not a board name, if it is not
	Topics  []shared.Topic
	Loaded  bool
	// Owned holds owner tokens of this board's topics by id.
	Owned map[int64]string
	// Now is the time relative times are shown against.
	Now time.Time

	Author  string
	Draft   string
	Posting bool
	Error   string

	EditingID int64
	EditDraft string
	BoardGo   string

	// Status is the connection state the sync engine reports.
	Status sync.Status
	// UpdateReady: a new version is installed; reloading runs it.
	UpdateReady bool

	api      client.Client
	engine   *sync.Engine
	stop     context.CancelFunc
	stopped  chan struct{}
	counting bool
	unwatch  func()
}

// OnNav runs on the server (prerender) and in the browser; only the
// browser loads data, so the prerendered page never waits on the API.
func (p *BoardPage) OnNav(ctx app.Context) {
	p.Board = boardFromPath(ctx.Page().URL().Path)
	p.Invalid = ""
	if err := shared.ValidateBoard(p.Board); err != nil {
		p.Invalid = err.(*shared.Error).Message
	}
	ctx.Page().SetTitle(p.Board + " · kairan")
	p.Now = time.Now()
	if !app.IsClient || p.Invalid != "" {
		return
	}
	ctx.LocalStorage().Get(authorKey, &p.Author)
	p.Owned = loadOwned(ctx, p.Board)
	p.Topics, p.Loaded, p.Error = nil, false, ""
	p.startSync(ctx)
	if p.unwatch == nil {
		p.unwatch = p.watchBrowser()
	}
}

// OnMount asks the service worker to look for a new version now and every
// ten minutes (go-app v10 only checks when told to).
func (p *BoardPage) OnMount(ctx app.Context) {
	p.UpdateReady = ctx.AppUpdateAvailable()
	var check func(app.Context)
	check = func(ctx app.Context) {
		app.TryUpdate()
		ctx.After(10*time.Minute, check)
	}
	check(ctx)
}

// OnAppUpdate runs when a new version has been installed and activated.
func (p *BoardPage) OnAppUpdate(ctx app.Context) {
	p.UpdateReady = ctx.AppUpdateAvailable()
}

func (p *BoardPage) onReload(ctx app.Context, e app.Event) { ctx.Reload() }

// OnDismount stops following the board.
func (p *BoardPage) OnDismount() {
	p.stopSync()
	if p.unwatch != nil {
		p.unwatch()
		p.unwatch = nil
	}
}

func (p *BoardPage) onPost(ctx app.Context, e app.Event) {
	if p.Posting {
		return
	}
	in := shared.CreateTopic{Author: p.Author, Comment: p.Draft}
	if err := in.Normalize(); err != nil { // the server checks the same rules
		p.Error = message(err)
		return
	}
	ctx.LocalStorage().Set(authorKey, p.Author)
	p.Posting, p.Error = true, ""
	board, key := p.Board, rand.Text() // one key per attempt: a retried request posts once
	ctx.Async(func() {
		created, err := p.api.Post(context.Background(), board, in, key)
		ctx.Dispatch(func(ctx app.Context) {
			p.Posting = false
			if err != nil {
				p.Error = message(err)
				return
			}
			p.Draft = ""
			clearField(ctx, "comment")
			p.remember(ctx, created.Topic.ID, created.OwnerToken)
			p.upsert(created.Topic)
		})
	})
}

func (p *BoardPage) onEdit(id int64, comment string) app.EventHandler {
	return func(ctx app.Context, e app.Event) {
		p.EditingID, p.EditDraft, p.Error = id, comment, ""
	}
}

func (p *BoardPage) onCancelEdit(ctx app.Context, e app.Event) {
	p.EditingID, p.EditDraft = 0, ""
}

func (p *BoardPage) onSave(id int64) app.EventHandler {
	return func(ctx app.Context, e app.Event) {
		comment, err := shared.NormalizeComment(p.EditDraft)
		if err != nil {
			p.Error = message(err)
			return
		}
		board, token := p.Board, p.Owned[id]
		ctx.Async(func() {
			topic, err := p.api.Edit(context.Background(), board, id, comment, token)
			ctx.Dispatch(func(ctx app.Context) {
				if err != nil {
					p.Error = message(err)
					return
				}
				p.EditingID, p.EditDraft, p.Error = 0, "", ""
				p.upsert(topic)
			})
		})
	}
}

func (p *BoardPage) onDelete(id int64) app.EventHandler {
	return func(ctx app.Context, e app.Event) {
		if !app.Window().Call("confirm", "Delete this topic for everyone?").Bool() {
			return
		}
		board, token := p.Board, p.Owned[id]
		ctx.Async(func() {
			err := p.api.Delete(context.Background(), board, id, token)
			ctx.Dispatch(func(ctx app.Context) {
				if err != nil && shared.ErrorCode(err) != shared.CodeNotFound {
					p.Error = message(err)
					return
				}
				p.remove(id)
				p.forget(ctx, id)
			})
		})
	}
}

func (p *BoardPage) onGoBoard(ctx app.Context, e app.Event) {
	if err := shared.ValidateBoard(p.BoardGo); err != nil {
		p.Error = message(err)
		return
	}
	target := p.BoardGo
	p.BoardGo = ""
	clearField(ctx, "go-board")
	ctx.Navigate("/b/" + url.PathEscape(target))
}

// upsert puts t in its place in the newest-first list.
func (p *BoardPage) upsert(t shared.Topic) {
	topics := make([]shared.Topic, 0, len(p.Topics)+1)
	placed := false
	for _, x := range p.Topics {
		switch {
		case x.ID == t.ID:
			continue
		case !placed && x.ID < t.ID:
			topics, placed = append(topics, t), true
		}
		topics = append(topics, x)
	}
	if !placed {
		topics = append(topics, t)
	}
	p.Topics = topics
}

func (p *BoardPage) remove(id int64) {
	topics := make([]shared.Topic, 0, len(p.Topics))
	for _, x := range p.Topics {
		if x.ID != id {
			topics = append(topics, x)
		}
	}
	p.Topics = topics
}

func loadOwned(ctx app.Context, board string) map[int64]string {
	all := map[string]string{}
	ctx.LocalStorage().Get(tokensKey, &all)
	owned := map[int64]string{}
	prefix := board + "/"
	for k, tok := range all {
		if len(k) > len(prefix) && k[:len(prefix)] == prefix {
			if id, err := strconv.ParseInt(k[len(prefix):], 10, 64); err == nil {
				owned[id] = tok
			}
		}
	}
	return owned
}

func (p *BoardPage) remember(ctx app.Context, id int64, token string) {
	if p.Owned == nil {
		p.Owned = map[int64]string{}
	}
	p.Owned[id] = token
	p.saveTokens(ctx, func(all map[string]string) { all[p.Board+"/"+strconv.FormatInt(id, 10)] = token })
}

func (p *BoardPage) forget(ctx app.Context, id int64) {
	delete(p.Owned, id)
	p.saveTokens(ctx, func(all map[string]string) { delete(all, p.Board+"/"+strconv.FormatInt(id, 10)) })
}

func (p *BoardPage) saveTokens(ctx app.Context, change func(map[string]string)) {
	all := map[string]string{}
	ctx.LocalStorage().Get(tokensKey, &all)
	change(all)
	ctx.LocalStorage().Set(tokensKey, all)
}

// message is what a person reads for an error.
func message(err error) string {
	if e, ok := err.(*shared.Error); ok {
		return e.Message
	}
	return err.Error()
}
