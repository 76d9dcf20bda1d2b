//go:build wasm

package client

import (
	"context"
	"errors"

	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

// roundTrip calls the browser's fetch through go-app's JS interop. It
// blocks the calling goroutine, so call it off the UI goroutine (app/sync's
// engine and courier run their own).
// Unlike app.Value.Then, it also listens for rejection: an offline fetch
// rejects and must not hang forever.
func roundTrip(ctx context.Context, req request) (reply, error) {
	headers := map[string]any{}
	for k, v := range req.header {
		headers[k] = v
	}
	abort := app.Window().Get("AbortController").New()
	untrack, ok := Track(abort)
	if !ok {
		return reply{}, errors.New("the page was left")
	}
	defer untrack()
	opts := map[string]any{
		"method":      req.method,
		"headers":     headers,
		"credentials": "same-origin",
		"cache":       "no-store",
		"signal":      abort.Get("signal"),
	}
	switch {
	case req.blob != nil:
		opts["body"] = req.blob // a picture: a JS Blob, sent as it is
	case req.body != nil:
		opts["body"] = string(req.body) // JSON: text
	}
	type result struct {
		reply
		err error
	}
	done := make(chan result, 1)
	var status int
	var retryAfter string
	var onResponse, onText, onFail app.Func
	release := func() { onResponse.Release(); onText.Release(); onFail.Release() }
	onFail = app.FuncOf(func(this app.Value, args []app.Value) any {
		msg := "fetch failed"
		if len(args) > 0 {
			msg = args[0].Call("toString").String()
		}
		done <- result{err: errors.New(msg)}
		return nil
	})
	onText = app.FuncOf(func(this app.Value, args []app.Value) any {
		done <- result{reply: reply{status: status, body: []byte(args[0].String()), retryAfter: retryAfter}}
		return nil
	})
	onResponse = app.FuncOf(func(this app.Value, args []app.Value) any {
		status = args[0].Get("status").Int()
		if v := args[0].Get("headers").Call("get", "Retry-After"); v.Truthy() {
			retryAfter = v.String()
		}
		args[0].Call("text").Call("then", onText, onFail)
		return nil
	})
	app.Window().Call("fetch", req.url, opts).Call("then", onResponse, onFail)
	select {
	case r := <-done:
		release()
		return r.reply, r.err
	case <-ctx.Done():
		abort.Call("abort")
		<-done // the promise settles (rejects) after abort; only then release
		release()
		return reply{}, ctx.Err()
	}
}
