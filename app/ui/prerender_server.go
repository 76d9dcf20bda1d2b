//go:build !wasm

package ui

import (
	"context"
	"encoding/base64"
	"encoding/json"
	gosync "sync"
	"time"

	"github.com/kairan/kairan/app/board"
	"github.com/kairan/kairan/shared"
)

// The server prerenders every page with go-app's components (the same the
// browser runs). With a BoardSource it also fills in the board's newest
// topics, so the HTML shows the board before app.wasm has arrived, and
// carries the snapshot for the app to start from (seed.go).

// BoardSource reads a board's newest page.
type BoardSource func(ctx context.Context, board string) (shared.Snapshot, error)

// sources are the registered BoardSources, newest last: the newest one
// serves. One process serves one store; tests that run two servers at
// once run them on the same data.
var sources struct {
	mu   gosync.Mutex
	list []*BoardSource
}

// ServeBoards makes prerendered pages show their boards from src until
// stop is called.
func ServeBoards(src BoardSource) (stop func()) {
	p := &src
	sources.mu.Lock()
	sources.list = append(sources.list, p)
	sources.mu.Unlock()
	return func() {
		sources.mu.Lock()
		defer sources.mu.Unlock()
		for i, q := range sources.list {
			if q == p {
				sources.list = append(sources.list[:i], sources.list[i+1:]...)
				return
			}
		}
	}
}

// prerenderView is the view of name as the server renders it, and the
// snapshot it came from (base64 of its JSON) for the app; ok is false without a source
// or when the board cannot be read (the page then says "Loading…").
func prerenderView(name string) (v board.View, seed string, ok bool) {
	sources.mu.Lock()
	var src BoardSource
	if n := len(sources.list); n > 0 {
		src = *sources.list[n-1]
	}
	sources.mu.Unlock()
	if src == nil {
		return board.View{}, "", false
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	snap, err := src(ctx, name)
	if err != nil {
		return board.View{}, "", false
	}
	b, err := json.Marshal(snap)
	if err != nil {
		return board.View{}, "", false
	}
	// base64: go-app prints attribute values with Go's quoting, which
	// HTML does not read back; base64 has nothing to quote.
	return board.ViewOf(snap), base64.StdEncoding.EncodeToString(b), true
}
