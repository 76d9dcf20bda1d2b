package hub_test

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/kairan/kairan/api/hub"
	"github.com/kairan/kairan/api/internal/logtest"
	"github.com/kairan/kairan/api/internal/pgtest"
	"github.com/kairan/kairan/api/store"
	"github.com/kairan/kairan/shared"
)

// saying waits until at least n records of log hold text, and returns them.
func saying(t *testing.T, log *logtest.Recorder, text string, n int) []slog.Record {
	t.Helper()
	list := log.Wait(t, patience, fmt.Sprintf("%d lines saying %q", n, text), func(l []slog.Record) bool {
		return len(logtest.Saying(l, text)) >= n
	})
	return logtest.Saying(list, text)
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
	log := logtest.New()
	h := newHub(t, st, hub.Config{Heartbeat: 5 * time.Millisecond, Logger: log.Logger()})
	sub, err := h.Subscribe(context.Background(), "lobby", cursorAt(st, 0))
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()

	proxy.Stop()
	h.Notify(0)
	tries := saying(t, log, "cannot read the change log", 10)
	for i, rec := range tries {
		if want := map[bool]slog.Level{true: slog.LevelError, false: slog.LevelDebug}[i == 0]; rec.Level != want {
			t.Fatalf("try %d logged at %v, want %v", i+1, rec.Level, want)
		}
	}

	proxy.Start()
	w := newWriter(t, st, h)
	posted := w.post("lobby")
	saying(t, log, "reading the change log again", 1)
	wantChanges(t, nextChanges(t, sub, 1), []shared.Change{posted})
}
