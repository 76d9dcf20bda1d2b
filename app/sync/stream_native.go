//go:build !wasm

package sync

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/kairan/kairan/shared/sse"
)

// maxEventLine bounds one SSE line: a reset of 500 topics of 2000
// characters fits in well under 8 MB.
const maxEventLine = 8 << 20

// platformStream is the native twin of the browser's EventSource: a GET
// with net/http, read with shared/sse. Callbacks run on the caller's
// goroutine.
func platformStream(ctx context.Context, url string, onOpen func(), onEvent func(typ, data string)) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		return fmt.Errorf("event stream: HTTP %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	onOpen()
	dec := sse.NewDecoder(resp.Body, maxEventLine)
	for {
		ev, err := dec.Next()
		if err == io.EOF {
			return fmt.Errorf("event stream ended")
		}
		if err != nil {
			return err
		}
		onEvent(ev.Type, ev.Data)
	}
}
