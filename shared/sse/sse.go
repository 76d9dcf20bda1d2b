// Package sse encodes and decodes Server-Sent Events frames
// (https://html.spec.whatwg.org/multipage/server-sent-events.html). The
// server writes with it, and native clients and tests read with it.
package sse

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strconv"
)

// Event is one dispatched event. ID is "" when the event set none.
type Event struct {
	Type string // "message" when the stream named none
	ID   string
	Data string
}

// AppendEvent appends one frame. data must not contain "\r"; each "\n"
// starts a new data line, so any JSON (which never holds raw newlines
// except as white space) round-trips.
func AppendEvent(dst []byte, typ, id string, data []byte) []byte {
	if typ != "" {
		dst = append(dst, "event: "...)
		dst = append(dst, typ...)
		dst = append(dst, '\n')
	}
	if id != "" {
		dst = append(dst, "id: "...)
		dst = append(dst, id...)
		dst = append(dst, '\n')
	}
	for {
		line, rest, more := bytes.Cut(data, []byte{'\n'})
		dst = append(dst, "data: "...)
		dst = append(dst, line...)
		dst = append(dst, '\n')
		if !more {
			break
		}
		data = rest
	}
	return append(dst, '\n')
}

// AppendComment appends a comment line, which clients ignore: a keep-alive.
func AppendComment(dst []byte, text string) []byte {
	return append(append(append(dst, ": "...), text...), "\n\n"...)
}

// AppendRetry tells the browser how long to wait before reconnecting.
func AppendRetry(dst []byte, millis int) []byte {
	return append(strconv.AppendInt(append(dst, "retry: "...), int64(millis), 10), "\n\n"...)
}

// ErrLineTooLong is returned for a line longer than the decoder's limit.
var ErrLineTooLong = errors.New("sse: line too long")

// Decoder reads events from a stream. It works on lines in its read
// buffer and makes strings only of what it returns: a subscriber's
// decoding shares the machine with what it measures (the load tool), and
// a phone's battery with everything else (a native client).
type Decoder struct {
	r   *bufio.Reader
	max int
	ev  builder
	// long holds a line that did not fit in the read buffer.
	long []byte
	// afterCR: the last line ended in "\r", so a "\n" right after it
	// belongs to that line end. Remembered instead of peeking, so a line
	// ended by a lone "\r" is returned without waiting for more input.
	afterCR bool
}

// NewDecoder reads from r; lines longer than maxLine bytes are an error
// (a hostile or broken server cannot make the client buffer without end).
func NewDecoder(r io.Reader, maxLine int) *Decoder {
	return &Decoder{r: bufio.NewReaderSize(r, 4096), max: maxLine}
}

// OnComment registers a function called with each comment line's text.
func (d *Decoder) OnComment(f func(string)) { d.ev.comment = f }

// Next returns the next event. Like a browser, it keeps the last id seen
// for events that set none, ignores "retry" and unknown fields, and drops
// events without data. It returns io.EOF at the end of the stream.
func (d *Decoder) Next() (Event, error) {
	for {
		line, err := d.readLine()
		if err != nil {
			return Event{}, err
		}
		if ev, ok := d.ev.line(line); ok {
			return ev, nil
		}
	}
}

// builder is the event being read, line by line: what the Decoder and
// the Feeder share once they have split the stream into lines.
type builder struct {
	lastID  string
	typ     string
	data    []byte
	hasData bool
	comment func(string)
}

// line takes one line without its end and returns the event it
// dispatches, if it is the blank line that ends one.
func (b *builder) line(line []byte) (Event, bool) {
	if len(line) == 0 {
		if !b.hasData {
			b.typ = ""
			return Event{}, false
		}
		typ := b.typ
		if typ == "" {
			typ = "message"
		}
		ev := Event{Type: typ, ID: b.lastID, Data: string(b.data)}
		b.typ, b.data, b.hasData = "", b.data[:0], false
		return ev, true
	}
	if line[0] == ':' {
		if b.comment != nil {
			b.comment(string(bytes.TrimPrefix(line[1:], []byte{' '})))
		}
		return Event{}, false
	}
	field, value, _ := bytes.Cut(line, []byte{':'})
	value = bytes.TrimPrefix(value, []byte{' '})
	switch string(field) {
	case "event":
		b.typ = eventType(value)
	case "data":
		if b.hasData {
			b.data = append(b.data, '\n')
		}
		b.data = append(b.data, value...)
		b.hasData = true
	case "id":
		if string(value) != b.lastID && bytes.IndexByte(value, 0) < 0 {
			b.lastID = string(value)
		}
	}
	return Event{}, false
}

