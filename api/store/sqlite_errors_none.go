// No SQLite driver on this platform (sqliteshim registers one that fails).

//go:build !cgo && (cgosqlite || !((darwin && amd64) || (darwin && arm64) || (linux && 386) || (linux && amd64) || (linux && arm) || (linux && arm64) || (windows && amd64)))

package store

func sqliteCode(error) (int, bool) { return 0, false }
