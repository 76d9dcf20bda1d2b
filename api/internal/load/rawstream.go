package load

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"math"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/kairan/kairan/shared/sse"
)

// Raw streams: the rivals run's subscribers read on an epoll loop
// (streamloop_linux.go) instead of a goroutine each. A goroutine per
// stream costs two read(2) per delivery (the second finds the socket
// empty, and parks the goroutine) and a wake-up through the scheduler;
// on this two-core machine the client's CPU shares the cores with the
// server it measures, so that cost was a fifth or more of every
// delivery's, the same for every server. A loop reads each ready socket
// once. The request and the answer's head still go through net/http; the
// body (close-delimited or chunked) is parsed here, as it arrives.

// rawStream is one SSE answer whose body a loop reads: its bytes go
// through the chunk decoder (when the answer is chunked) to the Feeder.
type rawStream struct {
	in      *atomic.Int64 // the subscriber's TCP payload count
	chunks  *chunkDecoder // nil: the body is delimited by the close
	events  *sse.Feeder
	at      time.Time // when the bytes being fed arrived
	first   []byte    // body bytes read with the head
	firstAt time.Time
}

// feed parses the next bytes of the body, read at at.
func (st *rawStream) feed(p []byte, at time.Time) error {
	st.at = at
	if st.chunks == nil {
		return st.events.Feed(p)
	}
	return st.chunks.feed(p, st.events.Feed)
}

// openRaw sends the GET for an SSE stream on a connection of its own and
// reads the answer's head. It returns the connection, for a loop to read
// the body from, with whatever of the body came with the head.
func openRaw(ctx context.Context, dial dialFunc, addr string, in, out *atomic.Int64) (net.Conn, *rawStream, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", addr, nil)
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("User-Agent", "kairan-load")
	if dial == nil {
		dial = dialLoopback
	}
	conn, err := dial(ctx, "tcp", req.URL.Host)
	if err != nil {
		return nil, nil, err
	}
	// The head must come while ctx lasts.
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	m := meteredConn{conn, in, out}
	br := bufio.NewReaderSize(m, 4096)
	resp, err := func() (*http.Response, error) {
		if err := req.Write(m); err != nil {
			return nil, err
		}
		return http.ReadResponse(br, req)
	}()
	if err == nil && resp.StatusCode != http.StatusOK {
		err = answerError(resp)
	}
	if err == nil && !stop() {
		err = ctx.Err()
	}
	if err != nil {
		conn.Close()
		return nil, nil, err
	}
	st := &rawStream{in: in, firstAt: time.Now()}
	if len(resp.TransferEncoding) > 0 && resp.TransferEncoding[0] == "chunked" {
		st.chunks = &chunkDecoder{}
	}
	st.first, _ = br.Peek(br.Buffered())
	return conn, st, nil
}

// dialFunc opens a connection to addr, as net.Dialer.DialContext.
type dialFunc = func(ctx context.Context, network, addr string) (net.Conn, error)

// errChunk is a chunked body that breaks HTTP/1.1's rules.
var errChunk = errors.New("malformed chunked body")

// chunkDecoder takes the chunk framing off a chunked body handed to it in
// pieces (RFC 9112 section 7.1). The last chunk ends the stream: an SSE
// stream that ends is, to a subscriber, a failure.
type chunkDecoder struct {
	left int64  // bytes of the current chunk's data still to come
	line []byte // the size line read so far
	// crlf: the data of a chunk is done and its "\r\n" is still to come
	// (2: both bytes, 1: the "\n").
	crlf int
}

// maxChunkLine bounds a size line with its extensions.
const maxChunkLine = 4096

// feed passes the data in p to out, without the framing.
func (c *chunkDecoder) feed(p []byte, out func([]byte) error) error {
	for len(p) > 0 {
		switch {
		case c.crlf > 0:
			want := "\r\n"[2-c.crlf]
			if p[0] != want {
				return errChunk
			}
			c.crlf--
			p = p[1:]
		case c.left > 0:
			n := int(min(c.left, int64(len(p))))
			if err := out(p[:n]); err != nil {
				return err
			}
			c.left -= int64(n)
			p = p[n:]
			if c.left == 0 {
				c.crlf = 2
			}
		default:
			end := bytes.IndexByte(p, '\n')
			if end < 0 {
				end = len(p)
			}
			if len(c.line)+end > maxChunkLine {
				return errChunk
			}
			c.line = append(c.line, p[:end]...)
			if end == len(p) {
				return nil
			}
			p = p[end+1:]
			size, err := chunkSize(c.line)
			c.line = c.line[:0]
			if err != nil {
				return err
			}
			if size == 0 {
				return io.ErrUnexpectedEOF
			}
			c.left = size
		}
	}
	return nil
}

// chunkSize reads the size of a chunk from its line ("1a;ext=x\r"). Like
// net/http it does not look into extensions, and takes spaces before
// them, or a size line ended by a bare "\n".
func chunkSize(line []byte) (int64, error) {
	line = bytes.TrimSuffix(line, []byte{'\r'})
	if i := bytes.IndexByte(line, ';'); i >= 0 {
		line = line[:i]
	}
	line = bytes.TrimRight(line, " \t")
	if len(line) == 0 || len(line) > 16 {
		return 0, errChunk
	}
	var n int64
	for _, b := range line {
		var d byte
		switch {
		case '0' <= b && b <= '9':
			d = b - '0'
		case 'a' <= b && b <= 'f':
			d = b - 'a' + 10
		case 'A' <= b && b <= 'F':
			d = b - 'A' + 10
		default:
			return 0, errChunk
		}
		if n > math.MaxInt64>>4 {
			return 0, errChunk // beyond int64
		}
		n = n<<4 | int64(d)
	}
	return n, nil
}
