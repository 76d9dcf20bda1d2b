package main

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"slices"
	gosync "sync"
	"testing"
	"time"

	"github.com/uptrace/bun/driver/pgdriver"

	"github.com/kairan/kairan/api/config"
	"github.com/kairan/kairan/api/internal/pgtest"
	"github.com/kairan/kairan/app/client"
	"github.com/kairan/kairan/app/sync"
	"github.com/kairan/kairan/shared"
	"github.com/kairan/kairan/shared/sse"
)

// Scale-out on PostgreSQL: replicas share one database and learn of each
// other's writes through LISTEN/NOTIFY. These run when KAIRAN_TEST_POSTGRES
// names a server (CI), each on a database of its own.

func startReplicas(t *testing.T, n int) (string, []*Main) {
	t.Helper()
	dsn := pgtest.NewDatabase(t)
	var ms []*Main
	for range n {
		ms = append(ms, startServer(t, unlimited, func(c *config.Config) { c.DB = dsn }))
	}
	return dsn, ms
}

func TestReplicasSeeEachOthersWrites(t *testing.T) {
	_, rs := startReplicas(t, 2)
	a, b := rs[0], rs[1]
	sse := follow(t, b.URL(), "lobby", sync.Replica{})
	polling := follow(t, b.URL(), "lobby", sync.Replica{}, func(e *sync.Engine) {
		e.Stream = func(context.Context, string, sync.StreamEvents) error {
			return fmt.Errorf("%w: SSE disabled for this client", sync.ErrStreamRefused) // so it long-polls
		}
	})
	for _, f := range []*follower{sse, polling} {
		f.until(t, 20*time.Second, "the first snapshot", func(r sync.Replica) bool { return r.Cursor != "" })
	}
	created := post(t, a.URL(), "lobby", "written through A")
	for _, f := range []*follower{sse, polling} {
		f.until(t, 10*time.Second, "A's post on B", func(r sync.Replica) bool {
			return len(r.Topics) == 1 && r.Topics[0].ID == created.Topic.ID
		})
	}
}

