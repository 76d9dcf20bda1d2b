package load

import (
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"
	"time"
)

// Report is the result of one run. Latencies are in milliseconds, sizes in
// bytes, rates per client per minute.
type Report struct {
	URL       string `json:"url"`
	Board     string `json:"board"`
	SSE       int    `json:"sse_clients"`
	Poll      int    `json:"poll_clients"`
	PollWait  int    `json:"poll_wait_s"`
	Ready     int    `json:"clients_ready"` // clients that got their first reset
	FileLimit uint64 `json:"open_file_limit"`
	// Processes is how many processes held the subscribers (each its own
	// open-file limit), Sources how many loopback source addresses each
	// spread its connections over.
	Processes int `json:"processes"`
	Sources   int `json:"sources_per_process"`

	ConnectSeconds float64 `json:"connect_s"` // until every client had its first reset
	WindowSeconds  float64 `json:"window_s"`  // writes (or idle time) plus settle
	WriteSeconds   float64 `json:"write_s"`
	SettleSeconds  float64 `json:"settle_s"`
	Interrupted    bool    `json:"interrupted,omitempty"`

	Writes   Writes           `json:"writes"`
	Errors   map[string]int64 `json:"errors"` // by kind, e.g. "POST HTTP 429", "SSE connection reset"
	Delivery Delivery         `json:"delivery"`
	Latency  Latency          `json:"latency"`
	Idle     Idle             `json:"per_client"`
	Server   *Server          `json:"server,omitempty"`         // only with --pid
	Metrics  *ServerMetrics   `json:"server_metrics,omitempty"` // when /metrics answered
	// LoadCPUSeconds is this process's CPU in the window: the clients
	// share the machine with the server.
	LoadCPUSeconds float64  `json:"load_tool_cpu_s"`
	Notes          []string `json:"notes,omitempty"`
}

// Writes are the posts and deletes of the window (seeds not counted).
type Writes struct {
	Rate           float64 `json:"rate"` // asked; 0 = flat out or none
	Writers        int     `json:"writers"`
	DeleteEvery    int     `json:"delete_every"`
	Seeded         int     `json:"seeded"`
	PostsSent      int64   `json:"posts_sent"`
	PostsAcked     int64   `json:"posts_acked"`
	PostsPerSecond float64 `json:"posts_acked_per_s"` // over the write phase
	PostLatency    Dist    `json:"post_latency"`      // request sent → answer read
	DeletesSent    int64   `json:"deletes_sent"`
	DeletesAcked   int64   `json:"deletes_acked"`
	DeleteLatency  Dist    `json:"delete_latency"`
}

// Delivery counts (client, change) pairs over every change the run wrote
// and had acknowledged.
type Delivery struct {
	Expected   int64 `json:"expected"`
	Received   int64 `json:"received"`
	Missed     int64 `json:"missed"`     // never received by the end of the settle time
	Duplicates int64 `json:"duplicates"` // a cursor at or before one the client already had
	// ResetsAfterFirst are resets beyond each client's initial one;
	// Reconnects are streams or polls that failed after the first reset.
	ResetsAfterFirst int64 `json:"resets_after_first"`
	Reconnects       int64 `json:"reconnects"`
}

// Latency is from just before the write request was sent until a client
// had decoded the change, over every (client, change) pair.
type Latency struct {
	Created     Dist   `json:"created"`
	Deleted     Dist   `json:"deleted"`
	SSECreated  Dist   `json:"sse_created"`
	SSEDeleted  Dist   `json:"sse_deleted"`
	PollCreated Dist   `json:"poll_created"`
	PollDeleted Dist   `json:"poll_deleted"`
	PerChange   Spread `json:"per_change"`
}

// Spread is per change, over every change with at least one delivery:
// when its first and its last subscriber had it. The first is about the
// write and commit; the gap to the last is the fan-out (and, on one
// machine, the clients' own decoding).
type Spread struct {
	Changes  int     `json:"changes"`
	FirstP50 float64 `json:"first_p50_ms"`
	LastP50  float64 `json:"last_p50_ms"`
	LastMax  float64 `json:"last_max_ms"`
	GapP50   float64 `json:"gap_p50_ms"` // last − first, median over changes
	GapMax   float64 `json:"gap_max_ms"`
}

