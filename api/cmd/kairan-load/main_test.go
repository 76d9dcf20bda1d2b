package main

import (
	"context"
	"io"
	"strings"
	"testing"
)

// TestLoadCommandRefusesOtherHosts: `kairan-load load` never sends
// anything off loopback, and says why.
func TestLoadCommandRefusesOtherHosts(t *testing.T) {
	for _, args := range [][]string{
		{"load", "--url", "http://192.0.2.1:8080", "--sse", "1"},
		{"load", "--metrics", "http://192.0.2.1:9090/metrics", "--sse", "1"},
	} {
		var stderr strings.Builder
		code := run(context.Background(), args, io.Discard, &stderr)
		if code != 2 || !strings.Contains(stderr.String(), "loopback") {
			t.Errorf("%v: exit %d, stderr %q; want 2 and a loopback refusal", args, code, stderr.String())
		}
	}
}

// TestBenchCommandRefusesBadFlags: a scenario that does not exist or a
// writer count that is not a number is refused before any server starts.
func TestBenchCommandRefusesBadFlags(t *testing.T) {
	for args, want := range map[string]string{
		"bench --only a,e":     `no scenario "e"`,
		"bench --writers 32,x": "whole numbers",
		"bench extra":          "unexpected argument",
		"serve --addr :8080":   `unknown command "serve"`,
	} {
		var stderr strings.Builder
		code := run(context.Background(), strings.Fields(args), io.Discard, &stderr)
		if code != 2 || !strings.Contains(stderr.String(), want) {
			t.Errorf("%s: exit %d, stderr %q; want 2 and %q", args, code, stderr.String(), want)
		}
	}
}

// TestRivalsCommandRefusesBadFlags: the rivals run refuses what it could
// not measure before any server starts.
func TestRivalsCommandRefusesBadFlags(t *testing.T) {
	for args, want := range map[string]string{
		"rivals --only kairan,nats":      `no server "nats"`,
		"rivals --subscribers 1000,0":    "whole numbers",
		"rivals --rounds 0":              "--rounds and --messages",
		"rivals --idle 0s":               "must be above 0",
		"rivals --idle 11m":              "at most",
		"rivals --sources -1":            "--sources",
		"rivals --kairan /nonexistent/k": "the kairan binary",
	} {
		var stderr strings.Builder
		code := run(context.Background(), strings.Fields(args), io.Discard, &stderr)
		wantCode := 2
		if strings.Contains(args, "nonexistent") {
			wantCode = 1 // parsed, but nothing to run
		}
		if code != wantCode || !strings.Contains(stderr.String(), want) {
			t.Errorf("%s: exit %d, stderr %q; want %d and %q", args, code, stderr.String(), wantCode, want)
		}
	}
}
