//go:build !wasm

package sync

import (
	"context"
	"fmt"
	"net/http"
	"strings"
)

// platformStream is the native twin of the browser's stream: a GET with
// net/http, read with shared/sse. Callbacks run on the caller's goroutine.
func platformStream(ctx context.Context, url string, on StreamEvents) error {
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
		return fmt.Errorf("%w: HTTP %d %s", ErrStreamRefused, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	on.Open()
	return decodeStream(ctx, &activity{r: resp.Body, seen: on.Bytes}, on)
}
