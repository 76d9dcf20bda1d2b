package load

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/kairan/kairan/shared"
	"github.com/kairan/kairan/shared/sse"
)

// tracker is the state every client and writer of one run shares.
type tracker struct {
	tag string // marks this run's posts, so other traffic on the board is ignored
	// worker is set in a worker process, which has the subscribers but
	// not the writer: it cannot know the send time of a delete.
	worker bool

	// deleteSent holds, per topic id, the instant just before its DELETE
	// was sent; stored before sending, so a subscriber always finds it.
	deleteSent sync.Map // int64 → time.Time

	errs errorCounts

	clients  int64
	ready    atomic.Int64
	allReady chan struct{} // closed when every client has its first reset
	readyEnd sync.Once

	// received counts this run's changes delivered to clients (not
	// duplicates); settled closes once it reaches target, which is set
	// when the writers are done.
	received atomic.Int64
	target   atomic.Int64
	settled  chan struct{}
	settle   sync.Once
}

func newTracker(clients int) *tracker {
	t := &tracker{tag: "r" + strconv.FormatUint(rand.Uint64()>>16, 36), clients: int64(clients),
		allReady: make(chan struct{}), settled: make(chan struct{})}
	t.target.Store(math.MaxInt64)
	if clients == 0 {
		close(t.allReady)
	}
	return t
}

func (t *tracker) clientReady() {
	if t.ready.Add(1) == t.clients {
		t.readyEnd.Do(func() { close(t.allReady) })
	}
}

func (t *tracker) delivered() {
	if t.received.Add(1) >= t.target.Load() {
		t.settle.Do(func() { close(t.settled) })
	}
}

// expect sets how many deliveries complete the run. Either this or the
// last delivery closes settled, whichever sees the count reach it.
func (t *tracker) expect(n int64) {
	t.target.Store(n)
	if t.received.Load() >= n {
		t.settle.Do(func() { close(t.settled) })
	}
}

// comment is the text of post seq: the send time lets any subscriber
// compute the delivery latency from the change alone.
func (t *tracker) comment(sent time.Time, seq int64) string {
	return fmt.Sprintf("load %d %d %s", sent.UnixNano(), seq, t.tag)
}

// sentAt reads the send time back from a comment of this run.
func (t *tracker) sentAt(comment string) (int64, bool) {
	sent, _, ok := t.parseComment(comment)
	return sent, ok
}

// parseComment reads the send time (Unix nanoseconds) and the post's
// number back from a comment of this run.
func (t *tracker) parseComment(comment string) (sent, seq int64, ok bool) {
	f := strings.Fields(comment)
	if len(f) != 4 || f[0] != "load" || f[3] != t.tag {
		return 0, 0, false
	}
	sent, err1 := strconv.ParseInt(f[1], 10, 64)
	seq, err2 := strconv.ParseInt(f[2], 10, 64)
	return sent, seq, err1 == nil && err2 == nil
}

// errorCounts counts failures by kind, such as "POST HTTP 429".
type errorCounts struct {
	mu sync.Mutex
	n  map[string]int64
}

func (e *errorCounts) add(kind string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.n == nil {
		e.n = map[string]int64{}
	}
	e.n[kind]++
}

func (e *errorCounts) snapshot() map[string]int64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make(map[string]int64, len(e.n))
	for k, v := range e.n {
		out[k] = v
	}
	return out
}

