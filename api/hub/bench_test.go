package hub_test

import (
	"context"
	"runtime"
	"strconv"
	"sync"
	"testing"

	"github.com/kairan/kairan/api/hub"
	"github.com/kairan/kairan/api/store"
	"github.com/kairan/kairan/shared"
)

// BenchmarkFanOut10000 measures one change reaching 10,000 subscribers of
// a board in process: commit to a real SQLite store, wake the hub, and wait
// until every subscriber's consumer goroutine has the change. It reports
// the time per change (ns/op) and the memory held per subscriber.
func BenchmarkFanOut10000(b *testing.B) {
	const subscribers = 10_000
	st := openStore(b)
	h := newHub(b, st, hub.Config{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	var before, after runtimeMem
	before.read()
	var got sync.WaitGroup // one Done per subscriber per change
	var consumers sync.WaitGroup
	subs := make([]*hub.Subscription, subscribers)
	for i := range subs {
		s, err := h.Subscribe(ctx, "bench", "")
		if err != nil {
			b.Fatal(err)
		}
		subs[i] = s
		if _, err := s.Next(ctx); err != nil { // the reset
			b.Fatal(err)
		}
	}
	for _, s := range subs {
		consumers.Go(func() {
			for {
				batch, err := s.Next(ctx)
				if err != nil {
					return
				}
				for range batch.Changes {
					got.Done()
				}
			}
		})
	}
	after.read()

	b.ResetTimer()
	for i := range b.N {
		got.Add(subscribers)
		c, err := st.CreateTopic(ctx, store.NewTopic{Board: "bench", Comment: "change " + strconv.Itoa(i)})
		if err != nil {
			b.Fatal(err)
		}
		cur, _ := shared.ParseCursor(c.Change.Cursor)
		h.Notify(cur.Seq)
		got.Wait()
	}
	b.StopTimer()
	b.ReportMetric(float64(after.heap-before.heap)/subscribers, "heap-B/sub")
	cancel()
	consumers.Wait()
	for _, s := range subs {
		s.Close()
	}
}

// BenchmarkStoreCreateTopic is one durable post on SQLite (WAL,
// synchronous=FULL): the write path's floor. Parallel, as the HTTP server
// runs it.
func BenchmarkStoreCreateTopic(b *testing.B) {
	st := openStore(b)
	ctx := context.Background()
	b.SetParallelism(16)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := st.CreateTopic(ctx, store.NewTopic{Board: "bench", Author: "ann", Comment: "a comment of ordinary length, about sixty characters"}); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

type runtimeMem struct{ heap uint64 }

// read records the live heap after a collection, plus goroutine stacks.
func (m *runtimeMem) read() {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	m.heap = ms.HeapInuse + ms.StackInuse
}
