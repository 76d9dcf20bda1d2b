package main

import (
	"strings"
	"testing"
)

// TestRedactHidesDatabasePassword: the start-up log names the database but
// never its password.
func TestRedactHidesDatabasePassword(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://kairan:s3cret@db.internal:5432/kairan?sslmode=verify-full": "postgres://kairan:xxxxx@db.internal:5432/kairan?sslmode=verify-full",
		"postgres://kairan@db/kairan":                                          "postgres://kairan@db/kairan",
		"/var/lib/kairan/kairan.db":                                            "/var/lib/kairan/kairan.db",
		"kairan test.db":                                                       "kairan test.db",
	} {
		if got := redact(in); got != want || strings.Contains(got, "s3cret") {
			t.Errorf("redact(%q) = %q, want %q", in, got, want)
		}
	}
}
