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
	"strings"
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

// Decoder reads events from a stream.
type Decoder struct {
	r       *bufio.Reader
	max     int
	lastID  string
	comment func(string)
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
	var data strings.Builder
	hasData := false
	for {
		line, err := d.readLine()
		if err != nil {
			return Event{}, err
		}
		if line == "" {
			if !hasData {
				typ = ""
				continue
			}
			if typ == "" {
				typ = "message"
			}
			return Event{Type: typ, ID: d.lastID, Data: data.String()}, nil
		}
		if line[0] == ':' {
			if d.comment != nil {
				d.comment(strings.TrimPrefix(line[1:], " "))
			}
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
				d.lastID = value
			}
		}
	}
}

// readLine reads one line ending in "\n", "\r\n" or "\r".
func (d *Decoder) readLine() (string, error) {
	var b []byte
	for {
		c, err := d.r.ReadByte()
		if err != nil {
			if err == io.EOF && len(b) > 0 {
				return "", io.ErrUnexpectedEOF
			}
			return "", err
		}
		if d.afterCR {
			d.afterCR = false
			if c == '\n' {
				continue
			}
		}
		switch c {
		case '\n':
			return string(b), nil
		case '\r':
			d.afterCR = true
			return string(b), nil
		}
		if len(b) >= d.max {
			return "", ErrLineTooLong
		}
		b = append(b, c)
	}
}
