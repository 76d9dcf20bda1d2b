package ui

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"sync/atomic"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"github.com/kairan/kairan/app/board"
	"github.com/kairan/kairan/app/client"
	"github.com/kairan/kairan/app/sync"
	"github.com/kairan/kairan/shared"
)

// The page's edges in the browser: local storage, the tab channel and
// locks, and the browser's news about the network, visibility and leaving.

// openBrowserSession opens board's session on the browser's edges and
// returns it with its first view (the saved board), for the render that
// opens it. Later views go to show. Browser only.
func openBrowserSession(name string, seed shared.Snapshot, show func(*board.Session, board.View)) (*board.Session, board.View) {
	var s *board.Session
	var first board.View
	var opened atomic.Bool
	ready := make(chan struct{})
	defer close(ready)
	s = board.Open(board.Config{
		Board:    name,
		Client:   &client.Client{},
		Storage:  localStorage{},
		Pictures: keptPictures{},
		Channel:  sync.BrowserChannel,
		Elect:    sync.BrowserElector,
		TabID:    rand.Text(),
		Online:   app.Window().Get("navigator").Get("onLine").Bool(),
		Seed:     seed,
		OnView: func(v board.View) {
			if !opened.Load() { // the first, within Open, on this goroutine
				first = v
				opened.Store(true)
				return
			}
			<-ready // s is set
			show(s, v)
		},
	})
	return s, first
}

// localStorage is the browser's local storage. A value that cannot be
// written (the quota is spent, storage is blocked) is an error, not a
// panic: the session tells the person.
type localStorage struct{}

func (localStorage) Get(key string, v any) (bool, error) {
	item := app.Window().Get("localStorage").Call("getItem", key)
	if item.IsNull() || item.IsUndefined() {
		return false, nil
	}
	return true, json.Unmarshal([]byte(item.String()), v)
}

func (localStorage) Set(key string, v any) (err error) {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	defer func() {
		if r := recover(); r != nil { // setItem threw (QuotaExceededError, SecurityError)
			err = errors.New("local storage refused the write")
		}
	}()
	app.Window().Get("localStorage").Call("setItem", key, string(b))
	return nil
}

func (localStorage) Del(key string) {
	app.Window().Get("localStorage").Call("removeItem", key)
}

func passNetwork(s *board.Session) {
	s.Network(app.Window().Get("navigator").Get("onLine").Bool())
}

// watchBrowser passes the browser's news to the page's session: the
// network went or came back (offline is shown at once, online reconnects
// at once), the tab became visible (retry now), the page is being left
// (every request is aborted in the event itself, so no stream outlives
// the page) or shown again from the back/forward cache. Returns a release func.
func (p *BoardPage) watchBrowser(ctx app.Context) func() {
	session := func(f func(*board.Session)) {
		ctx.Dispatch(func(app.Context) {
			if p.c != nil {
				s := p.c.session
				go f(s) // never block a JS callback or the UI
			}
		})
	}
	on := map[string]func(args []app.Value){
		// The network's state is read when the news is passed on, not taken
		// from the event's name: two events may be passed on out of order.
		"online":  func([]app.Value) { session(passNetwork) },
		"offline": func([]app.Value) { session(passNetwork) },
		"visibilitychange": func([]app.Value) {
			if app.Window().Get("document").Get("visibilityState").String() == "visible" {
				session((*board.Session).Kick)
			}
		},
		"pagehide": func([]app.Value) {
			client.LeavePage()
			ctx.Dispatch(func(app.Context) { p.closeSession() })
		},
		"pageshow": func(args []app.Value) {
			if len(args) > 0 && args[0].Get("persisted").Bool() { // back from the back/forward cache
				client.ReturnToPage()
				ctx.Dispatch(func(ctx app.Context) {
					if p.c == nil && p.Invalid == "" {
						p.openSession(ctx)
					}
				})
			}
		},
	}
	win, doc := app.Window(), app.Window().Get("document")
	var release []func()
	for name, f := range on {
		var target app.Value = win
		if name == "visibilitychange" {
			target = doc
		}
		fn := app.FuncOf(func(this app.Value, args []app.Value) any { f(args); return nil })
		target.Call("addEventListener", name, fn)
		release = append(release, func() { target.Call("removeEventListener", name, fn); fn.Release() })
	}
	return func() {
		for _, r := range release {
			r()
		}
	}
}
