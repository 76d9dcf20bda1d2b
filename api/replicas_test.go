package main

import (
	"context"
	"database/sql"
	"fmt"
	gosync "sync"
	"testing"
	"time"

	"github.com/uptrace/bun/driver/pgdriver"

	"github.com/kairan/kairan/api/config"
	"github.com/kairan/kairan/api/internal/pgtest"
	"github.com/kairan/kairan/app/client"
	"github.com/kairan/kairan/app/sync"
	"github.com/kairan/kairan/shared"
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
