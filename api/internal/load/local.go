package load

import (
	"context"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// subscribers are a run's clients: in this process (localSubs) or spread
// over worker processes (workerSubs) when one process may not hold the
// descriptors.
type subscribers interface {
	allReady() <-chan struct{}
	readyCount() int
	// expect says how many changes the writers had acknowledged, so
	// settled closes once every client has every one of them.
	expect(changes int64)
	settled() <-chan struct{}
	// finish reads every client's meters, stops them all, and returns
	// them with what went wrong on their side.
	finish() finished
}

type finished struct {
	clients []*client
	meters  []meterState
	errs    map[string]int64 // only the workers'; a local run shares the tracker's
	cpu     time.Duration    // the workers' CPU from ready to stop
	notes   []string
}

// localSubs are subscribers in this process.
type localSubs struct {
	t       *tracker
	n       int64
	clients []*client
	stop    func()
}

// startLocal opens sse + poll clients at the connect rate, interleaved so
// both transports see the same connection phase. It returns once all are
// started (or ctx ends); they get their first reset later.
func startLocal(ctx context.Context, t *tracker, base, board string, sse, poll, pollWait int, connectRate float64, dial *sourceDialer) *localSubs {
	clientsCtx, stopClients := context.WithCancel(ctx)
	var wg sync.WaitGroup
	l := &localSubs{t: t, n: int64(sse + poll), stop: sync.OnceFunc(func() { stopClients(); wg.Wait() })}
	lim := rate.NewLimiter(rate.Limit(connectRate), max(1, int(connectRate/50)))
	for range sse + poll {
		if lim.Wait(ctx) != nil {
			break
		}
		c := &client{via: viaPoll, t: t, base: base, dial: dial.dial}
		if sse > 0 && (poll == 0 || sse >= poll) {
			c.via = viaSSE
			sse--
		} else {
			poll--
		}
		l.clients = append(l.clients, c)
		wg.Go(func() { c.run(clientsCtx, board, pollWait) })
	}
	return l
}

func (l *localSubs) allReady() <-chan struct{} { return l.t.allReady }
func (l *localSubs) readyCount() int           { return int(l.t.ready.Load()) }
func (l *localSubs) expect(changes int64)      { l.t.expect(changes * l.n) }
func (l *localSubs) settled() <-chan struct{}  { return l.t.settled }

func (l *localSubs) finish() finished {
	f := finished{clients: l.clients, meters: make([]meterState, len(l.clients))}
	for i, c := range l.clients {
		f.meters[i] = c.meter()
	}
	l.stop()
	return f
}
