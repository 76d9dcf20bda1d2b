package pgnotify_test

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/kairan/kairan/api/hub/pgnotify"
	"github.com/kairan/kairan/api/internal/pgtest"
)

// patience bounds every wait; it only matters when the code is broken.
const patience = 30 * time.Second

// records keeps the log records and signals each new one.
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

// wait waits until ok holds for the records, and returns them.
func (r *records) wait(t *testing.T, what string, ok func([]slog.Record) bool) []slog.Record {
	t.Helper()
	deadline := time.After(patience)
	for {
		r.mu.Lock()
		list := append([]slog.Record(nil), r.list...)
		r.mu.Unlock()
		if ok(list) {
			return list
		}
		select {
		case <-r.added:
		case <-deadline:
			t.Fatalf("never logged %s; log: %v", what, list)
		}
	}
}

// wakes counts the hub's wake-ups.
type wakes chan struct{}

func (w wakes) Notify(int64) {
	select {
	case w <- struct{}{}:
	default:
	}
}

// TestUnreachableServer: while PostgreSQL is unreachable the listener
// tries again with a growing pause and warns once; when the server is
// back it listens again, says so, and wakes the hub to catch up.
func TestUnreachableServer(t *testing.T) {
	proxy, dsn := pgtest.NewProxy(t, pgtest.NewDatabase(t))
	log := &records{added: make(chan struct{}, 1)}
	woken := make(wakes, 1)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); pgnotify.Listen(ctx, dsn, woken, slog.New(log)) }()
	t.Cleanup(func() { cancel(); <-done })
	select {
	case <-woken: // listening
	case <-time.After(patience):
		t.Fatal("the listener never woke the hub")
	}

	proxy.Stop()
	const tries = 3
	list := log.wait(t, "3 failed tries", func(l []slog.Record) bool { return len(l) >= tries })
	for i, rec := range list[:tries] {
		if want := map[bool]slog.Level{true: slog.LevelWarn, false: slog.LevelDebug}[i == 0]; rec.Level != want {
			t.Fatalf("try %d logged at %v, want %v: %s", i+1, rec.Level, want, rec.Message)
		}
		if i == 0 {
			continue
		}
		// A pause never ends early, so the gaps are at least 250 ms, 500 ms, …
		if gap, least := rec.Time.Sub(list[i-1].Time), 250*time.Millisecond<<(i-1); gap < least {
			t.Fatalf("try %d came %v after the one before, want at least %v", i+1, gap, least)
		}
	}

	for len(woken) > 0 {
		<-woken
	}
	proxy.Start()
	log.wait(t, "listening again", func(l []slog.Record) bool { return l[len(l)-1].Message == "pgnotify: listening again" })
	select {
	case <-woken:
	case <-time.After(patience):
		t.Fatal("the hub was not woken after the listener came back")
	}
}