// Idle is what one client costs per minute over the window, counted from
// its first reset. In an idle run that is the idle cost.
type Idle struct {
	SSEBytesPerMin     float64 `json:"sse_bytes_per_min"`      // stream bytes after de-chunking
	SSEWireBytesPerMin float64 `json:"sse_wire_bytes_per_min"` // TCP payload received
	PollRequestsPerMin float64 `json:"poll_requests_per_min"`  // requests sent in the window
	// PollSteadyPerMin is one minute over the mean time between polls,
	// which does not count the extra poll at the window's start; nil when
	// fewer than two polls fit in the window.
	PollSteadyPerMin    *float64 `json:"poll_steady_requests_per_min,omitempty"`
	PollBytesPerMin     float64  `json:"poll_bytes_per_min"`      // response bodies
	PollWireBytesPerMin float64  `json:"poll_wire_bytes_per_min"` // TCP payload, both ways
}

// Server is the server process as /proc saw it.
type Server struct {
	PID               int     `json:"pid"`
	CPUConnectSeconds float64 `json:"cpu_connect_s"`
	CPUWindowSeconds  float64 `json:"cpu_window_s"`
	CPUPercentOfCore  float64 `json:"cpu_window_percent_of_core"`
	RSSBefore         int64   `json:"rss_before"` // before subscribers connected
	RSSConnected      int64   `json:"rss_connected"`
	RSSEnd            int64   `json:"rss_end"`
	RSSPeak           int64   `json:"rss_peak"`
	// RSSPerSubscriber is (RSSConnected − RSSBefore) / subscribers.
	RSSPerSubscriber float64 `json:"rss_per_subscriber"`
}

func (r *Report) note(format string, args ...any) {
	r.Notes = append(r.Notes, fmt.Sprintf(format, args...))
}

func (r *Report) fillWrites(w *writer) {
	w.mu.Lock()
	defer w.mu.Unlock()
	wr := &r.Writes
	wr.PostsSent, wr.PostsAcked = w.postsSent, w.acked
	wr.DeletesSent, wr.DeletesAcked = w.deletesSent, int64(len(w.deleted))
	if r.WriteSeconds > 0 {
		wr.PostsPerSecond = float64(w.acked) / r.WriteSeconds
	}
	wr.PostLatency = distOf(w.postLat)
	wr.DeleteLatency = distOf(w.delLat)
}

// fillDeliveries is called after every client has ended.
func (r *Report) fillDeliveries(w *writer, clients []*client) {
	w.mu.Lock()
	expected := make(map[int64]struct{}, len(w.created)+len(w.deleted))
	for _, id := range w.created {
		expected[id] = struct{}{}
	}
	for _, id := range w.deleted {
		expected[-id] = struct{}{}
	}
	w.mu.Unlock()
	var lat [2][2][]time.Duration // [via][created, deleted]
	type span struct{ first, last time.Duration }
	spans := map[int64]*span{}
	d := &r.Delivery
	for _, c := range clients {
		matched := int64(0)
		for _, g := range c.got {
			if g.at != 0 {
				v, ok := w.t.deleteSent.Load(-g.key)
				if !ok {
					continue // not this run's delete
				}
				g.lat = time.Duration(g.at - v.(time.Time).UnixNano())
			}
			if s := spans[g.key]; s == nil {
				spans[g.key] = &span{g.lat, g.lat}
			} else {
				s.first, s.last = min(s.first, g.lat), max(s.last, g.lat)
			}
			if _, ok := expected[g.key]; ok {
				matched++
			}
			kind := 0
			if g.key < 0 {
				kind = 1
			}
			lat[c.via][kind] = append(lat[c.via][kind], g.lat)
		}
		d.Received += matched
		d.Missed += int64(len(expected)) - matched
		d.Duplicates += c.dups
		d.ResetsAfterFirst += c.resets
		d.Reconnects += c.reconnects
	}
	// Clients that never started miss everything too.
	never := int64(r.SSE+r.Poll-len(clients)) * int64(len(expected))
	d.Missed += never
	d.Expected = int64(r.SSE+r.Poll) * int64(len(expected))
	l := &r.Latency
	l.Created = distOf(append(append([]time.Duration(nil), lat[viaSSE][0]...), lat[viaPoll][0]...))
	l.Deleted = distOf(append(append([]time.Duration(nil), lat[viaSSE][1]...), lat[viaPoll][1]...))
	l.SSECreated, l.SSEDeleted = distOf(lat[viaSSE][0]), distOf(lat[viaSSE][1])
	l.PollCreated, l.PollDeleted = distOf(lat[viaPoll][0]), distOf(lat[viaPoll][1])
	var first, last, gap []time.Duration
	for _, s := range spans {
		first, last, gap = append(first, s.first), append(last, s.last), append(gap, s.last-s.first)
	}
	f, la, g := distOf(first), distOf(last), distOf(gap)
	l.PerChange = Spread{Changes: len(spans), FirstP50: f.P50, LastP50: la.P50, LastMax: la.Max, GapP50: g.P50, GapMax: g.Max}
}

