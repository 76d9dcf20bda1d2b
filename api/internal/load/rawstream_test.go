package load

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"net/http/httputil"
	"testing"
)

// TestChunkDecoderTakesOffTheFraming writes a body in chunks of many
// sizes with net/http's chunk writer and feeds the framed bytes to the
// decoder cut at every place: the data comes out whole and in order, and
// the last chunk ends the stream.
func TestChunkDecoderTakesOffTheFraming(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var body, framed bytes.Buffer
	w := httputil.NewChunkedWriter(&framed)
	for range 200 {
		p := make([]byte, rng.IntN(300)+1)
		for i := range p {
			p[i] = byte(rng.IntN(256))
		}
		body.Write(p)
		w.Write(p)
	}
	w.Close() // the last chunk, "0\r\n"
	framed.WriteString("\r\n")
	for _, piece := range []int{1, 2, 3, 7, 64, 4096, framed.Len()} {
		var got []byte
		c := &chunkDecoder{}
		var err error
		for rest := framed.Bytes(); len(rest) > 0 && err == nil; {
			n := min(piece, len(rest))
			err = c.feed(rest[:n], func(p []byte) error { got = append(got, p...); return nil })
			rest = rest[n:]
		}
		if !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("pieces of %d: err %v, want io.ErrUnexpectedEOF at the last chunk", piece, err)
		}
		if !bytes.Equal(got, body.Bytes()) {
			t.Errorf("pieces of %d: %d bytes out, want the body's %d unchanged", piece, len(got), body.Len())
		}
	}
}

// TestChunkDecoderRefusesBrokenFraming: a size that is not hex, data
// longer than its size says, a size line without end, and an error from
// the reader of the data all end the stream.
func TestChunkDecoderRefusesBrokenFraming(t *testing.T) {
	for _, in := range []string{
		"zz\r\nabc\r\n",
		"+3\r\nabc\r\n",
		"-3\r\nabc\r\n",
		"\r\n",
		"3\r\nabcd\r\n",
		"3\r\nabc\n\n",
		"1234567890abcdef0\r\n",
		"8000000000000000\r\n", // beyond int64
		string(bytes.Repeat([]byte{'1'}, maxChunkLine+1)),
	} {
		c := &chunkDecoder{}
		if err := c.feed([]byte(in), func([]byte) error { return nil }); !errors.Is(err, errChunk) {
			t.Errorf("%.40q: err %v, want errChunk", in, err)
		}
	}
	errOut := errors.New("the reader's")
	c := &chunkDecoder{}
	if err := c.feed([]byte("3;name=x\r\nabc\r\n"), func([]byte) error { return errOut }); !errors.Is(err, errOut) {
		t.Errorf("err %v, want the reader's own", err)
	}
	c = &chunkDecoder{}
	var got []byte
	if err := c.feed([]byte("3;name=x \r\nabc\r\nA\r\n0123456789\r\n0000000000000001\r\nz\r\n"), func(p []byte) error { got = append(got, p...); return nil }); err != nil || string(got) != "abc0123456789z" {
		t.Errorf("chunk extensions, upper-case hex, 16 digits: %q, %v", got, err)
	}
}
