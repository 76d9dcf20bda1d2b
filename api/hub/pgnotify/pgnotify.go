// Package pgnotify wakes a replica's hub when any replica commits a change
// on PostgreSQL. Every write transaction runs pg_notify with its seq; each
// replica LISTENs on one connection. Notifications are lost while that
// connection is down, so after any listener error the loop re-LISTENs and
// then catches up from the change log, and it also polls the log every
// few seconds as a safety net (notes/bun.md §11.5).
package pgnotify

import (
	"context"
	"database/sql"
	"errors"
	"log/slog"
	"net"
	"strconv"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"
	"github.com/uptrace/bun/driver/pgdriver"

	"github.com/kairan/kairan/api/store"
)

// Hub is what the listener wakes; the hub's own loop then reads the log,
// so there is one reader per replica whatever wakes it.
type Hub interface {
	Notify(seq int64)
}

// Poll is the safety-net interval: the longest a lost notification can
// delay delivery.
const Poll = 2 * time.Second

// Listen runs until ctx is done. It opens its own connection to dsn.
func Listen(ctx context.Context, dsn string, h Hub, log *slog.Logger) {
	sqldb := sql.OpenDB(pgdriver.NewConnector(pgdriver.WithDSN(dsn), pgdriver.WithApplicationName("kairan-listener")))
	db := bun.NewDB(sqldb, pgdialect.New())
	defer db.Close()
	ln := pgdriver.NewListener(db)
	// Receive ignores ctx cancellation; Close unblocks it.
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	defer ln.Close()

	resync := true
	// While PostgreSQL is away, the listener tries again with a growing
	// pause (reset once a receive works) and logs the trouble once when it
	// begins and once when it ends: an outage of minutes neither spins nor
	// floods the log.
	pause, failing := minPause, false
	fail := func(msg string, err error) {
		level := slog.LevelDebug
		if !failing {
			level = slog.LevelWarn
		}
		log.Log(ctx, level, msg, "err", err, "pause", pause)
		failing = true
		resync = true
		wait(ctx, pause)
		pause = min(2*pause, maxPause)
	}
	for ctx.Err() == nil {
		if resync {
			// LISTEN first, then read the log: a change committed in between
			// is either read now or notified later, never neither.
			if err := ln.Listen(ctx, store.NotifyChannel); err != nil {
				fail("pgnotify: cannot listen; trying again", err)
				continue
			}
			if failing {
				log.Info("pgnotify: listening again")
				failing = false
			}
			h.Notify(0)
			resync = false
		}
		_, payload, err := ln.ReceiveTimeout(ctx, Poll)
		var netErr net.Error
		switch {
		case ctx.Err() != nil:
			return
		case err == nil:
			// A notification carries its seq: one this replica's hub has
			// already fanned out (its own write, published directly) costs
			// no read of the log.
			pause = minPause
			seq, perr := strconv.ParseInt(payload, 10, 64)
			if perr != nil || seq <= 0 {
				seq = 0
			}
			h.Notify(seq)
		case errors.As(err, &netErr) && netErr.Timeout():
			// The safety poll: read what is new. The connection works, so
			// the next trouble is tried again soon.
			pause = minPause
			h.Notify(0)
		default:
			fail("pgnotify: listener connection lost; listening again", err)
		}
	}
}

// The pause between LISTEN attempts while they fail.
const (
	minPause = 250 * time.Millisecond
	maxPause = 5 * time.Second
)

func wait(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
