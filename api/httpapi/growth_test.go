package httpapi_test

// Limits on growth, through a real server on loopback: the store's caps on
// boards and topics, and the per-network stream and write limits of IPv6
// clients behind a trusted proxy.

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/kairan/kairan/api/httpapi"
	"github.com/kairan/kairan/api/internal/pgtest"
	"github.com/kairan/kairan/api/limit"
	"github.com/kairan/kairan/api/store"
	"github.com/kairan/kairan/app/client"
	"github.com/kairan/kairan/shared"
)

// newCappedEnv is newEnv on a store with growth caps.
func newCappedEnv(t *testing.T, maxBoards, maxTopics int) *env {
	t.Helper()
	dialect, target := pgtest.Target(t)
	st, err := store.Open(context.Background(), store.Options{Dialect: store.Dialect(dialect), Target: target,
		MaxBoards: maxBoards, MaxTopics: maxTopics})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	srv := httptest.NewServer(httpapi.New(httpapi.Config{Store: st, ModeratorToken: moderatorToken}))
	t.Cleanup(srv.Close)
	return &env{srv: srv, st: st}
}

func wantMessage(t *testing.T, r response, words ...string) {
	t.Helper()
	for _, w := range words {
		if !strings.Contains(string(r.body), w) {
			t.Fatalf("message does not say %q: %s", w, r.body)
		}
	}
}

// TestGrowthCaps: a post that would start a board beyond --max-boards is
// 422 too_many_boards, one beyond --max-topics 422 too_many_topics; both
// change nothing, are counted in /metrics, and reach the typed client as
// their codes. Deleting a board's last topic frees its place.
func TestGrowthCaps(t *testing.T) {
	e := newCappedEnv(t, 2, 4)
	a := e.post(t, "a", "", "on a")
	b := e.post(t, "b", "", "on b")
	before := e.state(t, "a")

	r := e.do(t, "POST", "/api/boards/c/topics", js(t, shared.CreateTopic{Comment: "a third board"}),
		jsonHdr("Idempotency-Key", "third-key-0123456789abcdef"))
	wantError(t, r, http.StatusUnprocessableEntity, shared.CodeTooManyBoards)
	wantMessage(t, r, "as many boards as it allows (2)", "board that already has topics")
	e.unchanged(t, "a", before) // the cursor did not move
	if snap, _ := e.snapshot(t, "c", ""); len(snap.Topics) != 0 {
		t.Fatalf("refused board c holds %d topics", len(snap.Topics))
	}

	e.post(t, "a", "", "a second on a")
	e.post(t, "b", "", "a second on b")
	before = e.state(t, "a")
	r = e.do(t, "POST", "/api/boards/a/topics", js(t, shared.CreateTopic{Comment: "a fifth topic"}), jsonHdr())
	wantError(t, r, http.StatusUnprocessableEntity, shared.CodeTooManyTopics)
	wantMessage(t, r, "as many topics as it allows (4)", "keep a copy")
	e.unchanged(t, "a", before)
	_, err := (&client.Client{Base: e.srv.URL}).Post(context.Background(), "a", shared.CreateTopic{Comment: "again"}, "")
	wantClientError(t, err, shared.CodeTooManyTopics)

	r = e.do(t, "DELETE", topicPath("b", b.topic.ID), "", hdr("Authorization", bearer(b.token)))
	wantStatus(t, r, http.StatusNoContent)
	r = e.do(t, "POST", "/api/boards/c/topics", js(t, shared.CreateTopic{Comment: "a third board"}),
		jsonHdr("Idempotency-Key", "third-key-0123456789abcdef"))
	wantError(t, r, http.StatusUnprocessableEntity, shared.CodeTooManyBoards) // b has one topic left
	r = e.do(t, "DELETE", topicPath("a", a.topic.ID), "", hdr("Authorization", bearer(moderatorToken)))
	wantStatus(t, r, http.StatusNoContent)
	snap, _ := e.snapshot(t, "b", "")
	r = e.do(t, "DELETE", topicPath("b", snap.Topics[0].ID), "", hdr("Authorization", bearer(moderatorToken)))
	wantStatus(t, r, http.StatusNoContent)
	e.post(t, "c", "", "b's place", "Idempotency-Key", "third-key-0123456789abcdef")

	// Counted when refused, before the answer went out.
	r = e.do(t, "GET", "/metrics", "", nil)
	for reason, want := range map[string]float64{"too_many_boards": 2, "too_many_topics": 2} {
		if v, _ := metricValue(t, string(r.body), "kairan_rejected_total", "reason", reason); v != want {
			t.Errorf("kairan_rejected_total{reason=%q} = %v, want %v", reason, v, want)
		}
	}
}

