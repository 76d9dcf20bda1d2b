package main

// The replica benchmarks: delivery from a write on one server to SSE
// subscribers on another, both on one PostgreSQL database
// (KAIRAN_TEST_POSTGRES), against the same on one server. The single-server
// figures of DESIGN.md section 6 are `go tool task bench`'s (scenarios a
// and b); these need two servers on one database, which it does not start.
// The clients are the load tool's (api/internal/load), so every figure in
// docs/BENCHMARKS.md comes from one client implementation.
//
//	go test -run '^$' -bench Replica -benchtime 1x ./api/
//
// Each runs a fixed workload once per call, whatever b.N is, and reports
// its figures with b.ReportMetric (ns/op is suppressed). They assert
// delivery, never wall-clock times.

import (
	"context"
	"testing"
	"time"

	"github.com/kairan/kairan/api/config"
	"github.com/kairan/kairan/api/internal/load"
	"github.com/kairan/kairan/api/internal/pgtest"
)

// BenchmarkCrossReplicaSSE50 writes through replica A and measures delivery
// to 50 SSE subscribers on replica B: the LISTEN/NOTIFY path end to end.
func BenchmarkCrossReplicaSSE50(b *testing.B) {
	dsn := pgtest.NewDatabase(b)
	a := startServer(b, unlimited, func(c *config.Config) { c.DB = dsn })
	r := startServer(b, unlimited, func(c *config.Config) { c.DB = dsn })
	runReplicaDelivery(b, a.URL(), r.URL())
}

// BenchmarkSameReplicaSSE50OnPostgres is the same on one replica, the
// baseline for the cross-replica figure.
func BenchmarkSameReplicaSSE50OnPostgres(b *testing.B) {
	dsn := pgtest.NewDatabase(b)
	a := startServer(b, unlimited, func(c *config.Config) { c.DB = dsn })
	runReplicaDelivery(b, a.URL(), a.URL())
}

// runReplicaDelivery: 150 seeded topics, 50 SSE subscribers at readURL,
// 200 posts at 10/s through writeURL with a delete of a seeded topic (the
// oldest, beyond the first page) after every 4th.
func runReplicaDelivery(b *testing.B, writeURL, readURL string) {
	b.ResetTimer()
	rep, err := load.Run(context.Background(), load.Options{
		URL: readURL, WriteURL: writeURL, Board: "bench", SSE: 50, Seed: 150,
		Posts: 200, Rate: 10, DeleteEvery: 4,
		Settle: time.Minute, // only bounds a broken run; a healthy one settles at once
	})
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	for _, n := range rep.Notes {
		b.Log("note: ", n)
	}
	l, d := rep.Latency, rep.Delivery
	for name, dist := range map[string]load.Dist{"post": l.Created, "del": l.Deleted} {
		b.ReportMetric(dist.P50, name+"-p50-ms")
		b.ReportMetric(dist.P99, name+"-p99-ms")
		b.ReportMetric(dist.Max, name+"-max-ms")
		b.ReportMetric(float64(dist.N), name+"-samples")
	}
	b.ReportMetric(float64(d.Missed), "missed")
	b.ReportMetric(0, "ns/op")
	if d.Missed != 0 || d.Duplicates != 0 || len(rep.Errors) != 0 || rep.Writes.PostsAcked != 200 {
		b.Errorf("delivery %+v, errors %v, %d posts acknowledged: want every change once to every subscriber",
			d, rep.Errors, rep.Writes.PostsAcked)
	}
}
