package store

import (
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/sqlitedialect"
	"github.com/uptrace/bun/driver/sqliteshim"
)

// Pragmas are per connection, so they live in the DSN. busy_timeout comes
// first so the others already wait for a lock. synchronous=FULL because after
// a power loss NORMAL may roll back commits whose seq clients have already
// seen, and the counter would hand those numbers out again (notes/bun.md §11.2).
var sqlitePragmas = []string{
	"busy_timeout(5000)",
	"journal_mode(WAL)",
	"synchronous(FULL)",
	"foreign_keys(1)",
}

const sqliteReaders = 4

func openSQLite(path string) (writer, reader *bun.DB, err error) {
	if path == "" || strings.ContainsAny(path, "?#") {
		return nil, nil, fmt.Errorf("store: %q is not a usable SQLite file path", path)
	}
	// SQLite reports a missing directory as "out of memory (14)"; say it plainly.
	if dir := filepath.Dir(path); dir != "" {
		if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
			return nil, nil, fmt.Errorf("store: the directory %s for the database file does not exist; create it first", dir)
		}
	}
	// The file holds the secret owner tokens derive from and every topic,
	// so it is created readable by its owner only; SQLite gives the WAL
	// and shared-memory files the database file's mode. (An existing file
	// keeps its mode: Open warns when others may read it.)
	if f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600); err == nil {
		f.Close()
	}
	// BEGIN IMMEDIATE: a transaction that reads before it writes must take
	// the write lock at once, or it may fail with SQLITE_BUSY on upgrade.
	w, err := sql.Open(sqliteshim.ShimName, sqliteDSN(path, "_txlock=immediate"))
	if err != nil {
		return nil, nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	// Create the file and switch it to WAL before readers (query_only) open it.
	if err := w.Ping(); err != nil {
		w.Close()
		return nil, nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	r, err := sql.Open(sqliteshim.ShimName, sqliteDSN(path, "_pragma=query_only(1)"))
	if err != nil {
		w.Close()
		return nil, nil, fmt.Errorf("store: open %s for reading: %w", path, err)
	}
	r.SetMaxOpenConns(sqliteReaders)
	r.SetMaxIdleConns(sqliteReaders)
	r.SetConnMaxLifetime(0)
	return bun.NewDB(w, sqlitedialect.New()), bun.NewDB(r, sqlitedialect.New()), nil
}

// openToOthers reports whether users other than the owner may read or
// write the database file.
func openToOthers(path string) (os.FileMode, bool) {
	fi, err := os.Stat(path)
	if err != nil {
		return 0, false
	}
	return fi.Mode().Perm(), fi.Mode().Perm()&0o077 != 0
}

func sqliteDSN(path, extra string) string {
	var b strings.Builder
	b.WriteString("file:")
	b.WriteString((&url.URL{Path: path}).EscapedPath())
	b.WriteString("?")
	for i, p := range sqlitePragmas {
		if i > 0 {
			b.WriteString("&")
		}
		b.WriteString("_pragma=" + url.QueryEscape(p))
	}
	b.WriteString("&" + extra)
	return b.String()
}
