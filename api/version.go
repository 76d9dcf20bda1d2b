package main

import (
	"cmp"
	"runtime"
	"runtime/debug"
)

// commit is the source revision, set by the build (Taskfile.yml passes
// -ldflags "-X main.commit=…"): the checkout may build with -buildvcs=false,
// and then the binary would not know it otherwise.
var commit string

// versionLine says which kairan this is: the module version ("(devel)"
// when built from a checkout rather than `go install …@version`), the
// commit and the Go release. The app's own version (a hash of app.wasm)
// is logged at start, as it needs the embedded files.
func versionLine() string {
	module, rev := "(unknown)", commit
	if bi, ok := debug.ReadBuildInfo(); ok {
		module = cmp.Or(bi.Main.Version, module)
		for _, s := range bi.Settings {
			switch {
			case s.Key == "vcs.revision" && rev == "":
				rev = s.Value
			case s.Key == "vcs.modified" && s.Value == "true" && commit == "":
				rev += "-dirty"
			}
		}
	}
	return "kairan " + module + " commit " + cmp.Or(rev, "unknown") + " " + runtime.Version()
}
