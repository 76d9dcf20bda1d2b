//go:build wasm

package client

import (
	gosync "sync"

	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

// A page that is left (a full page load to another board, a closed tab,
// the back/forward cache) must not keep a connection: on HTTP/1.1 the
// browser allows six per host, and a stream the old page still holds
// leaves the next page "offline". The engine would close its stream once
// its goroutine runs again, which a page on its way out may never let
// happen; so every request in flight registers its AbortController here,
// and the page's "pagehide" handler aborts them all at once, in the event
// itself, and refuses new ones until the page is shown again.

var inflight = struct {
	mu     gosync.Mutex
	aborts map[int]app.Value
	next   int
	left   bool
}{aborts: map[int]app.Value{}}

// Track registers the AbortController of a request about to start. ok is
// false when the page has been left: the request must not start.
func Track(abort app.Value) (untrack func(), ok bool) {
	inflight.mu.Lock()
	defer inflight.mu.Unlock()
	if inflight.left {
		return func() {}, false
	}
	id := inflight.next
	inflight.next++
	inflight.aborts[id] = abort
	return func() {
		inflight.mu.Lock()
		delete(inflight.aborts, id)
		inflight.mu.Unlock()
	}, true
}

// LeavePage aborts every request in flight and refuses new ones. It does
// not wait: call it from the pagehide event's own callback.
func LeavePage() {
	inflight.mu.Lock()
	defer inflight.mu.Unlock()
	inflight.left = true
	for id, abort := range inflight.aborts {
		abort.Call("abort")
		delete(inflight.aborts, id)
	}
}

// ReturnToPage allows requests again (the page came back from the
// back/forward cache).
func ReturnToPage() {
	inflight.mu.Lock()
	inflight.left = false
	inflight.mu.Unlock()
}
