//go:build wasm

package sync

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"github.com/kairan/kairan/app/client"
)

// platformStream follows url with the browser's fetch and reads the body
// itself, not with EventSource: EventSource hides the server's ": ping"
// lines, so a stream that went silent could not be told from a quiet board
// (docs/DESIGN.md §4), and it pushes events into the page whether or not
// the engine keeps up. Here the engine pulls: the next chunk is read only
// after the last event was handled, so nothing queues and nothing is
// dropped. Ending ctx aborts the request, which closes the connection.
func platformStream(ctx context.Context, url string, on StreamEvents) error {
	abort := app.Window().Get("AbortController").New()
	untrack, ok := client.Track(abort) // aborted at once if the page is left
	if !ok {
		return errors.New("event stream: the page was left")
	}
	defer untrack()
	defer abort.Call("abort")
	opts := map[string]any{
		"method":      "GET",
		"headers":     map[string]any{"Accept": "text/event-stream"},
		"credentials": "same-origin",
		"cache":       "no-store",
		"signal":      abort.Get("signal"),
	}
	resp, err := await(ctx, abort, app.Window().Call("fetch", url, opts))
	if err != nil {
		return err
	}
	status := resp.Get("status").Int()
	ctype := resp.Get("headers").Call("get", "Content-Type")
	if status != 200 || !ctype.Truthy() || !strings.HasPrefix(ctype.String(), "text/event-stream") {
		return fmt.Errorf("%w: HTTP %d", ErrStreamRefused, status)
	}
	on.Open()
	body := &bodyReader{ctx: ctx, abort: abort, reader: resp.Get("body").Call("getReader")}
	return decodeStream(ctx, &activity{r: body, seen: on.Bytes}, on)
}

// bodyReader reads a fetch body's ReadableStream as an io.Reader.
type bodyReader struct {
	ctx    context.Context
	abort  app.Value
	reader app.Value
	rest   []byte // the part of the last chunk not read yet
}

func (b *bodyReader) Read(p []byte) (int, error) {
	if len(b.rest) == 0 {
		res, err := await(b.ctx, b.abort, b.reader.Call("read"))
		if err != nil {
			return 0, err
		}
		if res.Get("done").Bool() {
			return 0, io.EOF
		}
		chunk := res.Get("value")
		b.rest = make([]byte, chunk.Get("length").Int())
		app.CopyBytesToGo(b.rest, chunk)
	}
	n := copy(p, b.rest)
	b.rest = b.rest[n:]
	return n, nil
}

// await waits for a promise on the calling goroutine (never the UI's: JS
// callbacks must not block). Ending ctx aborts the request, which settles
// the promise; only then are the callbacks released.
func await(ctx context.Context, abort, promise app.Value) (app.Value, error) {
	type result struct {
		v   app.Value
		err error
	}
	done := make(chan result, 1)
	ok := app.FuncOf(func(this app.Value, args []app.Value) any {
		done <- result{v: args[0]}
		return nil
	})
	fail := app.FuncOf(func(this app.Value, args []app.Value) any {
		msg := "fetch failed"
		if len(args) > 0 {
			msg = args[0].Call("toString").String()
		}
		done <- result{err: errors.New(msg)}
		return nil
	})
	defer func() { ok.Release(); fail.Release() }()
	promise.Call("then", ok, fail)
	select {
	case r := <-done:
		return r.v, r.err
	case <-ctx.Done():
		abort.Call("abort")
		<-done
		return nil, ctx.Err()
	}
}
