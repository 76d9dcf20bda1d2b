package load

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"
)

func TestPercentileIsNearestRank(t *testing.T) {
	ms := func(v ...int) []time.Duration {
		var d []time.Duration
		for _, x := range v {
			d = append(d, time.Duration(x)*time.Millisecond)
		}
		return d
	}
	hundred := make([]int, 100)
	for i := range hundred {
		hundred[i] = i + 1 // 1..100 ms
	}
	for _, tc := range []struct {
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{nil, 0.5, 0},
		{ms(7), 0, 7 * time.Millisecond},
		{ms(7), 0.5, 7 * time.Millisecond},
		{ms(7), 1, 7 * time.Millisecond},
		{ms(1, 2), 0.5, 1 * time.Millisecond},
		{ms(1, 2, 3, 4), 0.5, 2 * time.Millisecond},
		{ms(1, 2, 3, 4), 0.75, 3 * time.Millisecond},
		{ms(1, 2, 3, 4), 0.76, 4 * time.Millisecond},
		{ms(hundred...), 0.5, 50 * time.Millisecond},
		{ms(hundred...), 0.99, 99 * time.Millisecond},
		{ms(hundred...), 1, 100 * time.Millisecond},
		{ms(hundred...), 0, 1 * time.Millisecond},
	} {
		if got := percentile(tc.sorted, tc.p); got != tc.want {
			t.Errorf("percentile(%d samples, %v) = %v, want %v", len(tc.sorted), tc.p, got, tc.want)
		}
	}
	d := distOf(ms(5, 1, 3, 2, 4))
	if d != (Dist{N: 5, Min: 1, P50: 3, P99: 5, Max: 5}) {
		t.Errorf("distOf = %+v", d)
	}
}

func TestCheckURLAcceptsOnlyLoopback(t *testing.T) {
	for raw, want := range map[string]string{
		"http://127.0.0.1:8080":          "http://127.0.0.1:8080",
		"http://127.0.0.1:8080/":         "http://127.0.0.1:8080",
		"http://127.1.2.3:9":             "http://127.1.2.3:9",
		"http://localhost:8080":          "http://localhost:8080",
		"http://LOCALHOST":               "http://LOCALHOST",
		"http://[::1]:8080":              "http://[::1]:8080",
		"http://[::ffff:127.0.0.1]:8080": "http://[::ffff:127.0.0.1]:8080",
		"https://127.0.0.1:8443":         "https://127.0.0.1:8443",
	} {
		got, err := CheckURL(raw)
		if err != nil || got != want {
			t.Errorf("CheckURL(%q) = %q, %v; want %q", raw, got, err, want)
		}
	}
	for _, raw := range []string{
		"http://10.0.0.1:8080",
		"http://192.168.1.10",
		"http://0.0.0.0:8080",
		"http://[::]:8080",
		"http://[::2]:8080",
		"http://128.0.0.1",
		"http://example.org",
		"http://localhost.example.org",
		"http://127.0.0.1.nip.io",
		"http://localhost.",
		"http://user:pw@127.0.0.1:8080",
		"http://127.0.0.1:8080/api",
		"http://127.0.0.1:8080?x=1",
		"ftp://127.0.0.1",
		"127.0.0.1:8080",
		"http://127.0.0.1:0",
		"http://127.0.0.1:99999",
		"",
	} {
		if got, err := CheckURL(raw); err == nil {
			t.Errorf("CheckURL(%q) = %q, want an error", raw, got)
		}
	}
	_, err := CheckURL("http://10.1.2.3:8080")
	if err == nil || !strings.Contains(err.Error(), "loopback") {
		t.Errorf("the refusal should say why: %v", err)
	}
}

func TestRunRefusesOtherHostsBeforeConnecting(t *testing.T) {
	// 192.0.2.0/24 is TEST-NET-1: nothing answers there, and nothing may
	// be sent either; the refusal must come before any dial.
	_, err := Run(context.Background(), Options{URL: "http://192.0.2.1:8080", SSE: 1})
	if err == nil || !strings.Contains(err.Error(), "loopback") {
		t.Fatalf("Run against another host = %v, want a loopback refusal", err)
	}
}

