package shared

import (
	"encoding/json"
	"testing"
	"time"
)

func TestLeanChangeRoundTrip(t *testing.T) {
	at := time.Date(2026, 12, 7, 5, 55, 33, 212848000, time.UTC)
	later := at.Add(90 * time.Second)
	img := &Image{ID: "abcdefghijklmnopqrstuv", Type: "image/png", Width: 640, Height: 480}
	for name, c := range map[string]Change{
		"created":         {Kind: ChangeCreated, Topic: Topic{ID: 1, Author: "Aiko", Comment: "こんにちは 👋", CreatedAt: at, UpdatedAt: at}},
		"updated":         {Kind: ChangeUpdated, Topic: Topic{ID: 2, Author: "Tom", Comment: "edited", CreatedAt: at, UpdatedAt: later}},
		"picture only":    {Kind: ChangeCreated, Topic: Topic{ID: 3, Author: "Aiko", CreatedAt: at, UpdatedAt: at, Image: img}},
		"deleted":         {Kind: ChangeDeleted, Topic: Topic{ID: 4}},
		"deleted, topic":  {Kind: ChangeDeleted, Topic: Topic{ID: 5, Author: "Tom", Comment: "gone", CreatedAt: at, UpdatedAt: at}},
		"quotes and tags": {Kind: ChangeCreated, Topic: Topic{ID: 6, Author: `"x"`, Comment: "<b>\n\t\\", CreatedAt: at, UpdatedAt: at}},
	} {
		t.Run(name, func(t *testing.T) {
			c.Seq, c.Board, c.Topic.Board = 41, "lobby", "lobby"
			c.Cursor = Cursor{Epoch: "0fb2677ea78370bd", Seq: 41}.String()
			data := EncodeLeanChange(c)
			got, err := DecodeLeanChange(string(c.Kind), "41", string(data), "lobby", "0fb2677ea78370bd")
			if err != nil {
				t.Fatalf("decode %s: %v", data, err)
			}
			want, _ := json.Marshal(c)
			back, _ := json.Marshal(got)
			if string(back) != string(want) || got.Seq != c.Seq {
				t.Fatalf("lean %s decoded to\n %s (seq %d), want\n %s", data, back, got.Seq, want)
			}
		})
	}
}

func TestLeanChangeBytes(t *testing.T) {
	at := time.Date(2026, 12, 7, 5, 55, 33, 212848000, time.UTC)
	c := Change{Seq: 1, Cursor: "0fb2677ea78370bd.1", Board: "lobby", Kind: ChangeCreated,
		Topic: Topic{ID: 1, Board: "lobby", Author: "Aiko", Comment: "hello there, a typical short comment!!", CreatedAt: at, UpdatedAt: at}}
	want := `{"id":1,"author":"Aiko","comment":"hello there, a typical short comment!!","created_at":"2026-12-07T05:55:33.212848Z"}`
	if got := string(EncodeLeanChange(c)); got != want {
		t.Fatalf("lean data = %s\nwant %s", got, want)
	}
	if del := string(EncodeLeanChange(Change{Kind: ChangeDeleted, Topic: Topic{ID: 9, Board: "lobby"}})); del != `{"id":9}` {
		t.Fatalf("a deletion's lean data = %s, want {\"id\":9}", del)
	}
}

func TestLeanChangeRefusesWhatItIsNot(t *testing.T) {
	good := `{"id":1,"author":"A","comment":"c","created_at":"2026-12-07T05:55:33Z"}`
	for _, tc := range []struct{ typ, id, data, epoch string }{
		{"change", "1", good, "e"},    // the first framing's type
		{"reset", "1", good, "e"},     // not a change
		{"created", "", good, "e"},    // no id
		{"created", "e.1", good, "e"}, // a full cursor is not a lean id
		{"created", "0", good, "e"},
		{"created", "-3", good, "e"},
		{"created", "99999999999999999999", good, "e"},
		{"created", "1", good, ""}, // no epoch to resume in
		{"created", "1", `{"id":"1"}`, "e"},
		{"created", "1", `[1]`, "e"},
		{"created", "1", `{"id":1,"created_at":"yesterday"}`, "e"},
		{"created", "1", "\xff", "e"},
		{"created", "1", "", "e"},
	} {
		if c, err := DecodeLeanChange(tc.typ, tc.id, tc.data, "lobby", tc.epoch); err == nil {
			t.Errorf("DecodeLeanChange(%q, %q, %q, epoch %q) = %+v, want an error", tc.typ, tc.id, tc.data, tc.epoch, c)
		}
	}
}

// What a client pays to read one change, in each framing (docs/BENCHMARKS.md
// "Bytes per change").
func BenchmarkDecodeChange(b *testing.B) {
	at := time.Date(2026, 12, 7, 5, 55, 33, 212848000, time.UTC)
	c := Change{Seq: 1234, Cursor: "0fb2677ea78370bd.1234", Board: "lobby", Kind: ChangeCreated,
		Topic: Topic{ID: 567, Board: "lobby", Author: "Aiko", Comment: "hello there, a typical short comment!!", CreatedAt: at, UpdatedAt: at}}
	first, _ := json.Marshal(c)
	lean := string(EncodeLeanChange(c))
	b.Run("first", func(b *testing.B) {
		b.SetBytes(int64(len(first)))
		for b.Loop() {
			var got Change
			if err := json.Unmarshal(first, &got); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("lean", func(b *testing.B) {
		b.SetBytes(int64(len(lean)))
		for b.Loop() {
			if _, err := DecodeLeanChange("created", "1234", lean, "lobby", "0fb2677ea78370bd"); err != nil {
				b.Fatal(err)
			}
		}
	})
}
