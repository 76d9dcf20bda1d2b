package ui

import (
	"context"
	"time"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"github.com/kairan/kairan/app/sync"
	"github.com/kairan/kairan/shared"
)

// The page follows its board through the sync engine, which runs on its
// own goroutine; every update comes back to the UI goroutine through
// ctx.Dispatch. The replica is go-app state persisted to local storage, so
// a reload (or an offline start) shows the last known board at once and
// resumes from its cursor.

func replicaKey(board string) string { return "kairan/board/" + board }

// startSync (re)starts following p.Board. Browser only.
func (p *BoardPage) startSync(ctx app.Context) {
	p.stopSync()
	board := p.Board
	var saved sync.Replica
	if ctx.GetState(replicaKey(board), &saved); saved.Board == board {
		p.Topics, p.Loaded = saved.Topics, true
		p.Status = sync.Status{Mode: sync.Connecting}
	}
	engine := sync.NewEngine(&p.api, board, saved)
	engine.Online = func() bool { return app.Window().Get("navigator").Get("onLine").Bool() }
	engine.OnUpdate = func(r sync.Replica, s sync.Status) {
		ctx.Dispatch(func(ctx app.Context) {
			if p.Board != board {
				return
			}
			wasLive := p.Status.Mode == sync.LiveSSE || p.Status.Mode == sync.LivePolling
			p.Topics, p.Loaded, p.Status, p.Now = r.Topics, true, s, time.Now()
			ctx.SetState(replicaKey(board), r).Persist()
			if live := s.Mode == sync.LiveSSE || s.Mode == sync.LivePolling; live && !wasLive && p.courier != nil {
				p.courier.Kick() // the server is back: send what waits
			}
			p.countDown(ctx)
		})
	}
	engine.OnChanges = func(cs []shared.Change) {
		ctx.Dispatch(func(ctx app.Context) { p.forgetChanged(cs) })
	}
	runCtx, cancel := context.WithCancel(context.Background())
	p.engine, p.stop = engine, cancel
	done := make(chan struct{})
	p.stopped = done
	go func() {
		defer close(done)
		engine.Run(runCtx)
	}()
}

// outboxKey holds the writes not yet delivered, for all boards.
const outboxKey = "kairan/outbox"

// startCourier delivers the outbox for the page's lifetime, whichever
// board it shows. Browser only.
func (p *BoardPage) startCourier(ctx app.Context) {
	ctx.GetState(outboxKey, &p.Outbox)
	c := sync.NewCourier(&p.api, p.Outbox)
	c.OnUpdate = func(o sync.Outbox) {
		ctx.Dispatch(func(ctx app.Context) {
			p.Outbox = o
			ctx.SetState(outboxKey, o).Persist()
		})
	}
	c.OnSent = func(op sync.Op, created *shared.CreatedTopic, edited *shared.Topic) {
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
	p.courier = c
	runCtx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); c.Run(runCtx) }()
	p.stopCourier = func() { cancel(); <-done }
}

// stopSync ends the engine's goroutine and waits for it.
func (p *BoardPage) stopSync() {
	if p.stop != nil {
		p.stop()
		<-p.stopped
		p.stop, p.engine = nil, nil
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

// watchBrowser kicks the engine when the network returns or the tab is
// shown again, instead of waiting out the backoff. Returns a release func.
func (p *BoardPage) watchBrowser() func() {
	kick := app.FuncOf(func(this app.Value, args []app.Value) any {
		if app.Window().Get("document").Get("visibilityState").String() != "visible" {
			return nil
		}
		if p.engine != nil {
			p.engine.Kick()
		}
		if p.courier != nil {
			p.courier.Kick()
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
