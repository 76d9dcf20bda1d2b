package ui

import (
	"context"
	"crypto/rand"
	"time"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"github.com/kairan/kairan/app/sync"
	"github.com/kairan/kairan/shared"
)

// The page follows its board through app/sync. Of all tabs open on one
// board, one leads (sync.Tabs): it runs the engine (the one event stream)
// and the courier (the outbox), and shares replica, status and outbox with
// the other tabs, which only render what they hear. Updates from those
// goroutines come back to the UI goroutine through ctx.Dispatch. Replica
// and outbox are go-app state persisted to local storage, so a reload, an
// offline start or a new leader continues where the last one stopped.

func replicaKey(board string) string { return "kairan/board/" + board }
func outboxKey(board string) string  { return "kairan/outbox/" + board }

// startSync joins the tabs of p.Board (or leads alone where the browser
// cannot coordinate tabs). Browser only.
func (p *BoardPage) startSync(ctx app.Context) {
	p.stopSync()
	board := p.Board
	var saved sync.Replica
	if ctx.GetState(replicaKey(board), &saved); saved.Board == board {
		p.Topics, p.Loaded, p.replica = saved.Topics, true, saved
		p.Status = sync.Status{Mode: sync.Connecting, LastLive: saved.SyncedAt}
	}
	p.Outbox = sync.Outbox{}
	ctx.GetState(outboxKey(board), &p.Outbox)

	runCtx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	p.stop, p.stopped = cancel, done
	channel := sync.BrowserChannel(board)
	if channel == nil {
		p.lead(ctx, runCtx, board)
		go func() { <-runCtx.Done(); close(done) }()
		return
	}
	tabs := sync.NewTabs(rand.Text(), board, channel, sync.BrowserElector)
	tabs.Lead = func(leadCtx context.Context) { p.lead(ctx, leadCtx, board) }
	tabs.Enqueue = func(op sync.Op) {
		if c := p.courier.Load(); c != nil {
			c.Enqueue(op)
		}
	}
	tabs.Discard = func(key string) {
		if c := p.courier.Load(); c != nil {
			c.Discard(key)
		}
	}
	tabs.OnLeader = func() { ctx.Dispatch(func(app.Context) { p.Leader = true }) }
	tabs.OnState = func(m sync.Message) {
		ctx.Dispatch(func(ctx app.Context) {
			if p.Board != board || p.Leader {
				return
			}
			p.replica, p.Topics, p.Loaded, p.Now = *m.Replica, m.Replica.Topics, true, time.Now()
			if m.Status != nil {
				p.Status = *m.Status
			}
			if m.Outbox != nil {
				p.Outbox = *m.Outbox
			}
			p.Owned = loadOwned(ctx, board) // the leader stores new owner tokens
			p.countDown(ctx)
		})
	}
	p.tabs = tabs
	go func() { defer close(done); tabs.Run(runCtx) }()
}

// lead starts this tab's engine and courier for board, bound to leadCtx.
// It runs on the Tabs goroutine (or the UI goroutine without tabs) and
// touches page fields only through Dispatch.
func (p *BoardPage) lead(ctx app.Context, leadCtx context.Context, board string) {
	var saved sync.Replica
	ctx.GetState(replicaKey(board), &saved)
	var outbox sync.Outbox
	ctx.GetState(outboxKey(board), &outbox)

	engine := sync.NewEngine(&p.api, board, saved)
	engine.Online = func() bool { return app.Window().Get("navigator").Get("onLine").Bool() }
	courier := sync.NewCourier(&p.api, outbox)
	engine.OnUpdate = func(r sync.Replica, s sync.Status) {
		ctx.Dispatch(func(ctx app.Context) {
			if p.Board != board {
				return
			}
			wasLive := live(p.Status.Mode)
			p.replica, p.Topics, p.Loaded, p.Status, p.Now = r, r.Topics, true, s, time.Now()
			ctx.SetState(replicaKey(board), r).Persist()
			if live(s.Mode) && !wasLive {
				courier.Kick() // the server is back: send what waits
			}
			p.publish()
			p.countDown(ctx)
		})
	}
	engine.OnChanges = func(cs []shared.Change) {
		ctx.Dispatch(func(ctx app.Context) { p.forgetChanged(cs) })
	}
	courier.OnUpdate = func(o sync.Outbox) {
		ctx.Dispatch(func(ctx app.Context) {
			ctx.SetState(outboxKey(board), o).Persist()
			if p.Board == board {
				p.Outbox = o
				p.publish()
			}
		})
	}
	courier.OnSent = func(op sync.Op, created *shared.CreatedTopic, edited *shared.Topic) {
		ctx.Dispatch(func(ctx app.Context) {
			switch {
			case created != nil:
				p.remember(ctx, op.Board, created.Topic.ID, created.OwnerToken)
			case op.Kind == sync.OpDelete:
				p.forget(ctx, op.Board, op.TopicID)
			}
			if op.Board == p.Board {
				p.sent(op, created, edited)
			}
		})
	}
	p.engine.Store(engine)
	p.courier.Store(courier)
	go engine.Run(leadCtx)
	go courier.Run(leadCtx)
}

// publish shares the leader's view with the board's other tabs.
func (p *BoardPage) publish() {
	if p.tabs != nil {
		r, s, o := p.replica.Clone(), p.Status, p.Outbox.Clone()
		p.tabs.Publish(sync.Message{Replica: &r, Status: &s, Outbox: &o})
	}
}

func live(m sync.Mode) bool { return m == sync.LiveSSE || m == sync.LivePolling }

// stopSync leaves the board: the engine, courier and tab coordination end
// (a leader's lock is released, so another tab takes over).
func (p *BoardPage) stopSync() {
	if p.stop != nil {
		p.stop()
		<-p.stopped
		p.stop, p.tabs, p.Leader = nil, nil, false
		p.engine.Store(nil)
		p.courier.Store(nil)
	}
}

// countDown refreshes "reconnecting in N s" every second while it shows.
func (p *BoardPage) countDown(ctx app.Context) {
	if p.counting || p.Status.Mode != sync.Reconnecting && p.Status.Mode != sync.Offline {
		return
	}
	p.counting = true
	ctx.After(time.Second, func(ctx app.Context) {
		p.counting = false
		p.Now = time.Now()
		p.countDown(ctx)
	})
}

// watchBrowser kicks the leader's engine and courier when the network
// returns or the tab is shown again, instead of waiting out the backoff.
// Returns a release func.
func (p *BoardPage) watchBrowser() func() {
	kick := app.FuncOf(func(this app.Value, args []app.Value) any {
		if app.Window().Get("document").Get("visibilityState").String() != "visible" {
			return nil
		}
		if e := p.engine.Load(); e != nil {
			e.Kick()
		}
		if c := p.courier.Load(); c != nil {
			c.Kick()
		}
		return nil
	})
	win, doc := app.Window(), app.Window().Get("document")
	win.Call("addEventListener", "online", kick)
	doc.Call("addEventListener", "visibilitychange", kick)
	return func() {
		win.Call("removeEventListener", "online", kick)
		doc.Call("removeEventListener", "visibilitychange", kick)
		kick.Release()
	}
}
