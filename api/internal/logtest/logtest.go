// Package logtest records what code under test logs, so a test can wait
// for a log line as an event instead of sleeping.
package logtest

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// Recorder is a slog.Handler that keeps every record and signals each new
// one. Its zero value is not ready: use New.
type Recorder struct {
	mu    sync.Mutex
	list  []slog.Record
	added chan struct{}
}

// New returns an empty Recorder.
func New() *Recorder { return &Recorder{added: make(chan struct{}, 1)} }

// Logger is a logger writing to r.
func (r *Recorder) Logger() *slog.Logger { return slog.New(r) }

func (r *Recorder) Enabled(context.Context, slog.Level) bool { return true }
func (r *Recorder) WithAttrs([]slog.Attr) slog.Handler       { return r }
func (r *Recorder) WithGroup(string) slog.Handler            { return r }
func (r *Recorder) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	r.list = append(r.list, rec)
	r.mu.Unlock()
	select {
	case r.added <- struct{}{}:
	default:
	}
	return nil
}

// Records returns the records so far.
func (r *Recorder) Records() []slog.Record {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]slog.Record(nil), r.list...)
}

// Wait waits until ok holds for the records so far, and returns them. The
// bound only fails a broken test; it is not a timing claim.
func (r *Recorder) Wait(t testing.TB, bound time.Duration, what string, ok func([]slog.Record) bool) []slog.Record {
	t.Helper()
	deadline := time.After(bound)
	for {
		r.mu.Lock()
		list := append([]slog.Record(nil), r.list...)
		r.mu.Unlock()
		if ok(list) {
			return list
		}
		select {
		case <-r.added:
		case <-deadline:
			t.Fatalf("never logged %s; log: %v", what, list)
		}
	}
}

// Saying returns the records whose message holds text.
func Saying(list []slog.Record, text string) []slog.Record {
	var found []slog.Record
	for _, rec := range list {
		if strings.Contains(rec.Message, text) {
			found = append(found, rec)
		}
	}
	return found
}
