//go:build wasm

package ui

import "github.com/kairan/kairan/app/board"

// prerenderView is the server's; the browser starts from the seed.
func prerenderView(string) (board.View, string, bool) { return board.View{}, "", false }
