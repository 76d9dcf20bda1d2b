package sse

import (
	"bytes"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

const testMaxLine = 1 << 16

// decodeAll reads every event of stream, and the error that ended it.
func decodeAll(t *testing.T, stream string, maxLine int) ([]Event, []string, error) {
	t.Helper()
	d := NewDecoder(strings.NewReader(stream), maxLine)
	var comments []string
	d.OnComment(func(c string) { comments = append(comments, c) })
	var events []Event
	for {
		ev, err := d.Next()
		if err != nil {
			return events, comments, err
		}
		events = append(events, ev)
	}
}

func wantEvents(t *testing.T, stream string, want ...Event) {
	t.Helper()
	got, _, err := decodeAll(t, stream, testMaxLine)
	if err != io.EOF {
		t.Fatalf("decoding %q ended with %v, want io.EOF", stream, err)
	}
	if len(got) != len(want) {
		t.Fatalf("decoding %q gave %d events %q, want %d: %q", stream, len(got), got, len(want), want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("decoding %q: event %d = %q, want %q", stream, i, got[i], want[i])
		}
	}
}

func TestAppendEventFormat(t *testing.T) {
	for _, tc := range []struct {
		typ, id, data string
		want          string
	}{
		{"change", "e1.7", `{"a":1}`, "event: change\nid: e1.7\ndata: {\"a\":1}\n\n"},
		{"", "", "x", "data: x\n\n"},
		{"", "", "", "data: \n\n"},
		{"reset", "", "a\n\nb", "event: reset\ndata: a\ndata: \ndata: b\n\n"},
		{"", "9", "a\n", "id: 9\ndata: a\ndata: \n\n"},
	} {
		got := string(AppendEvent([]byte("prefix|"), tc.typ, tc.id, []byte(tc.data)))
		if got != "prefix|"+tc.want {
			t.Errorf("AppendEvent(%q, %q, %q) = %q, want %q", tc.typ, tc.id, tc.data, got, "prefix|"+tc.want)
		}
	}
	if got := string(AppendComment(nil, "ping")); got != ": ping\n\n" {
		t.Errorf("AppendComment = %q", got)
	}
	if got := string(AppendRetry(nil, 2000)); got != "retry: 2000\n\n" {
		t.Errorf("AppendRetry = %q", got)
	}
}

func TestRoundTrip(t *testing.T) {
	var b []byte
	b = AppendRetry(b, 1500)
	b = AppendComment(b, "hello")
	b = AppendEvent(b, "reset", "ep.3", []byte(`{"board":"lobby","topics":[]}`))
	b = AppendEvent(b, "change", "ep.4", []byte("line one\nline two\n\nline four"))
	b = AppendComment(b, "ping")
	b = AppendEvent(b, "", "", []byte(""))           // unnamed, no id: keeps ep.4
	b = AppendEvent(b, "change", "", []byte("  x ")) // leading spaces beyond the first survive
	b = AppendEvent(b, "change", "ep.5", []byte("\n"))
	events, comments, err := decodeAll(t, string(b), testMaxLine)
	if err != io.EOF {
		t.Fatalf("stream ended with %v, want io.EOF", err)
	}
	want := []Event{
		{Type: "reset", ID: "ep.3", Data: `{"board":"lobby","topics":[]}`},
		{Type: "change", ID: "ep.4", Data: "line one\nline two\n\nline four"},
		{Type: "message", ID: "ep.4", Data: ""},
		{Type: "change", ID: "ep.4", Data: "  x "},
		{Type: "change", ID: "ep.5", Data: "\n"},
	}
	if len(events) != len(want) {
		t.Fatalf("got %d events %q, want %q", len(events), events, want)
	}
	for i := range want {
		if events[i] != want[i] {
			t.Errorf("event %d = %q, want %q", i, events[i], want[i])
		}
	}
	if strings.Join(comments, "|") != "hello|ping" {
		t.Errorf("comments = %q, want hello and ping", comments)
	}
}

func TestDecoderFields(t *testing.T) {
	t.Run("multi-line data and an empty data line", func(t *testing.T) {
		wantEvents(t, "data: a\ndata:\ndata\ndata: b\n\n", Event{Type: "message", Data: "a\n\n\nb"})
	})
	t.Run("one space after the colon is dropped, more are kept", func(t *testing.T) {
		wantEvents(t, "data:x\n\ndata:  y\n\n",
			Event{Type: "message", Data: "x"}, Event{Type: "message", Data: " y"})
	})
	t.Run("id is kept across events and can be cleared", func(t *testing.T) {
		wantEvents(t, "id: 1\ndata: a\n\ndata: b\n\nid\ndata: c\n\nid: 2\n\ndata: d\n\n",
			Event{Type: "message", ID: "1", Data: "a"},
			Event{Type: "message", ID: "1", Data: "b"},
			Event{Type: "message", ID: "", Data: "c"},
			// an id in an event without data still sets the last id
			Event{Type: "message", ID: "2", Data: "d"})
	})
	t.Run("id containing NUL is ignored", func(t *testing.T) {
		wantEvents(t, "id: good\ndata: a\n\nid: b\x00ad\ndata: b\n\n",
			Event{Type: "message", ID: "good", Data: "a"},
			Event{Type: "message", ID: "good", Data: "b"})
	})
	t.Run("event type applies to one event only", func(t *testing.T) {
		wantEvents(t, "event: change\ndata: a\n\ndata: b\n\n",
			Event{Type: "change", Data: "a"}, Event{Type: "message", Data: "b"})
	})
	t.Run("event without data is dropped, type and all", func(t *testing.T) {
		wantEvents(t, "event: reset\nid: 5\n\nevent: other\n\ndata: x\n\n\n\n",
			Event{Type: "message", ID: "5", Data: "x"})
	})
	t.Run("retry and unknown fields are ignored", func(t *testing.T) {
		wantEvents(t, "retry: 10\n\nretry: 20\nfoo: bar\nDATA: no\ndata: yes\n\n",
			Event{Type: "message", Data: "yes"})
	})
	t.Run("comments", func(t *testing.T) {
		events, comments, err := decodeAll(t, ": ping\n:\n:  two\ndata: a\n: mid-event\n\n", testMaxLine)
		if err != io.EOF || len(events) != 1 || events[0].Data != "a" {
			t.Fatalf("events %q, %v", events, err)
		}
		if strings.Join(comments, "|") != "ping|| two|mid-event" {
			t.Fatalf("comments = %q", comments)
		}
		// Without OnComment comments are skipped silently.
		d := NewDecoder(strings.NewReader(": x\ndata: b\n\n"), testMaxLine)
		if ev, err := d.Next(); err != nil || ev.Data != "b" {
			t.Fatalf("Next = %q, %v", ev, err)
		}
	})
	t.Run("empty stream", func(t *testing.T) {
		wantEvents(t, "")
	})
}

func TestDecoderLineEnds(t *testing.T) {
	want := []Event{
		{Type: "change", ID: "7", Data: "a\nb"},
		{Type: "message", ID: "7", Data: "c"},
	}
	lf := "event: change\nid: 7\ndata: a\ndata: b\n\ndata: c\n\n"
	for name, stream := range map[string]string{
		"LF":    lf,
		"CRLF":  strings.ReplaceAll(lf, "\n", "\r\n"),
		"CR":    strings.ReplaceAll(lf, "\n", "\r"),
		"mixed": "event: change\r\nid: 7\rdata: a\ndata: b\r\n\rdata: c\r\n\n",
	} {
		t.Run(name, func(t *testing.T) {
			wantEvents(t, stream, want...)
			// Byte by byte, so "\r" and "\n" of a CRLF arrive apart.
			d := NewDecoder(iotest.OneByteReader(strings.NewReader(stream)), testMaxLine)
			for i, w := range want {
				ev, err := d.Next()
				if err != nil || ev != w {
					t.Fatalf("byte-wise event %d = %q, %v; want %q", i, ev, err, w)
				}
			}
			if _, err := d.Next(); err != io.EOF {
				t.Fatalf("byte-wise end = %v, want io.EOF", err)
			}
		})
	}
}

// TestDecoderCRDispatchesWithoutMoreInput checks that a blank line ended by
// a lone "\r" dispatches the event at once, instead of waiting for the next
// byte to learn whether a "\n" follows. A live stream may send nothing more
// for a long time.
func TestDecoderCRDispatchesWithoutMoreInput(t *testing.T) {
	pr, pw := io.Pipe()
	defer pr.Close()
	go func() {
		pw.Write([]byte("data: a\r\r"))
		// Hold the stream open, as a quiet server does, until the reader
		// is done.
	}()
	got := make(chan Event, 1)
	errc := make(chan error, 1)
	go func() {
		ev, err := NewDecoder(pr, testMaxLine).Next()
		if err != nil {
			errc <- err
			return
		}
		got <- ev
	}()
	select {
	case ev := <-got:
		if ev.Data != "a" {
			t.Fatalf("event = %q", ev)
		}
	case err := <-errc:
		t.Fatal(err)
	case <-time.After(5 * time.Second):
		pw.Close()
		t.Fatal("an event ended by CR CR was not dispatched until more input arrived")
	}
	pw.Close()
}

func TestDecoderLineTooLong(t *testing.T) {
	// A line of exactly the limit is fine.
	d := NewDecoder(strings.NewReader("data: "+strings.Repeat("x", 10)+"\n\n"), 16)
	if ev, err := d.Next(); err != nil || len(ev.Data) != 10 {
		t.Fatalf("line of 16 bytes with limit 16: %q, %v", ev, err)
	}
	// One more byte is not, whatever follows or does not.
	for _, stream := range []string{
		"data: " + strings.Repeat("x", 11) + "\n\n",
		"data: " + strings.Repeat("x", 11),
		"data: ok\n\n: " + strings.Repeat("c", 1<<20) + "\n",
	} {
		events, _, err := decodeAll(t, stream, 16)
		if !errors.Is(err, ErrLineTooLong) {
			t.Fatalf("stream of %d bytes: err = %v, want ErrLineTooLong", len(stream), err)
		}
		for _, ev := range events {
			if ev.Data != "ok" {
				t.Fatalf("an over-long line produced event %q", ev)
			}
		}
	}
}

func TestDecoderTruncated(t *testing.T) {
	// The stream ends inside a line.
	for _, stream := range []string{"data: abc", "data: a\n\nid: 4", "data: a\ndata: b", ": comm"} {
		events, _, err := decodeAll(t, stream, testMaxLine)
		if err != io.ErrUnexpectedEOF {
			t.Errorf("%q ended with %v, want io.ErrUnexpectedEOF", stream, err)
		}
		if len(events) > 1 || len(events) == 1 && events[0].Data != "a" {
			t.Errorf("%q gave events %q", stream, events)
		}
	}
	// The stream ends after a whole line but inside an event: the event is
	// not dispatched (as in a browser).
	events, _, err := decodeAll(t, "data: a\n\ndata: b\n", testMaxLine)
	if err == nil || len(events) != 1 || events[0].Data != "a" {
		t.Fatalf("half an event: events %q, err %v", events, err)
	}
	// A read error is passed through.
	boom := errors.New("boom")
	d := NewDecoder(io.MultiReader(strings.NewReader("data: a\n\ndata: b"), iotest.ErrReader(boom)), testMaxLine)
	if ev, err := d.Next(); err != nil || ev.Data != "a" {
		t.Fatalf("first event = %q, %v", ev, err)
	}
	if _, err := d.Next(); !errors.Is(err, boom) {
		t.Fatalf("err = %v, want boom", err)
	}
}

// fuzzEvent is one event as AppendEvent may be asked to write it.
type fuzzEvent struct{ typ, id, data string }

// validForAppend reports whether AppendEvent promises a round trip: no CR
// anywhere, no LF in the type or id, no NUL in the id.
func (e fuzzEvent) validForAppend() bool {
	return !strings.ContainsAny(e.typ, "\r\n") && !strings.ContainsAny(e.id, "\r\n\x00") &&
		!strings.Contains(e.data, "\r")
}

func FuzzDecoder(f *testing.F) {
	f.Add([]byte("event: change\nid: e.1\ndata: {}\n\n"), "change", "e.2", "a\nb", "", "", "")
	f.Add([]byte("data: a\r\ndata:\r\rid: 1\x00\n\n: ping\n"), "", "", "", "x", "y", "\n")
	f.Add([]byte("retry: 5\n\ndata"), "reset", "", "  lead", "", "e.9", "")
	f.Add([]byte("\r\r\n\n\r"), "", "e.1", "", "event", "", "z\n\nz")
	f.Fuzz(func(t *testing.T, raw []byte, typ1, id1, data1, typ2, id2, data2 string) {
		// Any input: no panic, and every event is well formed.
		d := NewDecoder(bytes.NewReader(raw), 64)
		d.OnComment(func(string) {})
		for range len(raw) + 1 {
			ev, err := d.Next()
			if err != nil {
				if err != io.EOF && err != io.ErrUnexpectedEOF && err != ErrLineTooLong {
					t.Fatalf("unexpected error %v", err)
				}
				break
			}
			if ev.Type == "" || strings.ContainsAny(ev.Type+ev.ID+ev.Data, "\r") ||
				strings.ContainsAny(ev.Type+ev.ID, "\n") || strings.ContainsRune(ev.ID, 0) {
				t.Fatalf("malformed event %q", ev)
			}
		}

		// Events made by AppendEvent decode back identically.
		in := []fuzzEvent{{typ1, id1, data1}, {typ2, id2, data2}, {typ1, "", data2}}
		var stream []byte
		var want []Event
		lastID := ""
		for _, e := range in {
			if !e.validForAppend() {
				continue
			}
			stream = AppendEvent(stream, e.typ, e.id, []byte(e.data))
			stream = AppendComment(stream, "between")
			if e.id != "" {
				lastID = e.id
			}
			typ := e.typ
			if typ == "" {
				typ = "message"
			}
			want = append(want, Event{Type: typ, ID: lastID, Data: e.data})
		}
		d = NewDecoder(bytes.NewReader(stream), len(stream)+1)
		for i, w := range want {
			ev, err := d.Next()
			if err != nil || ev != w {
				t.Fatalf("stream %q: event %d = %q, %v; want %q", stream, i, ev, err, w)
			}
		}
		if ev, err := d.Next(); err != io.EOF {
			t.Fatalf("stream %q: after the events got %q, %v; want io.EOF", stream, ev, err)
		}
	})
}

// FuzzDecoderMatchesByteWise checks the decoder, which works on lines in
// its buffer, against a plain byte-at-a-time reading of the same rules
// (the decoder before it was made faster), over any input cut into any
// reads.
func FuzzDecoderMatchesByteWise(f *testing.F) {
	f.Add([]byte("event: change\nid: e.1\ndata: {}\n\n: ping\n"), uint8(3))
	f.Add([]byte("data: a\r\ndata:\r\rid: 1\x00\n\nevent:x\ndata\n\n"), uint8(1))
	f.Add([]byte("data: "+strings.Repeat("y", 70)+"\n\ndata: z\n\n"), uint8(5))
	f.Add([]byte("\r\r\n\n\rdata: q"), uint8(2))
	f.Fuzz(func(t *testing.T, raw []byte, chunk uint8) {
		const maxLine = 64
		got, gotComments, gotErr := readAllEvents(NewDecoder(chunked(raw, int(chunk)), maxLine))
		want, wantComments, wantErr := readAllByteWise(raw, maxLine)
		if gotErr != wantErr || !slices.Equal(got, want) || !slices.Equal(gotComments, wantComments) {
			t.Fatalf("input %q in reads of %d:\n got %q %q %v\nwant %q %q %v", raw, chunk, got, gotComments, gotErr, want, wantComments, wantErr)
		}
	})
}

func readAllEvents(d *Decoder) (events []Event, comments []string, err error) {
	d.OnComment(func(text string) { comments = append(comments, text) })
	for {
		ev, err := d.Next()
		if err != nil {
			return events, comments, err
		}
		events = append(events, ev)
	}
}

// chunked reads raw in reads of at most n bytes (n = 0: all at once).
func chunked(raw []byte, n int) io.Reader {
	if n == 0 {
		return bytes.NewReader(raw)
	}
	return &chunkReader{raw, n}
}

type chunkReader struct {
	rest []byte
	n    int
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if len(c.rest) == 0 {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), c.n)], c.rest)
	c.rest = c.rest[n:]
	return n, nil
}

