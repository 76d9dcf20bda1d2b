package ui

import (
	"encoding/base64"
	"encoding/json"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"github.com/kairan/kairan/shared"
)

// The prerendered page carries the snapshot its topics came from, in the
// data-snapshot attribute of #board-seed as base64 of its JSON (an
// attribute, not a script: the CSP runs no inline script). The app reads it before go-app replaces the prerendered
// body, and the board session starts from it unless the browser's own
// replica of that board is newer.

const seedID = "board-seed"

// seed is the prerendered page's snapshot, until a session takes it.
var seed shared.Snapshot

// ReadSeed keeps the prerendered page's snapshot for the board session.
// Call it before app.RunWhenOnBrowser. Browser only.
func ReadSeed() {
	if !app.IsClient {
		return
	}
	el := app.Window().GetElementByID(seedID)
	if !el.Truthy() {
		return
	}
	if v := el.Call("getAttribute", "data-snapshot"); v.Truthy() {
		if b, err := base64.StdEncoding.DecodeString(v.String()); err == nil {
			json.Unmarshal(b, &seed) // a broken seed is no seed
		}
	}
}

// takeSeed hands the seed to the first session of its board.
func takeSeed(board string) shared.Snapshot {
	if seed.Board != board {
		return shared.Snapshot{}
	}
	s := seed
	seed = shared.Snapshot{}
	return s
}

// renderSeed carries the server's snapshot in the page.
func renderSeed(data string) app.UI {
	return app.Div().ID(seedID).Hidden(true).Attr("data-snapshot", data)
}