// TestManyWritersOnTwoReplicasNothingSkippedOrDoubled: 8 writers spread
// over two replicas write 4,000 changes while subscribers on B follow by
// cursor; B's listener connection is killed in the middle. Every
// subscriber must apply exactly the log's changes, in order.
func TestManyWritersOnTwoReplicasNothingSkippedOrDoubled(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 4,000 changes; skipped with -short")
	}
	dsn, rs := startReplicas(t, 2)
	b := rs[1]
	head, err := b.store.Head(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var fs []*follower
	for range 3 {
		f := follow(t, b.URL(), "busy", sync.Replica{})
		f.until(t, 20*time.Second, "the first snapshot", func(r sync.Replica) bool { return r.Cursor != "" })
		fs = append(fs, f)
	}

	const writers, each = 8, 500
	var wg gosync.WaitGroup
	errs := make(chan error, writers)
	var killed gosync.Once
	for w := range writers {
		api := client.Client{Base: rs[w%2].URL()}
		wg.Go(func() {
			for i := range each {
				if _, err := api.Post(context.Background(), "busy", shared.CreateTopic{Comment: fmt.Sprint(w, "-", i)}, ""); err != nil {
					errs <- err
					return
				}
				if w == 0 && i == each/2 {
					killed.Do(func() { killListeners(t, dsn) })
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	want, err := b.store.Head(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fs {
		f.until(t, 60*time.Second, "every change", func(r sync.Replica) bool {
			c, _ := shared.ParseCursor(r.Cursor)
			return c.Seq == want
		})
		checkLog(t, b.store, f, "busy", head)
		if len(f.seen) != writers*each {
			t.Fatalf("a subscriber applied %d changes, want %d", len(f.seen), writers*each)
		}
	}
}

// killListeners ends every replica's LISTEN connection from the server
// side, as a network fault or a PostgreSQL restart would.
func killListeners(t *testing.T, dsn string) {
	db := sql.OpenDB(pgdriver.NewConnector(pgdriver.WithDSN(dsn)))
	defer db.Close()
	var n int
	err := db.QueryRow(`SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE application_name = 'kairan-listener' AND datname = current_database()`).Scan(&n)
	if err != nil || n == 0 {
		t.Errorf("killed %d listener connections: %v", n, err)
	}
}

// TestClientsResumeOnTheOtherReplica: replica A stops; its clients move to
// B (behind a load balancer they would simply reconnect) and resume from
// their cursors without loss or doubling.
func TestClientsResumeOnTheOtherReplica(t *testing.T) {
	_, rs := startReplicas(t, 2)
	a, b := rs[0], rs[1]
	post(t, a.URL(), "lobby", "before")
	f := follow(t, a.URL(), "lobby", sync.Replica{})
	r := f.until(t, 20*time.Second, "A's snapshot", func(r sync.Replica) bool { return len(r.Topics) == 1 })
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		post(t, b.URL(), "lobby", fmt.Sprint("on B ", i))
	}
	moved := follow(t, b.URL(), "lobby", r) // the same replica and cursor, now on B
	moved.until(t, 20*time.Second, "every change on B", func(r sync.Replica) bool { return len(r.Topics) == 6 })
	from, _ := shared.ParseCursor(r.Cursor)
	checkLog(t, b.store, moved, "lobby", from.Seq)
}

// TestResumeAnswersEveryCommittedChange: after two acknowledged posts, a
// long poll with wait=0 from the cursor before them answers both at once,
// and an SSE resume from there starts with both — on the replica that took
// them, and on one whose hub heard of the first only (its listener stops
// in between, so its hub cannot catch up by itself): a resume reads up to
// the database's head, not to what the hub has fanned out.
func TestResumeAnswersEveryCommittedChange(t *testing.T) {
	_, rs := startReplicas(t, 2)
	a, b := rs[0], rs[1]
	api := client.Client{Base: a.URL()}
	ctx := context.Background()
	before, err := api.Snapshot(ctx, "lobby")
	if err != nil {
		t.Fatal(err)
	}
	first := post(t, a.URL(), "lobby", "first")
	seen, err := a.store.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	waitHub(t, b, seen)
	b.stopListening()
	second := post(t, a.URL(), "lobby", "second")
	if b.hub.Last() != seen {
		t.Fatalf("test setup: B's hub moved from %d to %d without its listener", seen, b.hub.Last())
	}
	want := []int64{first.Topic.ID, second.Topic.ID}
	for name, m := range map[string]*Main{"A (took the posts)": a, "B (its hub heard of the first only)": b} {
		page, err := (&client.Client{Base: m.URL()}).Changes(ctx, "lobby", before.Cursor, 0)
		if err != nil {
			t.Fatal(err)
		}
		if got := topicIDs(page.Changes); !slices.Equal(got, want) || page.Reset != nil {
			t.Errorf("long poll on %s with wait=0: topics %v (reset %v), want %v", name, got, page.Reset != nil, want)
		}
		if got := firstEvents(t, m.URL(), before.Cursor, len(want)); !slices.Equal(got, want) {
			t.Errorf("SSE resume on %s: first events carry topics %v, want %v", name, got, want)
		}
	}
}

// waitHub waits until m's hub has fanned out seq.
func waitHub(t *testing.T, m *Main, seq int64) {
	t.Helper()
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	deadline := time.Now().Add(20 * time.Second)
	for m.hub.Last() < seq {
		if time.Now().After(deadline) {
			t.Fatalf("hub at %d, want %d", m.hub.Last(), seq)
		}
		<-tick.C
	}
}

func topicIDs(changes []shared.Change) []int64 {
	ids := []int64{}
	for _, c := range changes {
		ids = append(ids, c.Topic.ID)
	}
	return ids
}

// firstEvents opens an SSE stream from cursor and returns the topic ids of
// its first n events (a reset counts as id 0).
func firstEvents(t *testing.T, base, cursor string, n int) []int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, (&client.Client{Base: base}).EventsURL("lobby", cursor), nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	events := sse.NewDecoder(resp.Body, 1<<20)
	ids := []int64{}
	for len(ids) < n {
		ev, err := events.Next()
		if err != nil {
			t.Fatalf("stream ended after %v: %v", ids, err)
		}
		// The client's URL asks for lean frames (DESIGN.md section 3).
		cur, _ := shared.ParseCursor(cursor)
		c, err := shared.DecodeLeanChange(ev.Type, ev.ID, ev.Data, "lobby", cur.Epoch)
		if err != nil {
			ids = append(ids, 0)
			continue
		}
		ids = append(ids, c.Topic.ID)
	}
	return ids
}
