package httpapi_test

// Storage outages (DESIGN.md section 3): a full disk, a read-only database
// and an unreachable PostgreSQL answer 503 unavailable with Retry-After and
// a sentence for the person, /healthz says which, and nothing is lost or
// doubled once the storage is back. The disk is a real tmpfs filled to the
// brim; PostgreSQL is the real server, its sessions really terminated, or
// cut off by a TCP proxy.

import (
	"context"
	"database/sql"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/uptrace/bun/driver/pgdriver"

	"github.com/kairan/kairan/api/httpapi"
	"github.com/kairan/kairan/api/internal/pgtest"
	"github.com/kairan/kairan/api/internal/tmpfs"
	"github.com/kairan/kairan/api/store"
	"github.com/kairan/kairan/shared"
)

// serve serves the API over st on loopback.
func serve(t *testing.T, st *store.Store) *env {
	t.Helper()
	srv := httptest.NewServer(httpapi.New(httpapi.Config{Store: st, ModeratorToken: moderatorToken}))
	t.Cleanup(srv.Close)
	return &env{srv: srv, st: st}
}

func open(t *testing.T, opt store.Options) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), opt)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// wantUnavailable asserts a 503 unavailable with a Retry-After of the
// given seconds and a message that mentions about.
func wantUnavailable(t *testing.T, r response, retryAfter int, about string) {
	t.Helper()
	wantError(t, r, http.StatusServiceUnavailable, shared.CodeUnavailable)
	if got := r.header.Get("Retry-After"); got != strconv.Itoa(retryAfter) {
		t.Fatalf("Retry-After %q, want %d; body %s", got, retryAfter, r)
	}
	if !strings.Contains(string(r.body), about) {
		t.Fatalf("message does not say %q: %s", about, r)
	}
}

// wantHealth asserts /healthz: 200 {"status":"ok"} for reason "", else 503
// with the reason, a Retry-After and the contract's error body.
func (e *env) wantHealth(t *testing.T, reason string) {
	t.Helper()
	r := e.do(t, "GET", "/healthz", "", nil)
	wantJSONType(t, r)
	if reason == "" {
		wantStatus(t, r, http.StatusOK)
		if got := strings.TrimSpace(string(r.body)); got != `{"status":"ok"}` {
			t.Fatalf("healthz body %s", got)
		}
		return
	}
	wantStatus(t, r, http.StatusServiceUnavailable)
	m := fields(t, r.body, "status", "reason", "error")
	if jsonString(t, m["status"]) != "unavailable" || jsonString(t, m["reason"]) != reason {
		t.Fatalf("healthz says %s, want unavailable because %s", r.body, reason)
	}
	var e2 shared.Error
	if json.Unmarshal(m["error"], &e2) != nil || e2.Code != shared.CodeUnavailable || e2.Message == "" {
		t.Fatalf("healthz error %s", m["error"])
	}
	if n, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || n <= 0 {
		t.Fatalf("healthz Retry-After %q", r.header.Get("Retry-After"))
	}
}

func (e *env) postKey(t *testing.T, comment, key string) response {
	t.Helper()
	return e.do(t, "POST", "/api/boards/lobby/topics", js(t, shared.CreateTopic{Comment: comment}),
		jsonHdr("Idempotency-Key", key))
}

