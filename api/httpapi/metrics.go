package httpapi

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/kairan/kairan/api/hub"
)

// Metrics are kairan's Prometheus series, served at /metrics.
type Metrics struct {
	reg        *prometheus.Registry
	streams    prometheus.Gauge
	waiters    prometheus.Gauge
	published  prometheus.Counter
	deliveries prometheus.Counter
	dropped    prometheus.Counter
	batched    prometheus.Counter
	requests   *prometheus.CounterVec
	rejections *prometheus.CounterVec
	durations  *prometheus.HistogramVec
}

// NewMetrics registers the series in a registry of their own (plus the Go
// runtime and process collectors).
func NewMetrics() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		streams: prometheus.NewGauge(prometheus.GaugeOpts{Name: "kairan_sse_subscribers",
			Help: "Open Server-Sent Events streams."}),
		waiters: prometheus.NewGauge(prometheus.GaugeOpts{Name: "kairan_longpoll_waiters",
			Help: "Long-poll requests waiting for changes."}),
		published: prometheus.NewCounter(prometheus.CounterOpts{Name: "kairan_changes_published_total",
			Help: "Changes read from the change log and fanned out."}),
		deliveries: prometheus.NewCounter(prometheus.CounterOpts{Name: "kairan_events_delivered_total",
			Help: "Changes written to SSE streams and long-poll answers."}),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{Name: "kairan_slow_subscribers_dropped_total",
			Help: "Subscribers dropped for falling too far behind (they resume from their cursor)."}),
		batched: prometheus.NewCounter(prometheus.CounterOpts{Name: "kairan_stream_writes_batched_total",
			Help: "Live-stream writes handed to the kernel several at a time through io_uring (the others went one write(2) each)."}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kairan_http_requests_total",
			Help: "HTTP requests by route pattern, method and status code."}, []string{"route", "method", "code"}),
		rejections: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kairan_rejected_total",
			Help: "Requests refused by a guard: rate_limited, image_bytes, wrong_tokens, streams_full, streams_client, streams_network, blocked, too_many_boards, too_many_topics."}, []string{"reason"}),
		durations: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "kairan_http_request_duration_seconds",
			Help:    "HTTP request durations by route pattern (long polls until they answer; SSE streams until they are taken over from net/http).",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 10, 30, 120}},
			[]string{"route", "method"}),
	}
	m.reg.MustRegister(m.streams, m.waiters, m.published, m.deliveries, m.dropped, m.batched, m.requests, m.rejections, m.durations,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Hub returns the callbacks the hub reports through.
func (m *Metrics) Hub() hub.Metrics {
	return hub.Metrics{
		Published: func(n int) { m.published.Add(float64(n)) },
		Dropped:   m.dropped.Inc,
	}
}

// Handler serves the series in Prometheus text format; with
// --metrics-addr it is served on a listener of its own.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

func (m *Metrics) streamOpened()          { m.streams.Inc() }
func (m *Metrics) streamClosed()          { m.streams.Dec() }
func (m *Metrics) waiterStarted()         { m.waiters.Inc() }
func (m *Metrics) waiterDone()            { m.waiters.Dec() }
func (m *Metrics) delivered(n int)        { m.deliveries.Add(float64(n)) }
func (m *Metrics) wroteBatch(n int)       { m.batched.Add(float64(n)) }
func (m *Metrics) rejected(reason string) { m.rejections.WithLabelValues(reason).Inc() }

// instrument counts and times every request through the Prometheus
// library's own middleware. Every label has a bounded set of values,
// whatever clients send: the method is one of the standard ten (else the
// library's "unknown"), the status code one the library knows, and the
// route the ServeMux pattern that matched (else "other"), never the path.
// A client sending random methods and paths therefore adds no series
// (TestMetricLabelsStayBounded).
func (m *Metrics) instrument(next http.Handler) http.Handler {
	route := promhttp.WithLabelFromRequest("route", routeOf)
	return promhttp.InstrumentHandlerCounter(m.requests,
		promhttp.InstrumentHandlerDuration(m.durations, next, route), route)
}

// routeOf is the pattern the mux matched. The mux sets it on the request it
// was given, which the instrumenting middleware reads after serving.
func routeOf(r *http.Request) string {
	if r.Pattern == "" {
		return "other"
	}
	return r.Pattern
}
