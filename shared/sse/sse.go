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
	r      *bufio.Reader
	max    int
	lastID string
	// long holds a line that did not fit in the read buffer; data the
	// data lines of the event being read.
	long, data []byte
	comment    func(string)
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
func (d *Decoder) OnComment(f func(string)) { d.comment = f }

// Next returns the next event. Like a browser, it keeps the last id seen
// for events that set none, ignores "retry" and unknown fields, and drops
// events without data. It returns io.EOF at the end of the stream.
func (d *Decoder) Next() (Event, error) {
	var typ string
	d.data = d.data[:0]
	hasData := false
	for {
		line, err := d.readLine()
		if err != nil {
			return Event{}, err
		}
		if len(line) == 0 {
			if !hasData {
				typ = ""
				continue
			}
			if typ == "" {
				typ = "message"
			}
			return Event{Type: typ, ID: d.lastID, Data: string(d.data)}, nil
		}
		if line[0] == ':' {
			if d.comment != nil {
				d.comment(string(bytes.TrimPrefix(line[1:], []byte{' '})))
			}
			continue
		}
		field, value, _ := bytes.Cut(line, []byte{':'})
		value = bytes.TrimPrefix(value, []byte{' '})
		switch string(field) {
		case "event":
			typ = eventType(value)
		case "data":
			if hasData {
				d.data = append(d.data, '\n')
			}
			d.data = append(d.data, value...)
			hasData = true
		case "id":
			if string(value) != d.lastID && bytes.IndexByte(value, 0) < 0 {
				d.lastID = string(value)
			}
		}
	}
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