// describe names an error's kind for the report.
func describe(err error) string {
	var st statusError
	var ne net.Error
	switch {
	case errors.As(err, &st):
		return "HTTP " + strconv.Itoa(st.code)
	case errors.Is(err, errNotLoopback):
		return "not loopback"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return "connection reset"
	case errors.Is(err, syscall.EMFILE), errors.Is(err, syscall.ENFILE):
		return "too many open files"
	case errors.Is(err, syscall.EADDRNOTAVAIL):
		return "no free local port"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "connection closed"
	case errors.Is(err, errBadEvent):
		return "unreadable event"
	case errors.Is(err, os.ErrDeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	}
	return "transport error"
}

// statusError is an answer other than the one expected, with the
// server's Retry-After (0 when it sent none).
type statusError struct {
	code  int
	retry time.Duration
}

func (s statusError) Error() string { return "HTTP " + strconv.Itoa(s.code) }

func answerError(resp *http.Response) statusError {
	secs, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
	return statusError{resp.StatusCode, time.Duration(min(max(secs, 0), 60)) * time.Second}
}

var errBadEvent = errors.New("unreadable event")

// via is a client's transport.
type via int

const (
	viaSSE via = iota
	viaPoll
)

func (v via) String() string { return [...]string{"SSE", "poll"}[v] }

// delivery is one change a client received: key is the topic id for a
// creation, minus the id for a deletion. A worker process records a
// deletion's arrival (at, Unix nanoseconds) instead of its latency, for
// the parent, which sent it, to work out.
type delivery struct {
	key int64
	lat time.Duration
	at  int64
}

// client is one subscriber. The fields without a lock belong to its
// goroutine and are read only after it has ended.
type client struct {
	via  via
	t    *tracker
	base string
	dial func(ctx context.Context, network, addr string) (net.Conn, error) // nil: dialLoopback

	lastSeq    int64
	ready      bool
	got        []delivery
	dups       int64
	resets     int64 // after the first
	reconnects int64

	// Counted while the run reads them at the window's end.
	body            atomic.Int64 // response body bytes
	wireIn, wireOut atomic.Int64 // TCP payload
	mu              sync.Mutex
	readyAt         time.Time
	base0           meterBase // the counters at the first reset
	reqs            int64     // long-poll requests sent after the first reset
	firstReq        time.Time
	lastReq         time.Time
}

type meterBase struct{ body, wireIn, wireOut int64 }

// meterState is a client's counters at one instant.
type meterState struct {
	ready             bool
	readyAt           time.Time
	body, in, out     int64 // since the first reset
	reqs              int64
	firstReq, lastReq time.Time
}

func (c *client) meter() meterState {
	c.mu.Lock()
	defer c.mu.Unlock()
	return meterState{ready: !c.readyAt.IsZero(), readyAt: c.readyAt,
		body: c.body.Load() - c.base0.body, in: c.wireIn.Load() - c.base0.wireIn, out: c.wireOut.Load() - c.base0.wireOut,
		reqs: c.reqs, firstReq: c.firstReq, lastReq: c.lastReq}
}

func (c *client) httpClient() (*http.Client, *http.Transport) {
	return meteredClient(c.dial, &c.wireIn, &c.wireOut)
}

// meteredClient is one subscriber's HTTP client: its own connection,
// dialled with dial (nil: dialLoopback), its TCP payload counted in in and
// out.
func meteredClient(dial func(ctx context.Context, network, addr string) (net.Conn, error), in, out *atomic.Int64) (*http.Client, *http.Transport) {
	if dial == nil {
		dial = dialLoopback
	}
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			conn, err := dial(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return meteredConn{conn, in, out}, nil
		},
		// One connection per client, as a browser tab would have, plain
		// HTTP/1.1 so bytes are what a client really receives.
		DisableCompression:  true,
		TLSNextProto:        map[string]func(string, *tls.Conn) http.RoundTripper{},
		MaxIdleConnsPerHost: 1,
		IdleConnTimeout:     2 * time.Minute,
	}
	return &http.Client{Transport: tr}, tr
}

func (c *client) onReset(cursor string, at time.Time) {
	if cur, ok := shared.ParseCursor(cursor); ok {
		c.lastSeq = cur.Seq
	}
	if c.ready {
		c.resets++
		return
	}
	c.ready = true
	c.mu.Lock()
	c.readyAt = at
	c.base0 = meterBase{c.body.Load(), c.wireIn.Load(), c.wireOut.Load()}
	c.mu.Unlock()
	c.t.clientReady()
}

func (c *client) onChange(ch shared.Change, at time.Time) {
	cur, ok := shared.ParseCursor(ch.Cursor)
	if !ok {
		c.t.errs.add(c.via.String() + " unreadable cursor")
		return
	}
	// Changes come in cursor order, each once: one at or before the last
	// is a repeat.
	if cur.Seq <= c.lastSeq {
		c.dups++
		return
	}
	c.lastSeq = cur.Seq
	var d delivery
	switch ch.Kind {
	case shared.ChangeCreated:
		sent, ok := c.t.sentAt(ch.Topic.Comment)
		if !ok {
			return // not this run's post
		}
		d = delivery{key: ch.Topic.ID, lat: time.Duration(at.UnixNano() - sent)}
	case shared.ChangeDeleted:
		v, ok := c.t.deleteSent.Load(ch.Topic.ID)
		switch {
		case ok:
			d = delivery{key: -ch.Topic.ID, lat: at.Sub(v.(time.Time))}
		case c.t.worker:
			// The parent keeps the deletes it did not send out.
			d = delivery{key: -ch.Topic.ID, at: at.UnixNano()}
		default:
			return // not this run's delete
		}
	default:
		return
	}
	c.got = append(c.got, d)
	c.t.delivered()
}