func TestCommentCarriesSendTime(t *testing.T) {
	tr := newTracker(0)
	sent := time.Unix(1700000000, 123456789)
	at, ok := tr.sentAt(tr.comment(sent, 42))
	if !ok || at != sent.UnixNano() {
		t.Fatalf("sentAt(comment) = %d, %v; want %d", at, ok, sent.UnixNano())
	}
	other := newTracker(0)
	if _, ok := other.sentAt(tr.comment(sent, 42)); ok {
		t.Error("another run's post was taken for this run's")
	}
	for _, c := range []string{"", "load", "load x 1 " + tr.tag, "hello world"} {
		if _, ok := tr.sentAt(c); ok {
			t.Errorf("sentAt(%q) accepted", c)
		}
	}
}

func TestReadProcReadsThisProcess(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc")
	}
	s, err := readProc(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if s.RSS < 1<<20 || s.CPU < 0 {
		t.Errorf("readProc(self) = %+v: RSS under 1 MiB?", s)
	}
	if _, err := readProc(1 << 30); err == nil {
		t.Error("readProc of a missing pid succeeded")
	}
}

func TestOptionsDefaultsAndRefusals(t *testing.T) {
	o := Options{SSE: 1, Rate: 5, Posts: 10}
	if err := o.normalize(); err != nil {
		t.Fatal(err)
	}
	if o.URL != "http://127.0.0.1:8080" || o.Board != "load" || o.Writers != 4 || o.Duration != MaxDuration ||
		o.Settle != 10*time.Second || o.PollWait != 25 || o.ConnectRate != 2000 {
		t.Errorf("defaults: %+v", o)
	}
	idle := Options{SSE: 1}
	if err := idle.normalize(); err != nil || idle.Duration != 30*time.Second || idle.Writers != 0 {
		t.Errorf("idle defaults: %+v, %v", idle, err)
	}
	for _, bad := range []Options{
		{Posts: 10},                   // posts without a rate or writers
		{Duration: 11 * time.Minute},  // beyond the hard bound
		{Settle: 3 * time.Minute},     // beyond the settle bound
		{Board: "Not A Board"},        // not a slug
		{SSE: -1},                     // negative
		{PollWait: 31},                // beyond the contract's 30 s
		{URL: "http://example.org"},   // not loopback
		{Rate: -1, Writers: 1},        // negative rate
		{ConnectRate: -5, Writers: 1}, // negative connect rate
	} {
		if err := bad.normalize(); err == nil {
			t.Errorf("normalize(%+v) accepted", bad)
		}
	}
}

func TestTableAlignsColumns(t *testing.T) {
	var sb strings.Builder
	writeTable(&sb, []row{
		{"a", "p50 ≤", "1 ms", "≤ 5 ms", "yes"},
		{"a", "max", "2 ms", "", ""},
		{"long name", "x", "y", "z", "no"},
	})
	lines := strings.Split(strings.TrimSpace(sb.String()), "\n")
	if len(lines) != 5 {
		t.Fatalf("%d lines:\n%s", len(lines), sb.String())
	}
	width := len([]rune(lines[0]))
	for _, l := range lines {
		if len([]rune(l)) != width {
			t.Errorf("ragged table:\n%s", sb.String())
			break
		}
	}
	if !strings.HasPrefix(lines[3], "|           |") {
		t.Errorf("the scenario's name should show once:\n%s", sb.String())
	}
}

// parseSeries reads the figures a run needs from promhttp's text, where
// route labels hold spaces and braces, and sums 5xx answers over routes.
func TestParseSeriesReadsTheServersCounts(t *testing.T) {
	text := `# HELP kairan_sse_subscribers Open Server-Sent Events streams.
# TYPE kairan_sse_subscribers gauge
kairan_sse_subscribers 7
kairan_longpoll_waiters 3
kairan_changes_published_total 25
kairan_events_delivered_total 250
kairan_slow_subscribers_dropped_total 2
kairan_http_requests_total{code="200",method="get",route="GET /api/boards/{board}"} 40
kairan_http_requests_total{code="503",method="get",route="GET /api/boards/{board}/events"} 4
kairan_http_requests_total{code="500",method="post",route="POST /api/boards/{board}/topics"} 1
`
	s, err := parseSeries(strings.NewReader(text))
	want := series{sse: 7, waiters: 3, published: 25, delivered: 250, dropped: 2, fiveXX: 5}
	if err != nil || s != want {
		t.Errorf("parseSeries = %+v, %v; want %+v", s, err, want)
	}
	if _, err := parseSeries(strings.NewReader("kairan_sse_subscribers seven\n")); err == nil {
		t.Error("a value that is not a number was accepted")
	}
}
