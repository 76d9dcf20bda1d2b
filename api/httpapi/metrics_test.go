package httpapi_test

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"

	"github.com/kairan/kairan/api/httpapi"
	"github.com/kairan/kairan/shared"
)

// seriesOf counts the series of one metric in a /metrics answer.
func seriesOf(text, name string) int {
	n := 0
	for line := range strings.Lines(text) {
		if strings.HasPrefix(line, name+"{") || strings.HasPrefix(line, name+" ") {
			n++
		}
	}
	return n
}

// A client making up methods and paths adds no series: every label value
// comes from a fixed set (known methods, route patterns, status codes), so
// the registry and each scrape stay the same size however long it goes on.
func TestMetricLabelsStayBounded(t *testing.T) {
	e := newEnv(t, func(c *httpapi.Config) { c.App = http.NotFoundHandler() })
	// A few ordinary requests first, so the known series exist.
	e.do(t, "GET", "/api/boards/lobby", "", nil)
	e.do(t, "GET", "/", "", nil)
	before := string(e.do(t, "GET", "/metrics", "", nil).body)
	baseline := seriesOf(before, "kairan_http_requests_total")
	if baseline == 0 {
		t.Fatalf("no request series after two requests:\n%s", clip(before))
	}

	rng := rand.New(rand.NewPCG(1, 2))
	const n = 3000
	for i := range n {
		method := fmt.Sprintf("X%dQ", rng.Uint32()) // a valid token, never a standard method
		path := fmt.Sprintf("/%x/%d", rng.Uint64(), i)
		if i%3 == 0 {
			path = "/api/boards/b" + fmt.Sprint(i) + "/topics"
		}
		r := e.do(t, method, path, "", nil)
		if r.status != http.StatusMethodNotAllowed && r.status != http.StatusNotFound {
			t.Fatalf("%s %s: %v, want 405 or 404", method, path, r)
		}
	}
	after := string(e.do(t, "GET", "/metrics", "", nil).body)
	// The made-up requests fall into at most a handful of new series:
	// method "unknown" on route "/" (405) and "/api/" (404), plus their
	// duration histograms.
	if got := seriesOf(after, "kairan_http_requests_total"); got > baseline+3 {
		t.Fatalf("request series grew from %d to %d with %d made-up methods and paths", baseline, got, n)
	}
	if got, want := seriesOf(after, "kairan_http_request_duration_seconds_count"), seriesOf(before, "kairan_http_request_duration_seconds_count")+3; got > want {
		t.Fatalf("duration series grew to %d (at most %d)", got, want)
	}
	for _, leak := range []string{"X1", "/b1", "b3/"} {
		if strings.Contains(after, leak) {
			t.Fatalf("a client's method or path %q became a label", leak)
		}
	}
	if v, ok := metricValue(t, after, "kairan_http_requests_total", "method", "unknown", "route", "/", "code", "405"); !ok || v < n*2/3-1 {
		t.Fatalf("made-up methods on pages counted %v (found %v), want about %d under method=unknown route=/", v, ok, n*2/3)
	}
}

// A page answers only GET and HEAD; any other method is refused with the
// contract's error and an Allow header, and changes nothing.
func TestPagesRefuseOtherMethods(t *testing.T) {
	e := newEnv(t, func(c *httpapi.Config) {
		c.App = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("page")) })
	})
	for _, m := range []string{"POST", "PUT", "DELETE", "PATCH", "BREW", "PROPFIND"} {
		r := e.do(t, m, "/b/lobby", "", nil)
		wantError(t, r, http.StatusMethodNotAllowed, shared.CodeMethodNotAllowed)
		if got := r.header.Get("Allow"); got != "GET, HEAD" {
			t.Errorf("%s: Allow %q", m, got)
		}
	}
	if r := e.do(t, "GET", "/b/lobby", "", nil); r.status != 200 || string(r.body) != "page" {
		t.Fatalf("GET a page: %v", r)
	}
	if r := e.do(t, "HEAD", "/b/lobby", "", nil); r.status != 200 {
		t.Fatalf("HEAD a page: %v", r)
	}
}

// With PrivateMetrics the public handler has no /metrics: the operator
// serves it elsewhere.
func TestPrivateMetricsAreNotPublic(t *testing.T) {
	e := newEnv(t, func(c *httpapi.Config) { c.PrivateMetrics = true })
	r := e.do(t, "GET", "/metrics", "", nil)
	if r.status == http.StatusOK || strings.Contains(string(r.body), "kairan_") {
		t.Fatalf("GET /metrics on the public handler: %v", r)
	}
}