// TestDiskFull fills the disk under a SQLite database: posts get 503 with
// Retry-After, /healthz says disk_full, deletes still work, and once
// space is freed the refused posts go through, each exactly once.
func TestDiskFull(t *testing.T) {
	dir := tmpfs.Mount(t, 8<<20)
	path := filepath.Join(dir, "kairan.db")
	e := serve(t, open(t, store.Options{Dialect: store.SQLite, Target: path, DiskReserve: 1 << 20}))
	var early []created
	for i := range 4 {
		early = append(early, e.post(t, "lobby", "", "before the disk filled "+strconv.Itoa(i)))
	}
	free := tmpfs.Fill(t, dir, 256<<10) // a log file grew, say

	acked := map[int64]string{}
	var refusedKey string
	for i := 0; refusedKey == ""; i++ {
		if i == 1000 {
			t.Fatal("1000 posts fit in 256 KiB")
		}
		key := "fill-key-0123456789abcdef-" + strconv.Itoa(i)
		r := e.postKey(t, strings.Repeat("x", 1000)+key, key)
		switch r.status {
		case http.StatusCreated:
			acked[decodeCreated(t, r).topic.ID] = key
		default:
			wantUnavailable(t, r, 30, "disk is full")
			refusedKey = key
		}
	}
	before := e.state(t, "lobby") // reads still work
	r := e.postKey(t, "a short one", "short-key-0123456789abcdef")
	wantUnavailable(t, r, 30, "disk is full")
	e.unchanged(t, "lobby", before)
	e.wantHealth(t, "disk_full")

	// Deletes go on, by the owner and by the moderator.
	r = e.do(t, "DELETE", topicPath("lobby", early[0].topic.ID), "", hdr("Authorization", bearer(early[0].token)))
	wantStatus(t, r, http.StatusNoContent)
	r = e.do(t, "DELETE", topicPath("lobby", early[1].topic.ID), "", hdr("Authorization", bearer(moderatorToken)))
	wantStatus(t, r, http.StatusNoContent)
	// Edits wait like posts.
	r = e.do(t, "PATCH", topicPath("lobby", early[2].topic.ID), `{"comment":"edited"}`,
		jsonHdr("Authorization", bearer(early[2].token)))
	wantUnavailable(t, r, 30, "disk is full")
	wantUnavailable(t, e.postKey(t, strings.Repeat("x", 1000)+refusedKey, refusedKey), 30, "disk is full")

	free()
	e.wantHealth(t, "")
	r = e.postKey(t, strings.Repeat("x", 1000)+refusedKey, refusedKey)
	wantStatus(t, r, http.StatusCreated)
	retried := decodeCreated(t, r)
	r = e.postKey(t, strings.Repeat("x", 1000)+refusedKey, refusedKey)
	wantStatus(t, r, http.StatusOK) // the same post again: answered, not doubled
	if again := decodeCreated(t, r); again.topic.ID != retried.topic.ID {
		t.Fatalf("retry made topic %d, then %d", retried.topic.ID, again.topic.ID)
	}
	acked[retried.topic.ID] = refusedKey
	e.post(t, "lobby", "", "after")

	// Nothing lost or doubled, also after a restart: every acknowledged
	// post once, the deleted ones gone, the refused ones never made.
	e.st.Close()
	e = serve(t, open(t, store.Options{Dialect: store.SQLite, Target: path, DiskReserve: 1 << 20}))
	snap, _ := e.snapshot(t, "lobby", "?limit=500")
	seen := map[int64]bool{}
	for _, topic := range snap.Topics {
		seen[topic.ID] = true
		if strings.Contains(topic.Comment, "short") || topic.ID == early[0].topic.ID || topic.ID == early[1].topic.ID {
			t.Fatalf("topic %d should not be there: %q", topic.ID, topic.Comment)
		}
	}
	for id, key := range acked {
		if !seen[id] {
			t.Fatalf("acknowledged post %d (%s) is lost", id, key)
		}
	}
	if want := len(acked) + 2 + 1; len(snap.Topics) != want {
		t.Fatalf("%d topics, want %d", len(snap.Topics), want)
	}
	changes, err := e.st.ChangesSince(context.Background(), 0, 10_000)
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range changes {
		if c.Cursor != e.cursor(int64(i+1)) {
			t.Fatalf("change %d has cursor %s: the log has a gap or a double", i+1, c.Cursor)
		}
	}
	if want := 4 + len(acked) + 2 + 1; len(changes) != want {
		t.Fatalf("%d changes, want %d (posts, deletes)", len(changes), want)
	}
}

// pgAdmin opens a plain connection to the test database, named so that
// it is not taken for kairan's.
func pgAdmin(t *testing.T, dsn string) *sql.DB {
	t.Helper()
	db := sql.OpenDB(pgdriver.NewConnector(pgdriver.WithDSN(dsn), pgdriver.WithApplicationName("test-admin")))
	t.Cleanup(func() { db.Close() })
	return db
}

// terminate ends every session kairan's store has open on the database
// and waits until they are gone; it returns how many there were. All are
// signalled first, then each is waited for (pg_terminate_backend with a
// timeout waits at least 100 ms per session it finds still running).
func terminate(t *testing.T, admin *sql.DB) int {
	t.Helper()
	var pids []int64
	rows, err := admin.Query(`SELECT pid FROM pg_stat_activity
		WHERE datname = current_database() AND application_name = 'kairan'`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var pid int64
		if err := rows.Scan(&pid); err != nil {
			t.Fatal(err)
		}
		pids = append(pids, pid)
	}
	if err := rows.Close(); err != nil {
		t.Fatal(err)
	}
	for _, wait := range []string{"", ", 10000"} {
		for _, pid := range pids {
			// false (with a warning) for a session already gone
			if _, err := admin.Exec("SELECT pg_terminate_backend(" + strconv.FormatInt(pid, 10) + wait + ")"); err != nil {
				t.Fatal(err)
			}
		}
	}
	return len(pids)
}

// busy runs n requests of every kind at once, so the pool holds several
// connections, and returns each status seen.
func (e *env) busy(t *testing.T, n int, owned created) []response {
	t.Helper()
	out := make(chan response, 3*n)
	for i := range n {
		go func() {
			r, _ := e.send("GET", "/api/boards/lobby", nil, nil)
			out <- r
		}()
		go func() {
			body := js(t, shared.CreateTopic{Comment: "busy " + strconv.Itoa(i)})
			r, _ := e.send("POST", "/api/boards/lobby/topics", strings.NewReader(body), jsonHdr())
			out <- r
		}()
		go func() {
			r, _ := e.send("PATCH", topicPath("lobby", owned.topic.ID), strings.NewReader(`{"comment":"edit `+strconv.Itoa(i)+`"}`),
				jsonHdr("Authorization", bearer(owned.token)))
			out <- r
		}()
	}
	rs := make([]response, 0, 3*n)
	for range 3 * n {
		rs = append(rs, <-out)
	}
	return rs
}

