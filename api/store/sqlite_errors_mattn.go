// The same condition under which sqliteshim picks mattn/go-sqlite3.

//go:build cgo && (cgosqlite || !((darwin && amd64) || (darwin && arm64) || (linux && 386) || (linux && amd64) || (linux && arm) || (linux && arm64) || (windows && amd64)))

package store

import (
	"errors"

	"github.com/mattn/go-sqlite3"
)

// sqliteCode is the extended result code of a mattn SQLite error.
func sqliteCode(err error) (int, bool) {
	var e sqlite3.Error
	if errors.As(err, &e) {
		return int(e.ExtendedCode), true
	}
	return 0, false
}
