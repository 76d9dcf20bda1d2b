package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// The browser binary must stay small and must not carry server code:
// DESIGN.md section 1.

func wasmEnv() []string { return append(os.Environ(), "GOOS=js", "GOARCH=wasm") }

func TestWasmLinksNoServerOrSQLCode(t *testing.T) {
	cmd := exec.Command("go", "list", "-deps", ".")
	cmd.Env = wasmEnv()
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 50 || !slices.Contains(deps, "github.com/maxence-charriere/go-app/v10/pkg/app") {
		t.Fatalf("go list -deps gave an implausible list (%d packages)", len(deps))
	}
	for _, d := range deps {
		for _, banned := range []string{"github.com/uptrace/bun", "modernc.org/", "github.com/mattn/go-sqlite3",
			"github.com/kairan/kairan/api", "github.com/chromedp/"} {
			if strings.HasPrefix(d, banned) {
				t.Errorf("the wasm build links %s", d)
			}
		}
		if d == "database/sql" {
			t.Error("the wasm build links database/sql")
		}
		// Pictures are decoded and encoded by the browser (web/pics.js):
		// Go's codecs would cost app.wasm ~170 KB brotli (BENCHMARKS.md).
		if d == "image" || strings.HasPrefix(d, "image/") || strings.HasPrefix(d, "golang.org/x/image") {
			t.Errorf("the wasm build links %s: picture work belongs to the browser's own APIs", d)
		}
	}
}

// TestWasmUsesFetchNotTheNetHTTPClient builds app.wasm with symbol names
// and looks for net/http's client: go-app imports net/http, which is fine,
// but its client code costs ~5 MB and must not be linked.
func TestWasmUsesFetchNotTheNetHTTPClient(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "app.wasm")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Env = wasmEnv()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("wasm build: %v\n%s", err, out)
	}
	wasm, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	// The name section must be there, or the search below proves nothing.
	if !bytes.Contains(wasm, []byte("syscall/js.valueCall")) {
		t.Fatal("app.wasm has no function names; cannot check what it links")
	}
	for _, symbol := range []string{"net/http.(*Client).do", "net/http.(*Transport).roundTrip"} {
		if bytes.Contains(wasm, []byte(symbol)) {
			t.Errorf("app.wasm links %s: use the browser's fetch (app/client/fetch_wasm.go)", symbol)
		}
	}
	t.Logf("app.wasm: %.2f MB raw", float64(len(wasm))/1e6)
}

func TestWasmExecJSMatchesTheToolchain(t *testing.T) {
	ours, err := os.ReadFile("../wasm_exec.js")
	if err != nil {
		t.Fatal(err)
	}
	theirs, err := os.ReadFile(filepath.Join(runtime.GOROOT(), "lib", "wasm", "wasm_exec.js"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ours, theirs) {
		t.Fatalf("wasm_exec.js differs from %s's; copy it: cp \"$(go env GOROOT)/lib/wasm/wasm_exec.js\" .", runtime.Version())
	}
}
