// Package pgtest gives tests a fresh PostgreSQL database of their own on
// the server that KAIRAN_TEST_POSTGRES names (CI sets it). Without the
// variable, tests that need PostgreSQL skip and say so.
package pgtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/uptrace/bun/driver/pgdriver"
)

// Env names the variable holding the server's DSN.
const Env = "KAIRAN_TEST_POSTGRES"

// NewDatabase creates an empty database for this test and drops it when
// the test ends; it returns the database's DSN.
func NewDatabase(t testing.TB) string {
	t.Helper()
	base := os.Getenv(Env)
	if base == "" {
		t.Skip(Env + " is not set: PostgreSQL tests skipped (CI sets it, e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable)")
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("%s: %v", Env, err)
	}
	name := "kairan_test_" + strings.ToLower(rand.Text()[:12])
	admin := sql.OpenDB(pgdriver.NewConnector(pgdriver.WithDSN(base)))
	defer admin.Close()
	if _, err := admin.ExecContext(context.Background(), "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		admin := sql.OpenDB(pgdriver.NewConnector(pgdriver.WithDSN(base)))
		defer admin.Close()
		if _, err := admin.ExecContext(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("drop test database: %v", err)
		}
	})
	u.Path = "/" + name
	return u.String()
}

// StoreDialectEnv switches test suites that open a store to PostgreSQL
// when set to "pg" (go tool task test does this when Env is set).
const StoreDialectEnv = "KAIRAN_STORE_DIALECT"

// Target returns the dialect and an empty database for a test store: a
// file in t.TempDir(), or with KAIRAN_STORE_DIALECT=pg a new PostgreSQL
// database. The dialect is returned as a string to keep this package free
// of the store.
func Target(t testing.TB) (dialect, target string) {
	t.Helper()
	if os.Getenv(StoreDialectEnv) == "pg" {
		return "pg", NewDatabase(t)
	}
	return "sqlite", t.TempDir() + "/kairan test.db"
}