// readAllByteWise decodes raw one byte at a time by the rules of the
// package comment: the reference FuzzDecoderMatchesByteWise holds the
// decoder to.
func readAllByteWise(raw []byte, maxLine int) (events []Event, comments []string, err error) {
	var lastID string
	afterCR := false
	i := 0
	readLine := func() (string, error) {
		var b []byte
		for {
			if i == len(raw) {
				if len(b) > 0 {
					return "", io.ErrUnexpectedEOF
				}
				return "", io.EOF
			}
			c := raw[i]
			i++
			if afterCR {
				afterCR = false
				if c == '\n' {
					continue
				}
			}
			switch c {
			case '\n':
				return string(b), nil
			case '\r':
				afterCR = true
				return string(b), nil
			}
			if len(b) >= maxLine {
				return "", ErrLineTooLong
			}
			b = append(b, c)
		}
	}
	for {
		var typ string
		var data strings.Builder
		hasData := false
		for {
			line, err := readLine()
			if err != nil {
				return events, comments, err
			}
			if line == "" {
				if !hasData {
					typ = ""
					continue
				}
				if typ == "" {
					typ = "message"
				}
				events = append(events, Event{Type: typ, ID: lastID, Data: data.String()})
				break
			}
			if line[0] == ':' {
				comments = append(comments, strings.TrimPrefix(line[1:], " "))
				continue
			}
			field, value, _ := strings.Cut(line, ":")
			value = strings.TrimPrefix(value, " ")
			switch field {
			case "event":
				typ = value
			case "data":
				if hasData {
					data.WriteByte('\n')
				}
				data.WriteString(value)
				hasData = true
			case "id":
				if !strings.ContainsRune(value, 0) {
					lastID = value
				}
			}
		}
	}
}

