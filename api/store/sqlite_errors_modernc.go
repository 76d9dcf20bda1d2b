// The same condition under which sqliteshim picks modernc.org/sqlite.

//go:build !cgosqlite && ((darwin && amd64) || (darwin && arm64) || (linux && 386) || (linux && amd64) || (linux && arm) || (linux && arm64) || (windows && amd64))

package store

import (
	"errors"

	"modernc.org/sqlite"
)

// sqliteCode is the (extended) result code of a modernc SQLite error.
func sqliteCode(err error) (int, bool) {
	var e *sqlite.Error
	if errors.As(err, &e) {
		return e.Code(), true
	}
	return 0, false
}