// eventType is value as a string, without allocating for the types
// kairan sends.
func eventType(value []byte) string {
	switch string(value) {
	case "change":
		return "change"
	case "reset":
		return "reset"
	case "message":
		return "message"
	}
	return string(value)
}

// readLine returns the next line, ended by "\n", "\r\n" or "\r", without
// its end. The slice is valid until the next read.
func (d *Decoder) readLine() ([]byte, error) {
	d.long = d.long[:0]
	for {
		n := d.r.Buffered()
		if n == 0 {
			if _, err := d.r.Peek(1); err != nil {
				if err == io.EOF && (len(d.long) > 0) {
					return nil, io.ErrUnexpectedEOF
				}
				return nil, err
			}
			n = d.r.Buffered()
		}
		buf, _ := d.r.Peek(n)
		if d.afterCR {
			d.afterCR = false
			if buf[0] == '\n' {
				_, _ = d.r.Discard(1)
				continue
			}
		}
		end := bytes.IndexByte(buf, '\n')
		if end < 0 {
			end = len(buf)
		}
		if cr := bytes.IndexByte(buf[:end], '\r'); cr >= 0 {
			end = cr
		}
		if len(d.long)+end > d.max {
			return nil, ErrLineTooLong
		}
		if end == len(buf) { // no line end yet: keep it and read on
			d.long = append(d.long, buf...)
			_, _ = d.r.Discard(n)
			continue
		}
		d.afterCR = buf[end] == '\r'
		line := buf[:end]
		if len(d.long) > 0 {
			d.long = append(d.long, line...)
			line = d.long
		}
		_, _ = d.r.Discard(end + 1) // line stays valid: Discard does not read
		return line, nil
	}
}

// Feeder parses a stream handed to it in pieces as they arrive, where a
// Decoder pulls from a reader: for a loop that reads many streams itself
// (the load tool's epoll reader) and so cannot block on any one of them.
// It parses exactly as a Decoder does.
type Feeder struct {
	max     int
	ev      builder
	long    []byte // a line whose end has not arrived yet
	afterCR bool   // as the Decoder's
	event   func(Event)
}

// NewFeeder calls event with each event fed to it; lines longer than
// maxLine bytes are an error.
func NewFeeder(maxLine int, event func(Event)) *Feeder {
	return &Feeder{max: maxLine, event: event}
}

// OnComment registers a function called with each comment line's text.
func (f *Feeder) OnComment(fn func(string)) { f.ev.comment = fn }

// Feed parses the next bytes of the stream, calling the event and comment
// functions for what they complete. After an error the stream is broken
// and the Feeder must not be fed again.
func (f *Feeder) Feed(p []byte) error {
	for len(p) > 0 {
		if f.afterCR {
			f.afterCR = false
			if p[0] == '\n' {
				p = p[1:]
				continue
			}
		}
		end := bytes.IndexByte(p, '\n')
		if end < 0 {
			end = len(p)
		}
		if cr := bytes.IndexByte(p[:end], '\r'); cr >= 0 {
			end = cr
		}
		if len(f.long)+end > f.max {
			return ErrLineTooLong
		}
		if end == len(p) { // no line end yet: keep it for the next piece
			f.long = append(f.long, p...)
			return nil
		}
		f.afterCR = p[end] == '\r'
		line := p[:end]
		if len(f.long) > 0 {
			f.long = append(f.long, line...)
			line = f.long
		}
		p = p[end+1:]
		ev, ok := f.ev.line(line)
		f.long = f.long[:0]
		if ok {
			f.event(ev)
		}
	}
	return nil
}
