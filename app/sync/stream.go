package sync

import (
	"context"
	"fmt"
	"io"

	"github.com/kairan/kairan/shared/sse"
)

// maxEventLine bounds one SSE line: a reset of 500 topics of 2000
// characters fits in well under 8 MB.
const maxEventLine = 8 << 20

// decodeStream reads events from r until it ends. The reader pulls: the
// next bytes are read only after the last event was handled, so nothing
// queues between the network and the engine and nothing can be dropped.
func decodeStream(ctx context.Context, r io.Reader, on StreamEvents) error {
	dec := sse.NewDecoder(r, maxEventLine)
	for {
		ev, err := dec.Next()
		if err == io.EOF {
			return fmt.Errorf("event stream ended")
		}
		if err != nil {
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err() // an event read after the engine gave up is not handed on
		}
		on.Event(ev.Type, ev.ID, ev.Data)
	}
}

// activity reports every read that brought bytes.
type activity struct {
	r    io.Reader
	seen func()
}

func (a *activity) Read(p []byte) (int, error) {
	n, err := a.r.Read(p)
	if n > 0 {
		a.seen()
	}
	return n, err
}
