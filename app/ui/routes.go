// Package ui holds kairan's go-app components. They render only from their
// fields; network work runs in app/sync's goroutines (engine, courier) and
// comes back through ctx.Dispatch. Routes is shared by the wasm client and the server, which
// answers 404 for any path not registered here.
package ui

import (
	"strings"

	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

// DefaultBoard is the board "/" shows.
const DefaultBoard = "lobby"

// Routes registers the pages. /b/<anything> routes to the board page so a
// mistyped board name gets a helpful message rather than a bare 404.
func Routes() {
	app.Route("/", newBoardPage)
	app.RouteWithRegexp(`^/b/[^/]*$`, newBoardPage)
}

func newBoardPage() app.Composer { return &BoardPage{} }

// boardFromPath returns the board a page path names.
func boardFromPath(path string) string {
	if rest, ok := strings.CutPrefix(path, "/b/"); ok {
		return rest
	}
	return DefaultBoard
}