func (r *Report) fillIdle(clients []*client, meters []meterState, end time.Time) {
	var sseN, pollN, steadyN float64
	var steady float64
	id := &r.Idle
	for i, c := range clients {
		m := meters[i]
		if !m.ready || !end.After(m.readyAt) {
			continue
		}
		perMin := float64(time.Minute) / float64(end.Sub(m.readyAt))
		switch c.via {
		case viaSSE:
			sseN++
			id.SSEBytesPerMin += float64(m.body) * perMin
			id.SSEWireBytesPerMin += float64(m.in) * perMin
		case viaPoll:
			pollN++
			id.PollBytesPerMin += float64(m.body) * perMin
			id.PollWireBytesPerMin += float64(m.in+m.out) * perMin
			id.PollRequestsPerMin += float64(m.reqs) * perMin
			if m.reqs >= 2 && m.lastReq.After(m.firstReq) {
				steadyN++
				steady += float64(m.reqs-1) * float64(time.Minute) / float64(m.lastReq.Sub(m.firstReq))
			}
		}
	}
	if sseN > 0 {
		id.SSEBytesPerMin /= sseN
		id.SSEWireBytesPerMin /= sseN
	}
	if pollN > 0 {
		id.PollBytesPerMin /= pollN
		id.PollWireBytesPerMin /= pollN
		id.PollRequestsPerMin /= pollN
	}
	if steadyN > 0 && steadyN == pollN {
		v := steady / steadyN
		id.PollSteadyPerMin = &v
	}
}

