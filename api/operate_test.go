package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/kairan/kairan/api/config"
)

// get fetches url and returns the status and body.
func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// With --metrics-addr the series are served there, and the public address
// no longer answers them.
func TestMetricsOnTheirOwnListener(t *testing.T) {
	public := startServer(t)
	if status, body := get(t, public.URL()+"/metrics"); status != 200 || !strings.Contains(body, "kairan_sse_subscribers") {
		t.Fatalf("without --metrics-addr, public /metrics = %d", status)
	}

	m := startServer(t, func(c *config.Config) { c.MetricsAddr = "127.0.0.1:0" })
	get(t, m.URL()+"/api/boards/lobby") // one request to count
	if status, body := get(t, m.URL()+"/metrics"); status == 200 || strings.Contains(body, "kairan_") {
		t.Fatalf("with --metrics-addr, public /metrics = %d and shows series", status)
	}
	status, body := get(t, "http://"+m.metricsAddr()+"/metrics")
	if status != 200 || !strings.Contains(body, `kairan_http_requests_total{code="200",method="get",route="GET /api/boards/{board}"} 1`) {
		t.Fatalf("metrics listener = %d:\n%.2000s", status, body)
	}
}

func TestVersion(t *testing.T) {
	for _, arg := range []string{"--version", "version"} {
		var out, errOut bytes.Buffer
		if code := run(context.Background(), []string{arg}, func(string) string { return "" }, &out, &errOut); code != 0 {
			t.Fatalf("kairan %s exited %d: %s", arg, code, errOut.String())
		}
		if !regexp.MustCompile(`^kairan \S+ commit \S+ go1\.\d+`).MatchString(out.String()) {
			t.Fatalf("kairan %s printed %q", arg, out.String())
		}
	}
}

// --log-format json writes one JSON object per line, with the usual keys,
// so a collector needs no parser of its own.
func TestJSONLogs(t *testing.T) {
	var buf bytes.Buffer
	log := newLogger(&buf, "info", "json")
	log.Info("kairan serving", "url", "http://127.0.0.1:8080")
	var line map[string]any
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
		t.Fatalf("not one JSON object: %q: %v", buf.String(), err)
	}
	if line["msg"] != "kairan serving" || line["level"] != "INFO" || line["url"] != "http://127.0.0.1:8080" || line["time"] == nil {
		t.Fatalf("line %v", line)
	}
	if _, err := config.Load([]string{"--log-format", "xml"}, func(string) string { return "" }, io.Discard); err == nil ||
		!strings.Contains(err.Error(), "--log-format") {
		t.Fatalf("--log-format xml: %v", err)
	}
}
