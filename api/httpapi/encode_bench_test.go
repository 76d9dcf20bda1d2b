package httpapi

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/kairan/kairan/api/hub"
	"github.com/kairan/kairan/shared"
	"github.com/kairan/kairan/shared/sse"
)

var benchChange = shared.Change{Cursor: "6b427ba1f2643929.123456", Board: "lobby", Kind: shared.ChangeCreated,
	Topic: shared.Topic{ID: 123456, Board: "lobby", Author: "ann", Comment: "a comment of ordinary length, about sixty characters",
		CreatedAt: time.Date(2026, 11, 21, 4, 47, 52, 248395000, time.UTC), UpdatedAt: time.Date(2026, 11, 21, 4, 47, 52, 248395000, time.UTC)}}

// BenchmarkSSEFramePerSubscriber is how a change was framed before: each
// subscriber's stream encoded the change itself (one op = one subscriber).
func BenchmarkSSEFramePerSubscriber(b *testing.B) {
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	for b.Loop() {
		data, err := json.Marshal(benchChange)
		if err != nil {
			b.Fatal(err)
		}
		buf = sse.AppendEvent(buf[:0], "change", benchChange.Cursor, data)
	}
}

// BenchmarkSSEFrameShared is the cost per subscriber now: the hub encodes
// the change once (not in the loop) and each stream only frames it.
func BenchmarkSSEFrameShared(b *testing.B) {
	data, err := json.Marshal(benchChange)
	if err != nil {
		b.Fatal(err)
	}
	batch := hub.Batch{Changes: []shared.Change{benchChange}, JSON: [][]byte{data}}
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	for b.Loop() {
		buf = sse.AppendEvent(buf[:0], "change", benchChange.Cursor, batch.Encoded(0))
	}
}

// BenchmarkLongPollPage is one long-poll answer of one change, assembled
// from the shared encoding.
func BenchmarkLongPollPage(b *testing.B) {
	data, _ := json.Marshal(benchChange)
	batch := hub.Batch{Changes: []shared.Change{benchChange}, JSON: [][]byte{data}}
	b.ReportAllocs()
	for b.Loop() {
		if len(changesPage(batch, 1)) == 0 {
			b.Fatal("empty page")
		}
	}
}

// TestChangesPageIsTheContractsJSON: the assembled page decodes to the
// same ChangesPage that encoding/json would have produced.
func TestChangesPageIsTheContractsJSON(t *testing.T) {
	other := benchChange
	other.Cursor, other.Kind, other.Topic = "6b427ba1f2643929.123457", shared.ChangeDeleted, shared.Topic{ID: 7, Board: "lobby"}
	batch := hub.Batch{Changes: []shared.Change{benchChange, other, other}}
	d0, _ := json.Marshal(benchChange)
	batch.JSON = [][]byte{d0, nil} // the second is encoded on demand
	raw := changesPage(batch, 2)
	var got shared.ChangesPage
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatalf("%s: %v", raw, err)
	}
	want, _ := json.Marshal(shared.ChangesPage{Cursor: other.Cursor, Changes: []shared.Change{benchChange, other}})
	again, _ := json.Marshal(got)
	if string(again) != string(want) {
		t.Fatalf("page\n%s\nwant\n%s", again, want)
	}
}
