package hub_test

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kairan/kairan/api/hub"
	"github.com/kairan/kairan/api/internal/pgtest"
	"github.com/kairan/kairan/api/store"
	"github.com/kairan/kairan/shared"
)

// records keeps every log record and signals each new one.
type records struct {
	mu    sync.Mutex
	list  []slog.Record
	added chan struct{}
}

func (r *records) Enabled(context.Context, slog.Level) bool { return true }
func (r *records) WithAttrs([]slog.Attr) slog.Handler       { return r }
func (r *records) WithGroup(string) slog.Handler            { return r }
func (r *records) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	r.list = append(r.list, rec)
	r.mu.Unlock()
	select {
	case r.added <- struct{}{}:
	default:
	}
	return nil
}

// waitFor waits until at least n records hold text, and returns them.
func (r *records) waitFor(t *testing.T, text string, n int) []slog.Record {
	t.Helper()
	deadline := time.After(patience)
	for {
		var found []slog.Record
		r.mu.Lock()
		for _, rec := range r.list {
			if strings.Contains(rec.Message, text) {
				found = append(found, rec)
			}
		}
		r.mu.Unlock()
		if len(found) >= n {
			return found
		}
		select {
		case <-r.added:
		case <-deadline:
			t.Fatalf("%d log records say %q, want %d", len(found), text, n)
		}
	}
}

// TestUnreachableDatabaseIsLoggedOnce: while PostgreSQL is unreachable
// the hub tries again on every heartbeat, logs the trouble as an error
// once (then at debug level), says when it reads again, and fans out
// again.
func TestUnreachableDatabaseIsLoggedOnce(t *testing.T) {
	proxy, dsn := pgtest.NewProxy(t, pgtest.NewDatabase(t))
	st, err := store.Open(context.Background(), store.Options{Dialect: store.Postgres, Target: dsn})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	log := &records{added: make(chan struct{}, 1)}
	h := newHub(t, st, hub.Config{Heartbeat: 5 * time.Millisecond, Logger: slog.New(log)})
	sub, err := h.Subscribe(context.Background(), "lobby", cursorAt(st, 0))
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()

	proxy.Stop()
	h.Notify(0)
	tries := log.waitFor(t, "cannot read the change log", 10)
	for i, rec := range tries {
		if want := map[bool]slog.Level{true: slog.LevelError, false: slog.LevelDebug}[i == 0]; rec.Level != want {
			t.Fatalf("try %d logged at %v, want %v", i+1, rec.Level, want)
		}
	}

	proxy.Start()
	w := newWriter(t, st, h)
	posted := w.post("lobby")
	log.waitFor(t, "reading the change log again", 1)
	wantChanges(t, nextChanges(t, sub, 1), []shared.Change{posted})
}