// run follows the board until ctx ends, reconnecting after failures as a
// real client would, from its last cursor.
func (c *client) run(ctx context.Context, board string, pollWait int) {
	hc, tr := c.httpClient()
	defer tr.CloseIdleConnections()
	cursor, failures := "", 0
	for ctx.Err() == nil {
		var err error
		var progressed bool
		if c.via == viaSSE {
			progressed, err = c.stream(ctx, hc, board, &cursor)
		} else {
			progressed, err = c.poll(ctx, hc, board, pollWait, &cursor)
		}
		if ctx.Err() != nil {
			return
		}
		if err == nil {
			failures = 0
			continue
		}
		c.t.errs.add(c.via.String() + " " + describe(err))
		if c.ready {
			c.reconnects++
		}
		if progressed {
			failures = 0
		}
		failures++
		wait := backoff(failures)
		// A refusal that says when to come back is obeyed, as the
		// client engine does.
		var st statusError
		if errors.As(err, &st) && st.retry > 0 {
			wait = st.retry
		}
		if !pause(ctx, wait) {
			return
		}
	}
}

// backoff is exponential with full jitter, 0.25 s to 5 s, like the client
// engine's: thousands of refused clients must not come back in step.
func backoff(failures int) time.Duration {
	ceiling := min(250*time.Millisecond<<min(failures-1, 5), 5*time.Second)
	return time.Duration(rand.Int64N(int64(ceiling)) + 1)
}

// pause waits d unless ctx ends first; false means it ended.
func pause(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// stream reads one SSE connection until it fails; progressed says whether
// it delivered anything (then the next failure starts a fresh backoff).
func (c *client) stream(ctx context.Context, hc *http.Client, board string, cursor *string) (progressed bool, err error) {
	resp, err := openStream(ctx, hc, c.base+"/api/boards/"+board+"/events", *cursor)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	dec := sse.NewDecoder(countingReader{resp.Body, &c.body}, 1<<20)
	for {
		ev, at, err := nextEvent(dec)
		if err != nil {
			return progressed, err
		}
		switch ev.Type {
		case "reset":
			// The reset's id is its snapshot's cursor: no need to decode
			// a snapshot per subscriber.
			c.onReset(ev.ID, at)
		case "change":
			var ch shared.Change
			if err := json.Unmarshal([]byte(ev.Data), &ch); err != nil {
				return progressed, errBadEvent
			}
			c.onChange(ch, at)
		default:
			continue
		}
		*cursor = ev.ID
		progressed = true
	}
}

// nextEvent reads the next event and when it was decoded. A stream never
// ends by itself: its end is io.ErrUnexpectedEOF.
func nextEvent(dec *sse.Decoder) (sse.Event, time.Time, error) {
	ev, err := dec.Next()
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return ev, time.Now(), err
}

// openStream GETs an SSE stream, resuming after lastID when it is set; an
// answer other than 200 is an error.
func openStream(ctx context.Context, hc *http.Client, addr, lastID string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", addr, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "text/event-stream")
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		return nil, answerError(resp)
	}
	return resp, nil
}

// poll makes one long-poll request.
func (c *client) poll(ctx context.Context, hc *http.Client, board string, wait int, cursor *string) (bool, error) {
	u := c.base + "/api/boards/" + board + "/changes?wait=" + strconv.Itoa(wait) + "&cursor=" + url.QueryEscape(*cursor)
	// The server answers within wait seconds; more than that plus a
	// margin is a hung request, not a slow one.
	rctx, cancel := context.WithTimeout(ctx, time.Duration(wait)*time.Second+30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, "GET", u, nil)
	if err != nil {
		return false, err
	}
	if c.ready {
		now := time.Now()
		c.mu.Lock()
		c.reqs++
		if c.firstReq.IsZero() {
			c.firstReq = now
		}
		c.lastReq = now
		c.mu.Unlock()
	}
	resp, err := hc.Do(req)
	if err != nil {
		return false, err
	}
	body, err := io.ReadAll(countingReader{resp.Body, &c.body})
	at := time.Now()
	resp.Body.Close()
	if err != nil {
		return false, err
	}
	if resp.StatusCode != http.StatusOK {
		return false, answerError(resp)
	}
	var page shared.ChangesPage
	if err := json.Unmarshal(body, &page); err != nil {
		return false, errBadEvent
	}
	if page.Reset != nil {
		c.onReset(page.Cursor, at)
	}
	for _, ch := range page.Changes {
		c.onChange(ch, at)
	}
	*cursor = page.Cursor
	return true, nil
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n *atomic.Int64
}

func (c countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// meteredConn counts TCP payload both ways (HTTP headers and chunk framing
// included, TCP/IP headers not).
type meteredConn struct {
	net.Conn
	in, out *atomic.Int64
}

func (m meteredConn) Read(p []byte) (int, error) {
	n, err := m.Conn.Read(p)
	m.in.Add(int64(n))
	return n, err
}

func (m meteredConn) Write(p []byte) (int, error) {
	n, err := m.Conn.Write(p)
	m.out.Add(int64(n))
	return n, err
}

// sortedKinds lists error kinds by count, most first.
func sortedKinds(m map[string]int64) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if m[keys[i]] != m[keys[j]] {
			return m[keys[i]] > m[keys[j]]
		}
		return keys[i] < keys[j]
	})
	return keys
}
