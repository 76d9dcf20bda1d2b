//go:build wasm

package sync

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

// BrowserChannel opens a BroadcastChannel for the tabs of a board. It
// returns nil where the browser has none; the tab then leads alone.
func BrowserChannel(board string) Channel {
	ctor := app.Window().Get("BroadcastChannel")
	if !ctor.Truthy() {
		return nil
	}
	c := &browserChannel{bc: ctor.New("kairan/" + board), in: make(chan Message, 256)}
	c.onMessage = app.FuncOf(func(this app.Value, args []app.Value) any {
		var m Message
		if len(args) > 0 && json.Unmarshal([]byte(args[0].Get("data").String()), &m) == nil {
			select {
			case c.in <- m:
			default:
			}
		}
		return nil
	})
	c.bc.Call("addEventListener", "message", c.onMessage)
	return c
}

type browserChannel struct {
	bc        app.Value
	in        chan Message
	onMessage app.Func
}

func (c *browserChannel) Send(m Message) {
	b, err := json.Marshal(m)
	if err == nil {
		c.bc.Call("postMessage", string(b))
	}
}

func (c *browserChannel) Messages() <-chan Message { return c.in }

func (c *browserChannel) Close() {
	c.bc.Call("removeEventListener", "message", c.onMessage)
	c.bc.Call("close")
	c.onMessage.Release()
}

// BrowserElector elects with the Web Locks API: the lock is held by a
// promise that resolves on release, and the browser frees it when the tab
// closes. Without Web Locks every tab leads.
func BrowserElector(ctx context.Context, name string) (func(), error) {
	locks := app.Window().Get("navigator").Get("locks")
	if !locks.Truthy() {
		return func() {}, nil
	}
	abort := app.Window().Get("AbortController").New()
	granted := make(chan app.Value, 1) // the resolve function of the held promise
	failed := make(chan struct{}, 1)
	var onGrant, hold, onFail app.Func
	hold = app.FuncOf(func(this app.Value, args []app.Value) any {
		granted <- args[0]
		return nil
	})
	onGrant = app.FuncOf(func(this app.Value, args []app.Value) any {
		return app.Window().Get("Promise").New(hold)
	})
	onFail = app.FuncOf(func(this app.Value, args []app.Value) any {
		failed <- struct{}{}
		return nil
	})
	locks.Call("request", name, map[string]any{"signal": abort.Get("signal")}, onGrant).Call("catch", onFail)
	releaseFuncs := func() { onGrant.Release(); hold.Release(); onFail.Release() }
	select {
	case resolve := <-granted:
		return func() { resolve.Invoke(); releaseFuncs() }, nil
	case <-failed:
		releaseFuncs()
		return nil, errors.New("web lock request failed")
	case <-ctx.Done():
		// The abort rejects a request still waiting; a lock granted in
		// the meantime must be given back, or no tab could lead again.
		abort.Call("abort")
		select {
		case resolve := <-granted:
			resolve.Invoke()
		case <-failed:
		}
		releaseFuncs()
		return nil, ctx.Err()
	}
}
