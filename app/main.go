// Command app is kairan's browser client, built with GOOS=js GOARCH=wasm
// into web/app.wasm.
package main

import (
	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"github.com/kairan/kairan/app/ui"
)

func main() {
	ui.Routes()
	ui.KeepFormsInApp()
	ui.ReadSeed() // before go-app replaces the prerendered page
	app.RunWhenOnBrowser()
}