// FuzzFeederMatchesByteWise holds the Feeder, which is handed the stream
// in pieces, to the same byte-at-a-time reference as the Decoder, over any
// input cut into pieces of any one size (1–255 bytes, or all at once).
func FuzzFeederMatchesByteWise(f *testing.F) {
	f.Add([]byte("event: change\nid: e.1\ndata: {}\n\n: ping\n"), uint8(3))
	f.Add([]byte("data: a\r\ndata:\r\rid: 1\x00\n\nevent:x\ndata\n\n"), uint8(1))
	f.Add([]byte("data: "+strings.Repeat("y", 70)+"\n\ndata: z\n\n"), uint8(5))
	f.Add([]byte("\r\r\n\n\rdata: q"), uint8(2))
	f.Fuzz(func(t *testing.T, raw []byte, piece uint8) {
		const maxLine = 64
		var got []Event
		var gotComments []string
		fd := NewFeeder(maxLine, func(ev Event) { got = append(got, ev) })
		fd.OnComment(func(text string) { gotComments = append(gotComments, text) })
		gotErr := error(nil)
		for rest := raw; len(rest) > 0 && gotErr == nil; {
			n := len(rest)
			if piece > 0 {
				n = min(n, int(piece))
			}
			gotErr = fd.Feed(rest[:n])
			rest = rest[n:]
		}
		// What the reference says at the end of its input.
		switch {
		case gotErr != nil:
		case len(fd.long) > 0:
			gotErr = io.ErrUnexpectedEOF
		default:
			gotErr = io.EOF
		}
		want, wantComments, wantErr := readAllByteWise(raw, maxLine)
		if gotErr != wantErr || !slices.Equal(got, want) || !slices.Equal(gotComments, wantComments) {
			t.Fatalf("input %q in pieces of %d:\n got %q %q %v\nwant %q %q %v", raw, piece, got, gotComments, gotErr, want, wantComments, wantErr)
		}
	})
}
