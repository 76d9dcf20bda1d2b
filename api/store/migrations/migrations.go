// Package migrations holds kairan's schema as embedded SQL files. Each file
// is a Go template rendered per dialect (the data is passed in store.migrate
// with migrate.WithTemplateData), so SQLite
// and PostgreSQL share one history of migrations.
package migrations

import "embed"

// FS holds the migration files, named <id>_<name>.tx.up.sql so each runs in
// its own transaction.
//
//go:embed *.sql
var FS embed.FS