// WriteText writes the report as a compact aligned block.
func (r *Report) WriteText(out io.Writer) error {
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	p := func(format string, args ...any) { fmt.Fprintf(tw, format+"\n", args...) }
	p("kairan-load load\t%s board %s", r.URL, r.Board)
	p("subscribers\t%d SSE + %d long poll (wait %d s): %d ready in %.2f s", r.SSE, r.Poll, r.PollWait, r.Ready, r.ConnectSeconds)
	p("window\t%.1f s: writes %.1f s, settle %.1f s", r.WindowSeconds, r.WriteSeconds, r.SettleSeconds)
	wr := r.Writes
	if wr.PostsSent > 0 || wr.Writers > 0 {
		rate := "flat out"
		if wr.Rate > 0 {
			rate = fmt.Sprintf("at %g/s", wr.Rate)
		}
		p("posts\t%d sent %s by %d writers, %d acknowledged (%.1f/s); answer p50 %s, p99 %s, max %s ms",
			wr.PostsSent, rate, wr.Writers, wr.PostsAcked, wr.PostsPerSecond,
			num(wr.PostLatency.P50), num(wr.PostLatency.P99), num(wr.PostLatency.Max))
	}
	if wr.DeleteEvery > 0 {
		p("deletes\t%d sent (one after every %d posts, oldest first, %d seeded), %d acknowledged; answer p50 %s, max %s ms",
			wr.DeletesSent, wr.DeleteEvery, wr.Seeded, wr.DeletesAcked, num(wr.DeleteLatency.P50), num(wr.DeleteLatency.Max))
	}
	errs := "none"
	if len(r.Errors) > 0 {
		var parts []string
		for _, k := range sortedKinds(r.Errors) {
			parts = append(parts, fmt.Sprintf("%s ×%d", k, r.Errors[k]))
		}
		errs = strings.Join(parts, ", ")
	}
	p("errors\t%s", errs)
	d := r.Delivery
	p("delivery\t%d of %d (client, change) pairs; missed %d, duplicates %d, resets after the first %d, reconnects %d",
		d.Received, d.Expected, d.Missed, d.Duplicates, d.ResetsAfterFirst, d.Reconnects)
	if err := tw.Flush(); err != nil {
		return err
	}
	if r.Latency.Created.N+r.Latency.Deleted.N > 0 {
		fmt.Fprintf(out, "%-22s %9s %8s %8s %8s\n", "latency (ms)", "samples", "p50", "p99", "max")
		for _, row := range []struct {
			name string
			d    Dist
		}{
			{"  created, all", r.Latency.Created}, {"    SSE", r.Latency.SSECreated}, {"    long poll", r.Latency.PollCreated},
			{"  deleted, all", r.Latency.Deleted}, {"    SSE", r.Latency.SSEDeleted}, {"    long poll", r.Latency.PollDeleted},
		} {
			if row.d.N == 0 {
				continue
			}
			if _, err := fmt.Fprintf(out, "%-22s %9d %8s %8s %8s\n", row.name, row.d.N, num(row.d.P50), num(row.d.P99), num(row.d.Max)); err != nil {
				return err
			}
		}
		if pc := r.Latency.PerChange; pc.Changes > 0 {
			if _, err := fmt.Fprintf(out, "  per change (%d): first client p50 %s ms, last client p50 %s ms (max %s); fan-out gap p50 %s ms (max %s)\n",
				pc.Changes, num(pc.FirstP50), num(pc.LastP50), num(pc.LastMax), num(pc.GapP50), num(pc.GapMax)); err != nil {
				return err
			}
		}
	}
	tw = tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	id := r.Idle
	if r.SSE > 0 {
		p("per SSE client\t%.0f B/min stream (%.0f B/min TCP payload)", id.SSEBytesPerMin, id.SSEWireBytesPerMin)
	}
	if r.Poll > 0 {
		steady := "n/a: under two polls in the window"
		if id.PollSteadyPerMin != nil {
			steady = fmt.Sprintf("%.2f", *id.PollSteadyPerMin)
		}
		p("per poll client\t%.2f requests/min sent (steady %s), %.0f B/min bodies (%.0f B/min TCP both ways)",
			id.PollRequestsPerMin, steady, id.PollBytesPerMin, id.PollWireBytesPerMin)
	}
	if s := r.Server; s != nil {
		p("server pid %d\tCPU %.2f s in the window (%.1f%% of a core), %.2f s while connecting", s.PID,
			s.CPUWindowSeconds, s.CPUPercentOfCore, s.CPUConnectSeconds)
		perSub := ""
		if r.SSE+r.Poll > 0 {
			perSub = fmt.Sprintf(" (%+.1f KiB per subscriber)", s.RSSPerSubscriber/1024)
		}
		p("server RSS\t%s before, %s connected%s, %s end, %s peak", mib(s.RSSBefore), mib(s.RSSConnected), perSub, mib(s.RSSEnd), mib(s.RSSPeak))
	}
	if m := r.Metrics; m != nil {
		p("server /metrics\t%.0f SSE streams and %.0f long polls waiting once ready; %.0f changes published, %.0f events delivered, %.0f slow subscribers dropped, %.0f 5xx answers",
			m.SSESubscribers, m.LongPollWaiters, m.Published, m.Delivered, m.Dropped, m.ServerErrors)
	}
	p("load tool\tCPU %.2f s in the window; open-file limit %d; subscribers in %d process(es), %d source address(es) each",
		r.LoadCPUSeconds, r.FileLimit, r.Processes, r.Sources)
	for _, n := range r.Notes {
		p("note\t%s", n)
	}
	return tw.Flush()
}

func num(v float64) string {
	switch {
	case math.IsNaN(v):
		return "n/a"
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.2f", v)
}

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }
