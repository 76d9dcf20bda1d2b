// Package web holds the static assets the server ships: styles, icons and
// the build outputs app.wasm, app.wasm.br and app.wasm.gz (made by
// `go tool task build`, ignored by git). Embedding them lets bin/kairan run
// from any directory.
package web

import "embed"

// FS is the web directory. The pattern "*" matches even before the first
// wasm build, so the server still compiles (and says what is missing).
//
//go:embed *
var FS embed.FS
