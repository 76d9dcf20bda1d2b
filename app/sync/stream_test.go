package sync

import (
	"context"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/kairan/kairan/shared/sse"
)

// decodeStream hands on every event in order, each after the last was
// handled, and counts every read that brought bytes, pings included.
func TestDecodeStreamHandsOnEveryEventInOrder(t *testing.T) {
	const n = 5000 // far beyond any queue the stream once had (256)
	r, w := io.Pipe()
	go func() {
		var frame []byte
		for i := range n {
			frame = sse.AppendEvent(frame[:0], "change", fmt.Sprint("e.", i), []byte(fmt.Sprintf(`{"n":%d}`, i)))
			if i%100 == 0 {
				frame = sse.AppendComment(frame, "ping")
			}
			if _, err := w.Write(frame); err != nil {
				return
			}
		}
		w.Close()
	}()
	var got []string
	reads := 0
	on := StreamEvents{Event: func(typ, _, data string) { got = append(got, typ+" "+data) }}
	err := decodeStream(context.Background(), &activity{r: r, seen: func() { reads++ }}, on)
	if err == nil || !strings.Contains(err.Error(), "ended") {
		t.Fatalf("the end of the stream: %v", err)
	}
	if len(got) != n {
		t.Fatalf("%d events handed on, want %d", len(got), n)
	}
	for i, g := range got {
		if want := fmt.Sprintf(`change {"n":%d}`, i); g != want {
			t.Fatalf("event %d = %q, want %q", i, g, want)
		}
	}
	if reads == 0 {
		t.Fatal("no read was reported as activity")
	}
}

// Once the engine has given up on a stream (its context ended), an event
// still read from it is not handed on: the engine resumes from the cursor
// it has, and the event comes again on the next stream.
func TestDecodeStreamStopsHandingOnWhenCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	body := string(sse.AppendEvent(nil, "change", "e.1", []byte("one"))) + string(sse.AppendEvent(nil, "change", "e.2", []byte("two")))
	var got []string
	on := StreamEvents{Event: func(typ, _, data string) { got = append(got, data); cancel() }}
	err := decodeStream(ctx, strings.NewReader(body), on)
	if err != context.Canceled || len(got) != 1 || got[0] != "one" {
		t.Fatalf("after the cancel: %v, handed on %q", err, got)
	}
}
