//go:build wasm

package sync

import (
	"context"
	"errors"

	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

// platformStream follows url with the browser's EventSource. The browser
// would reconnect by itself after a network error but gives up for good
// after an HTTP error; the engine owns reconnecting either way, so any
// "error" closes the source and ends the stream. JS callbacks only copy
// the event out and queue it; the caller's goroutine runs onOpen and
// onEvent.
func platformStream(ctx context.Context, url string, onOpen func(), onEvent func(typ, data string)) error {
	type event struct {
		kind string // "open", "error", "reset", "change"
		data string
	}
	queue := make(chan event, 256)
	push := func(kind string) app.Func {
		return app.FuncOf(func(this app.Value, args []app.Value) any {
			ev := event{kind: kind}
			if len(args) > 0 && kind != "open" && kind != "error" {
				ev.data = args[0].Get("data").String()
			}
			select {
			case queue <- ev:
			default: // the Go side is far behind: end the stream, resume from the cursor
				select {
				case queue <- event{kind: "error"}:
				default:
				}
			}
			return nil
		})
	}
	source := app.Window().Get("EventSource").New(url)
	handlers := map[string]app.Func{}
	for _, kind := range []string{"open", "error", "reset", "change"} {
		handlers[kind] = push(kind)
		source.Call("addEventListener", kind, handlers[kind])
	}
	defer func() {
		source.Call("close")
		for kind, f := range handlers {
			source.Call("removeEventListener", kind, f)
			f.Release()
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case ev := <-queue:
			switch ev.kind {
			case "open":
				onOpen()
			case "error":
				return errors.New("event stream failed")
			default:
				onEvent(ev.kind, ev.data)
			}
		}
	}
}