// ipv6 is the address of /64 number n of the /48 2001:db8:<site>::/48
// (n/256 picks the /56), with host bits that change with n as a client
// rotating addresses would send.
func ipv6(site, n int) string { return fmt.Sprintf("2001:db8:%x:%x::%x", site, n, 1+n*7) }

// TestStreamCapsPerNetwork: behind a trusted proxy, the /64s of one IPv6
// /56 share 4 clients' streams and the /56s of one /48 share 16: beyond
// that 503 unavailable says the network is full, while a client in another
// /48 still connects.
func TestStreamCapsPerNetwork(t *testing.T) {
	e := newStreamEnv(t, hubOptions{configure: func(c *httpapi.Config) {
		c.Streams = limit.NewStreams(1000, 1)
		c.Proxies = loopbackProxy(t)
	}})
	from := func(addr string) http.Header { return hdr("X-Forwarded-For", addr) }
	openFrom := func(addr string) {
		t.Helper()
		e.wantReset(t, e.open(t, "/api/boards/lobby/events", from(addr)).next(t), "lobby")
	}
	refused := func(addr, want string) {
		t.Helper()
		r := e.do(t, "GET", "/api/boards/lobby/changes?wait=0", "", from(addr))
		wantError(t, r, http.StatusServiceUnavailable, shared.CodeUnavailable)
		wantRetryAfter(t, r, 5, 15)
		wantMessage(t, r, want)
	}
	for n := range 4 {
		openFrom(ipv6(1, n))
	}
	refused(ipv6(1, 4), "Your network")
	refused(ipv6(1, 0), "Your address")
	for n := range 12 { // three more /56s of the /48
		openFrom(ipv6(1, 256*(1+n/4)+n%4))
	}
	refused(ipv6(1, 256*4), "Your network")
	openFrom(ipv6(2, 0))
	openFrom("203.0.113.1") // IPv4 is not grouped
	openFrom("203.0.113.2")
	e.waitMetric(t, "kairan_rejected_total", equals(2), "reason", "streams_network")
}

// TestRateLimitPerNetwork: behind a trusted proxy, the /64s of one IPv6
// /56 share 4 clients' writes and the /56s of one /48 share 16; beyond
// that 429 rate_limited names the network, takes nothing, changes nothing,
// and a client in another /48 still writes.
func TestRateLimitPerNetwork(t *testing.T) {
	e := newEnv(t, func(c *httpapi.Config) {
		c.Writes = limit.NewWrites(1) // burst 1: a /56 4 at once, a /48 16
		c.Proxies = loopbackProxy(t)
	})
	refused := func(addr, want string) {
		t.Helper()
		before := e.state(t, "lobby")
		r := e.do(t, "POST", "/api/boards/lobby/topics", js(t, shared.CreateTopic{Comment: "one too many"}),
			jsonHdr("X-Forwarded-For", addr))
		wantError(t, r, http.StatusTooManyRequests, shared.CodeRateLimited)
		wantRetryAfter(t, r, 1, 60)
		wantMessage(t, r, want, "second")
		e.unchanged(t, "lobby", before)
	}
	for n := range 4 {
		e.post(t, "lobby", "", fmt.Sprint("from /64 ", n), "X-Forwarded-For", ipv6(1, n))
	}
	refused(ipv6(1, 4), "Your network (2001:db8:1::/56) is writing faster")
	refused(ipv6(1, 0), "You are writing faster")
	for n := range 12 {
		e.post(t, "lobby", "", fmt.Sprint("from /56 ", 1+n/4), "X-Forwarded-For", ipv6(1, 256*(1+n/4)+n%4))
	}
	refused(ipv6(1, 256*4), "Your network (2001:db8:1::/48) is writing faster")
	e.post(t, "lobby", "", "another /48", "X-Forwarded-For", ipv6(2, 0))
	e.post(t, "lobby", "", "IPv4", "X-Forwarded-For", "203.0.113.1")
}
