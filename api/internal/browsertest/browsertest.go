// Package browsertest starts Debian's headless Chromium for end-to-end
// tests through chromedp. Without a browser the test is skipped with a
// message, unless KAIRAN_REQUIRE_BROWSER=1 (CI), where it fails instead.
package browsertest

import (
	"context"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Browser finds the Chromium binary, or reports why there is none.
func Browser(t testing.TB) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if path, err := exec.LookPath(name); err == nil {
			return path
		}
	}
	msg := "no chromium on PATH: install Debian's chromium (apt-get install -y chromium) to run browser tests"
	if os.Getenv("KAIRAN_REQUIRE_BROWSER") == "1" {
		t.Fatal(msg + " (KAIRAN_REQUIRE_BROWSER=1)")
	}
	t.Skip(msg)
	return ""
}

// New starts a fresh headless browser (its own profile) and returns the
// context of its first tab. The browser is stopped when the test ends.
// extra adds command-line flags (a host mapping, a trusted certificate).
func New(t testing.TB, extra ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(Browser(t)),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true),
		chromedp.UserDataDir(t.TempDir()),
	)
	opts = append(opts, extra...)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(allocCtx)
	t.Cleanup(func() { cancelTab(); cancelAlloc() })
	// The first Do starts the browser; its lifetime is bound to ctx, which
	// has no deadline. Steps take their own timeouts (Within).
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// Within runs one step with a timeout, failing the test with what it was
// waiting for.
func Within[T any](t testing.TB, ctx context.Context, d time.Duration, what string, a chromedp.Action[T]) T {
	t.Helper()
	stepCtx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	v, err := chromedp.Run(stepCtx, a)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return v
}

// Until polls a JavaScript expression until it is true.
func Until(t testing.TB, ctx context.Context, d time.Duration, what, expr string) {
	t.Helper()
	Within(t, ctx, d, "waiting for "+what, chromedp.Poll[bool](expr, chromedp.WithPollingInterval(25*time.Millisecond)))
}

// Do runs steps that return nothing.
func Do(t testing.TB, ctx context.Context, d time.Duration, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	stepCtx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	if err := chromedp.Do(stepCtx, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// NewContext opens a tab in a fresh browser context of the same browser:
// its own cookies, storage and service workers, like a second person.
func NewContext(t testing.TB, browser context.Context) context.Context {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("open a browser context: %v", err)
	}
	return ctx
}

// NewTab opens another tab in the same browser context (shared storage,
// locks and BroadcastChannel, like a person's second tab). The tab is
// started with an empty step first: navigating a fresh chromedp context
// directly leaves later evaluations without a page context.
func NewTab(t testing.TB, browser context.Context) (context.Context, context.CancelFunc) {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser)
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("open a tab: %v", err)
	}
	return ctx, cancel
}
