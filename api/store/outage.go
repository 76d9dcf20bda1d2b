package store

import (
	"errors"
	"time"

	"github.com/kairan/kairan/shared"
)

// Storage trouble is not a bug: a full disk, a read-only database or an
// unreachable PostgreSQL server pass, and the client should retry later.
// The store turns the drivers' errors for them into an *Outage, which
// reads as a shared.Error with CodeUnavailable and a Retry-After, so the
// HTTP layer answers 503 through its one table (DESIGN.md section 3).

// Reason says which storage trouble stopped a request; /healthz shows it.
type Reason string

// Reasons of an Outage.
const (
	DiskFull    Reason = "disk_full"
	ReadOnly    Reason = "read_only"
	Unreachable Reason = "database_unreachable"
)

// retryAfter is how long a client should wait per reason: a database
// restart or failover takes seconds; disk space and write access come
// back when an operator acts.
var retryAfter = map[Reason]time.Duration{
	DiskFull:    30 * time.Second,
	ReadOnly:    30 * time.Second,
	Unreachable: 5 * time.Second,
}

// Sentences for the person whose request failed.
const (
	msgDiskFull = "The server's disk is full, so this could not be saved; deleting topics still works. " +
		"Send it again later, once the server's operator has freed disk space."
	msgDiskFullDelete = "The server's disk is full, so even this delete could not be saved. " +
		"Send it again later, once the server's operator has freed disk space."
	msgReadOnly = "The server's database is read-only at the moment, so nothing can be saved; reading still works. " +
		"Send it again later, once the server's operator has made it writable."
	msgUnreachable = "The server cannot reach its database right now; try again in a few seconds."
	// A write whose connection died at COMMIT may have committed.
	msgCommitUnknown = "The server lost its database connection while saving, so this may or may not have been saved. " +
		"Reload the board to see, or send it again with the same Idempotency-Key."
)

// Outage is a storage failure that should pass. errors.As (and
// shared.AsError) turn it into the *shared.Error the client gets; Unwrap
// gives the driver's error for the log.
type Outage struct {
	Reason  Reason
	message string
	err     error
}

func newOutage(reason Reason, message string, err error) *Outage {
	return &Outage{Reason: reason, message: message, err: err}
}

func (o *Outage) Error() string { return "store: " + string(o.Reason) + ": " + o.err.Error() }

func (o *Outage) Unwrap() error { return o.err }

// As makes an Outage read as the *shared.Error of the wire contract.
func (o *Outage) As(target any) bool {
	p, ok := target.(**shared.Error)
	if ok {
		*p = &shared.Error{Code: shared.CodeUnavailable, Message: o.message, RetryAfter: retryAfter[o.Reason]}
	}
	return ok
}

// ReasonOf is the Reason of the Outage err is or wraps, or "".
func ReasonOf(err error) Reason {
	var o *Outage
	if errors.As(err, &o) {
		return o.Reason
	}
	return ""
}

// classify turns a driver's error for storage trouble into an *Outage and
// returns any other error as it is. A full SQLite disk also gives up the
// disk reserve (disk.go), so deletes can still be saved.
func (s *Store) classify(err error) error {
	if err == nil || shared.AsError(err) != nil {
		return err // nothing, ours, or classified already
	}
	var reason Reason
	if s.dialect == Postgres {
		reason = pgReason(err)
	} else {
		reason = sqliteReason(err)
	}
	switch reason {
	case DiskFull:
		if s.disk != nil {
			s.disk.spend(err)
		}
		return newOutage(DiskFull, msgDiskFull, err)
	case ReadOnly:
		return newOutage(ReadOnly, msgReadOnly, err)
	case Unreachable:
		return newOutage(Unreachable, msgUnreachable, err)
	}
	return err
}
