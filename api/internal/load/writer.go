package load

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/kairan/kairan/shared"
)

// writer makes the run's posts and deletes over a shared pool of
// keep-alive connections, one per posting goroutine.
type writer struct {
	base, board string
	t           *tracker
	hc          *http.Client
	tr          *http.Transport
	deleteEvery int

	mu          sync.Mutex
	fifo        []owned // topics this tool created and has not deleted, oldest first
	seeded      int
	acked       int64 // posts acknowledged in the window (seeds not counted)
	created     []int64
	deleted     []int64
	postLat     []time.Duration
	delLat      []time.Duration
	postsSent   int64
	deletesSent int64
}

type owned struct {
	id    int64
	token string
}

func newWriter(base, board string, t *tracker, conns, deleteEvery int) *writer {
	tr := &http.Transport{
		DialContext:         dialLoopback,
		DisableCompression:  true,
		TLSNextProto:        map[string]func(string, *tls.Conn) http.RoundTripper{},
		MaxIdleConnsPerHost: max(conns, 1) + 1,
		IdleConnTimeout:     2 * time.Minute,
	}
	return &writer{base: base, board: board, t: t, hc: &http.Client{Transport: tr}, tr: tr, deleteEvery: deleteEvery}
}

func (w *writer) close() { w.tr.CloseIdleConnections() }

// create posts one topic and returns it (ok false after a failure, which
// is counted).
func (w *writer) create(ctx context.Context, comment string) (shared.CreatedTopic, bool) {
	body, _ := json.Marshal(shared.CreateTopic{Author: "load", Comment: comment})
	req, err := http.NewRequestWithContext(ctx, "POST", w.base+"/api/boards/"+w.board+"/topics", bytes.NewReader(body))
	if err != nil {
		w.t.errs.add("POST " + describe(err))
		return shared.CreatedTopic{}, false
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := w.hc.Do(req)
	if err != nil {
		w.t.errs.add("POST " + describe(err))
		return shared.CreatedTopic{}, false
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		w.t.errs.add("POST " + describe(err))
		return shared.CreatedTopic{}, false
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		w.t.errs.add("POST HTTP " + strconv.Itoa(resp.StatusCode))
		return shared.CreatedTopic{}, false
	}
	var c shared.CreatedTopic
	if err := json.Unmarshal(b, &c); err != nil || c.Topic.ID == 0 {
		w.t.errs.add("POST unreadable answer")
		return shared.CreatedTopic{}, false
	}
	return c, true
}

// seed creates n topics before the subscribers connect. They are the
// oldest in the delete queue, so with enough of them deletes hit topics
// beyond a snapshot's first page.
func (w *writer) seed(ctx context.Context, n int) error {
	for i := range n {
		c, ok := w.create(ctx, fmt.Sprintf("seed %d %s", i, w.t.tag))
		if !ok {
			continue
		}
		w.fifo = append(w.fifo, owned{c.Topic.ID, c.OwnerToken})
		w.seeded++
	}
	if w.seeded == 0 && n > 0 {
		return fmt.Errorf("could not seed the board: every post failed (%v)", w.t.errs.snapshot())
	}
	return nil
}

// post makes post number seq of the run, then, after every deleteEvery-th
// acknowledged post, deletes the oldest topic the tool still owns.
func (w *writer) post(ctx context.Context, seq int64) {
	sent := time.Now()
	w.mu.Lock()
	w.postsSent++
	w.mu.Unlock()
	c, ok := w.create(ctx, w.t.comment(sent, seq))
	if !ok {
		return
	}
	lat := time.Since(sent)
	var del *owned
	w.mu.Lock()
	w.acked++
	w.created = append(w.created, c.Topic.ID)
	w.postLat = append(w.postLat, lat)
	w.fifo = append(w.fifo, owned{c.Topic.ID, c.OwnerToken})
	if w.deleteEvery > 0 && w.acked%int64(w.deleteEvery) == 0 && len(w.fifo) > 1 {
		oldest := w.fifo[0]
		del = &oldest
		w.fifo = w.fifo[1:]
		w.deletesSent++
	}
	w.mu.Unlock()
	if del != nil {
		w.remove(ctx, *del)
	}
}

// remove deletes one topic, recording the send time first so subscribers
// can time the delete change.
func (w *writer) remove(ctx context.Context, o owned) {
	sent := time.Now()
	w.t.deleteSent.Store(o.id, sent)
	req, err := http.NewRequestWithContext(ctx, "DELETE", w.base+"/api/boards/"+w.board+"/topics/"+strconv.FormatInt(o.id, 10), nil)
	if err != nil {
		w.t.errs.add("DELETE " + describe(err))
		return
	}
	req.Header.Set("Authorization", "Bearer "+o.token)
	resp, err := w.hc.Do(req)
	if err != nil {
		w.t.errs.add("DELETE " + describe(err))
		return
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil {
		w.t.errs.add("DELETE " + describe(err))
		return
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		w.t.errs.add("DELETE HTTP " + strconv.Itoa(resp.StatusCode))
		return
	}
	lat := time.Since(sent)
	w.mu.Lock()
	w.deleted = append(w.deleted, o.id)
	w.delLat = append(w.delLat, lat)
	w.mu.Unlock()
}

// run posts with writers goroutines until posts (0: no limit) have been
// started or window ends, at perSecond overall (0: as fast as they can).
// Requests already sent when window ends still finish under ctx, so a
// committed post is not miscounted as failed.
func (w *writer) run(ctx, window context.Context, writers int, perSecond float64, posts int64) {
	var lim *rate.Limiter
	if perSecond > 0 {
		lim = rate.NewLimiter(rate.Limit(perSecond), 1)
	}
	var claimed atomic.Int64
	var wg sync.WaitGroup
	for range writers {
		wg.Go(func() {
			for {
				// Checked before pacing too, so the run does not wait a
				// whole interval for a post it will not make.
				if posts > 0 && claimed.Load() >= posts {
					return
				}
				if lim != nil {
					if lim.Wait(window) != nil {
						return
					}
				} else if window.Err() != nil {
					return
				}
				seq := claimed.Add(1)
				if posts > 0 && seq > posts {
					return
				}
				w.post(ctx, seq)
			}
		})
	}
	wg.Wait()
}
