package load

import (
	"bytes"
	"io"
	"testing"

	"github.com/kairan/kairan/shared/sse"
)

// What the rivals client spends in user space on one message frame of
// each server, shaped as each writes it in a rivals run: on shared cores
// this is charged to that server's delivery latency (docs/BENCHMARKS.md,
// "Fairness"). The kernel's share, a read per frame, is the same for all.
func benchFrames(b *testing.B, ct contender, frame string) {
	raw := bytes.Repeat([]byte(frame), 1000)
	b.SetBytes(int64(len(frame)))
	b.ReportAllocs()
	for i := 0; i < b.N; i += 1000 {
		dec := sse.NewDecoder(bytes.NewReader(raw), 1<<20)
		for {
			ev, err := dec.Next()
			if err == io.EOF {
				break
			}
			f, text := ct.event(ev)
			if f != frameMessage || len(text) == 0 {
				b.Fatal(f, text)
			}
		}
	}
}

// msg is a message as tracker.comment writes it.
const msg = "load 1796570000123456789 17 abcdef0123456789"

func BenchmarkFrameKairan(b *testing.B) {
	benchFrames(b, kairanContender, "event: created\nid: 12345\ndata: {\"id\":12345,\"author\":\"load\",\"comment\":\""+msg+"\",\"created_at\":\"2026-12-07T13:20:09.123456Z\"}\n\n")
}

func BenchmarkFrameMercure(b *testing.B) {
	benchFrames(b, mercure, "id: urn:uuid:0b9e3d2a-8a4b-4f0e-9d7c-5e6f7a8b9c0d\ndata: "+msg+"\n\n")
}

func BenchmarkFrameCentrifugo(b *testing.B) {
	benchFrames(b, centrifugo, "data: {\"channel\":\"bench\",\"pub\":{\"data\":{\"m\":\""+msg+"\"},\"offset\":17}}\n\n")
}
