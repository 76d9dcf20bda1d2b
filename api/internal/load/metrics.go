package load

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// ServerMetrics are the server's own counts of the run, read from its
// /metrics (the Prometheus series of docs/DESIGN.md section 5): what the
// server saw, beside what the clients saw.
type ServerMetrics struct {
	URL string `json:"url"`
	// Gauges once every subscriber had its first reset: the open SSE
	// streams and the long polls waiting.
	SSESubscribers  float64 `json:"sse_subscribers"`
	LongPollWaiters float64 `json:"longpoll_waiters"`
	// Counters over the run (from before connecting to the end).
	Published    float64 `json:"changes_published"`
	Delivered    float64 `json:"events_delivered"`
	Dropped      float64 `json:"slow_subscribers_dropped"`
	ServerErrors float64 `json:"server_errors"` // answers with a 5xx status
}

// series are the figures of one /metrics answer that a run reads.
type series struct {
	sse, waiters, published, delivered, dropped, fiveXX float64
}

// metricsURL checks a /metrics address: loopback only, like the server's.
func metricsURL(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.User != nil {
		return "", fmt.Errorf("--metrics %q is not a URL such as http://127.0.0.1:9090/metrics", raw)
	}
	if !isLoopbackHost(u.Hostname()) {
		return "", fmt.Errorf("--metrics %q: the load tool only talks to this machine's loopback interface, not to %q", raw, u.Hostname())
	}
	return u.String(), nil
}

// scrape reads the series a run needs from one /metrics answer.
func scrape(ctx context.Context, hc *http.Client, addr string) (series, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", addr, nil)
	if err != nil {
		return series{}, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return series{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
		return series{}, fmt.Errorf("GET %s: %s (with --metrics-addr, /metrics is served there: pass it as --metrics)", addr, resp.Status)
	}
	return parseSeries(io.LimitReader(resp.Body, 64<<20))
}

// parseSeries reads Prometheus text format, as promhttp writes it: one
// sample a line, "name{labels} value", no timestamps. Label values may
// hold spaces and braces (route patterns), so the value is what follows
// the last space.
func parseSeries(r io.Reader) (series, error) {
	var s series
	lines := bufio.NewScanner(r)
	lines.Buffer(make([]byte, 64<<10), 1<<20)
	for lines.Scan() {
		line := lines.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			return series{}, fmt.Errorf("/metrics line %q: %w", line, err)
		}
		name, labels, _ := strings.Cut(line[:i], "{")
		switch name {
		case "kairan_sse_subscribers":
			s.sse = v
		case "kairan_longpoll_waiters":
			s.waiters = v
		case "kairan_changes_published_total":
			s.published = v
		case "kairan_events_delivered_total":
			s.delivered = v
		case "kairan_slow_subscribers_dropped_total":
			s.dropped = v
		case "kairan_http_requests_total":
			if strings.Contains(labels, `code="5`) {
				s.fiveXX += v
			}
		}
	}
	return s, lines.Err()
}

// fill sets m from readings before the run, once subscribers were ready,
// and at its end.
func (m *ServerMetrics) fill(before, ready, end series) {
	m.SSESubscribers, m.LongPollWaiters = ready.sse, ready.waiters
	m.Published = end.published - before.published
	m.Delivered = end.delivered - before.delivered
	m.Dropped = end.dropped - before.dropped
	m.ServerErrors = end.fiveXX - before.fiveXX
}