func wantAllOK(t *testing.T, what string, rs []response) {
	t.Helper()
	for _, r := range rs {
		if r.status < 200 || r.status > 299 {
			t.Fatalf("%s: a request got %s", what, r)
		}
	}
}

// TestPostgresTerminatedSessions: after PostgreSQL ends every session of
// kairan's pool (a restart, an operator's pg_terminate_backend), the next
// requests succeed; none meets a dead pooled connection.
func TestPostgresTerminatedSessions(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	e := serve(t, open(t, store.Options{Dialect: store.Postgres, Target: dsn}))
	admin := pgAdmin(t, dsn)
	owned := e.post(t, "lobby", "", "mine")
	for round := range 3 {
		wantAllOK(t, "warm-up", e.busy(t, 8, owned))
		if n := terminate(t, admin); n < 2 {
			t.Fatalf("round %d: %d sessions to terminate, want a pool of several", round, n)
		}
		if round == 1 {
			// One at a time: each takes the pool's most recent connection.
			for range 10 {
				wantStatus(t, e.do(t, "GET", "/api/boards/lobby", "", nil), http.StatusOK)
				wantStatus(t, e.do(t, "POST", "/api/boards/lobby/topics", `{"comment":"one by one"}`, jsonHdr()), http.StatusCreated)
			}
			continue
		}
		wantAllOK(t, "after pg_terminate_backend", e.busy(t, 8, owned))
		e.wantHealth(t, "")
	}
}

// TestPostgresUnreachable cuts kairan off from PostgreSQL with a proxy:
// requests get 503 with Retry-After (never 500), /healthz says
// database_unreachable; when the proxy is back, requests succeed.
func TestPostgresUnreachable(t *testing.T) {
	proxy, dsn := pgtest.NewProxy(t, pgtest.NewDatabase(t))
	e := serve(t, open(t, store.Options{Dialect: store.Postgres, Target: dsn}))
	owned := e.post(t, "lobby", "", "mine")
	wantAllOK(t, "warm-up", e.busy(t, 4, owned))
	before := e.state(t, "lobby")

	proxy.Stop()
	for _, r := range e.busy(t, 4, owned) {
		wantUnavailable(t, r, 5, "cannot reach its database")
	}
	r := e.do(t, "DELETE", topicPath("lobby", owned.topic.ID), "", hdr("Authorization", bearer(owned.token)))
	wantUnavailable(t, r, 5, "cannot reach its database")
	e.wantHealth(t, "database_unreachable")

	proxy.Start()
	e.wantHealth(t, "")
	e.unchanged(t, "lobby", before) // nothing refused was written
	wantAllOK(t, "proxy back", e.busy(t, 4, owned))
	r = e.do(t, "DELETE", topicPath("lobby", owned.topic.ID), "", hdr("Authorization", bearer(owned.token)))
	wantStatus(t, r, http.StatusNoContent)
}

// TestPostgresReadOnly: a database that turned read-only (a standby after
// a failover, default_transaction_read_only) refuses writes with 503 and
// serves reads; /healthz says read_only.
func TestPostgresReadOnly(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	e := serve(t, open(t, store.Options{Dialect: store.Postgres, Target: dsn}))
	admin := pgAdmin(t, dsn)
	owned := e.post(t, "lobby", "", "mine")
	setReadOnly := func(on bool) {
		t.Helper()
		stmt := "ALTER DATABASE " + dbName(t, admin) + " RESET default_transaction_read_only"
		if on {
			stmt = "ALTER DATABASE " + dbName(t, admin) + " SET default_transaction_read_only = on"
		}
		if _, err := admin.Exec(stmt); err != nil {
			t.Fatal(err)
		}
		terminate(t, admin) // sessions take the setting when they start
	}
	setReadOnly(true)
	before := e.state(t, "lobby")
	wantUnavailable(t, e.postKey(t, "refused", "read-only-key-0123456789abcdef"), 30, "read-only")
	r := e.do(t, "DELETE", topicPath("lobby", owned.topic.ID), "", hdr("Authorization", bearer(owned.token)))
	wantUnavailable(t, r, 30, "read-only")
	e.wantHealth(t, "read_only")
	e.unchanged(t, "lobby", before)

	setReadOnly(false)
	e.wantHealth(t, "")
	wantStatus(t, e.postKey(t, "refused", "read-only-key-0123456789abcdef"), http.StatusCreated)
}

func dbName(t *testing.T, admin *sql.DB) string {
	t.Helper()
	var name string
	if err := admin.QueryRow("SELECT current_database()").Scan(&name); err != nil {
		t.Fatal(err)
	}
	return name
}
