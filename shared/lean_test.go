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

// The frames the server writes for topics without a picture are read
// without encoding/json; the rest falls back to it, with the same result
// (TestLeanChangeRoundTrip and FuzzLeanPlainMatchesJSON).
func TestLeanPlainReadsWhatTheServerWrites(t *testing.T) {
	at := time.Date(2026, 12, 7, 5, 55, 33, 212848000, time.UTC)
	for _, tc := range []struct {
		topic Topic
		plain bool
	}{
		{Topic{ID: 1, Author: "Aiko", Comment: "こんにちは 👋", CreatedAt: at, UpdatedAt: at}, true},
		{Topic{ID: 2, Author: "Tom", Comment: "edited", CreatedAt: at, UpdatedAt: at.Add(time.Minute)}, true},
		{Topic{ID: 999999999999999999}, true},
		{Topic{ID: 3, Author: "Aiko", CreatedAt: at, UpdatedAt: at, Image: &Image{ID: "p", Type: TypePNG, Width: 1, Height: 1}}, false},
		{Topic{ID: 4, Author: `"x"`, Comment: "a\nb", CreatedAt: at, UpdatedAt: at}, false},
		{Topic{ID: 5, Author: "A", Comment: "<b>", CreatedAt: at, UpdatedAt: at}, false}, // written as \u003cb\u003e
	} {
		data := string(EncodeLeanChange(Change{Kind: ChangeCreated, Topic: tc.topic}))
		lt, plain := decodeLeanPlain(data)
		if plain != tc.plain {
			t.Errorf("decodeLeanPlain(%s): plain = %v, want %v", data, plain, tc.plain)
			continue
		}
		if plain && (lt.ID != tc.topic.ID || lt.Author != tc.topic.Author || lt.Comment != tc.topic.Comment) {
			t.Errorf("decodeLeanPlain(%s) = %+v", data, lt)
		}
	}
}

// FuzzLeanPlainMatchesJSON: whatever decodeLeanPlain reads as plain,
// json.Unmarshal reads the same, without an error; and decodeLeanData,
// plain or not, gives what json.Unmarshal gives, error or not.
func FuzzLeanPlainMatchesJSON(f *testing.F) {
	for _, s := range []string{
		`{"id":1,"author":"Aiko","comment":"hello","created_at":"2026-12-07T05:55:33.212848Z"}`,
		`{"id":2,"author":"Tom","comment":"x","created_at":"2026-12-07T05:55:33Z","updated_at":"2026-12-07T05:56:33+09:00"}`,
		`{"id":9}`,
		`{"id":01}`,
		`{"id":1,"comment":"\u00e9"}`,
		`{"id":1,"comment":"` + "\xff" + `"}`,
		`{"id":1,"created_at":"2026-12-07T25:55:33Z"}`,
		`{"id":1,"created_at":"2026-12-07 05:55:33Z"}`,
		`{"id":1,"author":"a","author":"b"}`,
		`{"id":1} `,
		`{"id":1,"author":"a"`,
		`{"id":1,"comment":"` + "\t" + `"}`,
		`{"id":123456789012345678}`,
		`{"id":1234567890123456789}`,
		`{"id":1,"author":"a","Author":"b"}`,
		`{"id":1,"author":"a","image":{"id":"p","type":"image/png","width":1,"height":1}}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data string) {
		var want leanTopic
		wantErr := json.Unmarshal([]byte(data), &want)
		got, err := decodeLeanData(data)
		if (err == nil) != (wantErr == nil) {
			t.Fatalf("%q: decodeLeanData error %v, encoding/json's %v", data, err, wantErr)
		}
		if _, plain := decodeLeanPlain(data); plain && wantErr != nil {
			t.Fatalf("read %q as plain, but encoding/json refuses it: %v", data, wantErr)
		}
		if wantErr == nil && !sameLeanTopic(got, want) {
			t.Fatalf("%q: decodeLeanData read %+v, encoding/json %+v", data, got, want)
		}
	})
}

func sameLeanTopic(a, b leanTopic) bool {
	sameTime := func(a, b *time.Time) bool {
		if a == nil || b == nil {
			return a == b
		}
		return a.Equal(*b) && a.Format(time.RFC3339Nano) == b.Format(time.RFC3339Nano)
	}
	sameImage := func(a, b *Image) bool {
		if a == nil || b == nil {
			return a == b
		}
		return *a == *b
	}
	return a.ID == b.ID && a.Author == b.Author && a.Comment == b.Comment &&
		sameTime(a.CreatedAt, b.CreatedAt) && sameTime(a.UpdatedAt, b.UpdatedAt) && sameImage(a.Image, b.Image)
}
