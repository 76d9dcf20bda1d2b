package pgnotify_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/kairan/kairan/api/hub/pgnotify"
	"github.com/kairan/kairan/api/internal/logtest"
	"github.com/kairan/kairan/api/internal/pgtest"
)

// patience bounds every wait; it only matters when the code is broken.
const patience = 30 * time.Second

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
	log := logtest.New()
	woken := make(wakes, 1)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); pgnotify.Listen(ctx, dsn, woken, log.Logger()) }()
	t.Cleanup(func() { cancel(); <-done })
	select {
	case <-woken: // listening
	case <-time.After(patience):
		t.Fatal("the listener never woke the hub")
	}

	proxy.Stop()
	const tries = 3
	list := log.Wait(t, patience, "3 failed tries", func(l []slog.Record) bool { return len(l) >= tries })
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
	log.Wait(t, patience, "listening again", func(l []slog.Record) bool { return l[len(l)-1].Message == "pgnotify: listening again" })
	select {
	case <-woken:
	case <-time.After(patience):
		t.Fatal("the hub was not woken after the listener came back")
	}
}
