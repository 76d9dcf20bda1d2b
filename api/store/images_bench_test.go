package store

import (
	"context"
	"fmt"
	"testing"

	"github.com/kairan/kairan/api/internal/picturetest"
	"github.com/kairan/kairan/api/picture"
	"github.com/kairan/kairan/shared"
)

// BenchmarkImageStorage is how much the database grows per picture posted
// (docs/BENCHMARKS.md): each op uploads a picture as the server keeps it
// (picture.Process's output) and posts it. Run it with -benchtime 40x on
// SQLite, and with KAIRAN_STORE_DIALECT=pg on PostgreSQL.
func BenchmarkImageStorage(b *testing.B) {
	for _, bc := range []struct {
		name, typ string
		body      []byte
	}{
		{"photo-1MB", shared.TypeJPEG, picturetest.Photo(2048, 1536)},
		{"drawing", shared.TypePNG, picturetest.Drawing(1080, 1920, false)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			pic, err := picture.Process(bc.typ, bc.body, picture.DefaultLimits)
			if err != nil {
				b.Fatal(err)
			}
			s := mustOpen(b, newTarget(b))
			ctx := context.Background()
			mustCreateTB(b, s)
			before := dbSize(b, s)
			for i := 0; b.Loop(); i++ {
				up, err := s.CreateImage(ctx, NewImage{Board: "photos", Type: pic.Type, Width: pic.Width, Height: pic.Height,
					Full: pic.Full, Preview: pic.Preview, IdempotencyKey: fmt.Sprintf("key-%024d", i), BodyHash: "x"})
				if err != nil {
					b.Fatal(err)
				}
				if _, err := s.CreateTopic(ctx, NewTopic{Board: "photos", Author: "Aiko", ImageID: up.ID}); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			grown := float64(dbSize(b, s)-before) / float64(b.N)
			b.ReportMetric(grown, "db-B/picture")
			b.ReportMetric(float64(len(pic.Full)+len(pic.Preview)), "kept-B")
		})
	}
}

func mustCreateTB(tb testing.TB, s *Store) {
	if _, err := s.CreateTopic(context.Background(), NewTopic{Board: "photos", Author: "a", Comment: "first"}); err != nil {
		tb.Fatal(err)
	}
}

// dbSize is the database's size: SQLite's pages after a checkpoint, or
// pg_database_size.
func dbSize(tb testing.TB, s *Store) int64 {
	tb.Helper()
	ctx := context.Background()
	var n int64
	if s.dialect == Postgres {
		if err := s.writer.NewRaw("SELECT pg_database_size(current_database())").Scan(ctx, &n); err != nil {
			tb.Fatal(err)
		}
		return n
	}
	if _, err := s.writer.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
		tb.Fatal(err)
	}
	var pages, size int64
	if err := s.writer.NewRaw("PRAGMA page_count").Scan(ctx, &pages); err != nil {
		tb.Fatal(err)
	}
	if err := s.writer.NewRaw("PRAGMA page_size").Scan(ctx, &size); err != nil {
		tb.Fatal(err)
	}
	return pages * size
}
