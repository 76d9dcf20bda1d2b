package ui

import (
	"context"
	"net/url"
	"strconv"
	"sync/atomic"
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
	// moderatorKey (moderate.go) holds the moderator token.
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

	Author string
	Draft  string
	Error  string

	EditingID int64
	EditDraft string
	BoardGo   string

	// Status is the connection state the sync engine reports.
	Status sync.Status
	// UpdateReady: a new version is installed; reloading runs it.
	UpdateReady bool
	// Outbox holds this board's writes not yet delivered. Sent and
	// Deleted hold what this tab delivered that the replica does not show
	// yet.
	Outbox  sync.Outbox
	Sent    map[int64]shared.Topic
	Deleted map[int64]bool

	// Leader: this tab follows the board for all its tabs.
	Leader bool

	// ModToken is the moderator token while this person moderates (every
	// topic then offers a delete); ModForm shows the form to enter it.
	ModToken string
	ModForm  bool
	modDraft string

	api      client.Client
	replica  sync.Replica
	tabs     *sync.Tabs
	engine   atomic.Pointer[sync.Engine]  // the leader's
	courier  atomic.Pointer[sync.Courier] // the leader's
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
		p.Invalid = shared.Message(err)
	}
	ctx.Page().SetTitle(p.Board + " · kairan")
	p.Now = time.Now()
	if !app.IsClient || p.Invalid != "" {
		return
	}
	ctx.LocalStorage().Get(authorKey, &p.Author)
	p.ModToken = ""
	ctx.LocalStorage().Get(moderatorKey, &p.ModToken)
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

// onPost queues the post in the outbox: it shows as pending at once and the
// courier sends it — now, or when the network returns — with its
// Idempotency-Key, so it is created exactly once.
func (p *BoardPage) onPost(ctx app.Context, e app.Event) {
	in := shared.CreateTopic{Author: p.Author, Comment: p.Draft}
	if err := in.Normalize(); err != nil { // the server checks the same rules
		p.Error = shared.Message(err)
		return
	}
	ctx.LocalStorage().Set(authorKey, p.Author)
	p.Error, p.Draft = "", ""
	clearField(ctx, "comment")
	p.enqueue(sync.Op{Kind: sync.OpPost, Board: p.Board, Author: in.Author, Comment: in.Comment})
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
			p.Error = shared.Message(err)
			return
		}
		p.EditingID, p.EditDraft, p.Error = 0, "", ""
		p.enqueue(sync.Op{Kind: sync.OpEdit, Board: p.Board, TopicID: id, Comment: comment, Token: p.Owned[id]})
	}
}

// onDelete deletes with the owner's token, or as moderator with the
// moderator's. Tokens are read at the click: go-app may keep a handler
// from an earlier render.
func (p *BoardPage) onDelete(id int64, mod bool, question string) app.EventHandler {
	return func(ctx app.Context, e app.Event) {
		if !app.Window().Call("confirm", question).Bool() {
			return
		}
		token := p.Owned[id]
		if mod {
			token = p.ModToken
		}
		p.enqueue(sync.Op{Kind: sync.OpDelete, Board: p.Board, TopicID: id, Token: token})
	}
}

// onDiscard drops a failed op; "edit" puts a failed post's text back
// into the form first.
func (p *BoardPage) onDiscard(op sync.Op, edit bool) app.EventHandler {
	return func(ctx app.Context, e app.Event) {
		if edit {
			p.Draft = op.Comment
		}
		p.discard(op.Key)
	}
}

// discard drops an op here at once and through the leader's courier.
func (p *BoardPage) discard(key string) {
	p.Outbox.Remove(key) // shown at once; the courier confirms
	switch c := p.courier.Load(); {
	case p.tabs != nil:
		p.tabs.Drop(key)
	case c != nil:
		c.Discard(key)
	}
}

// enqueue shows op as pending at once and hands it to the leader's
// courier (this tab's, or another tab's through the tab channel).
func (p *BoardPage) enqueue(op sync.Op) {
	op.Key, op.Queued = sync.NewKey(), time.Now()
	p.Outbox.Add(op)
	switch c := p.courier.Load(); {
	case p.tabs != nil:
		p.tabs.Write(op)
	case c != nil:
		c.Enqueue(op)
	}
}

func (p *BoardPage) onGoBoard(ctx app.Context, e app.Event) {
	if err := shared.ValidateBoard(p.BoardGo); err != nil {
		p.Error = shared.Message(err)
		return
	}
	target := p.BoardGo
	p.BoardGo = ""
	clearField(ctx, "go-board")
	ctx.Navigate("/b/" + url.PathEscape(target))
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

func (p *BoardPage) remember(ctx app.Context, board string, id int64, token string) {
	if board == p.Board {
		if p.Owned == nil {
			p.Owned = map[int64]string{}
		}
		p.Owned[id] = token
	}
	p.saveTokens(ctx, func(all map[string]string) { all[board+"/"+strconv.FormatInt(id, 10)] = token })
}

func (p *BoardPage) forget(ctx app.Context, board string, id int64) {
	if board == p.Board {
		delete(p.Owned, id)
	}
	p.saveTokens(ctx, func(all map[string]string) { delete(all, board+"/"+strconv.FormatInt(id, 10)) })
}

func (p *BoardPage) saveTokens(ctx app.Context, change func(map[string]string)) {
	all := map[string]string{}
	ctx.LocalStorage().Get(tokensKey, &all)
	change(all)
	ctx.LocalStorage().Set(tokensKey, all)
}
