//go:build !wasm

package client

import (
	"bytes"
	"context"
	"io"
	"net/http"
)

// roundTrip uses net/http outside the browser. It is never linked into
// app.wasm, where the net/http client would cost about 5 MB.
func roundTrip(ctx context.Context, req request) (reply, error) {
	var body io.Reader
	if req.body != nil {
		body = bytes.NewReader(req.body)
	}
	r, err := http.NewRequestWithContext(ctx, req.method, req.url, body)
	if err != nil {
		return reply{}, err
	}
	for k, v := range req.header {
		r.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		return reply{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return reply{status: resp.StatusCode, body: b, retryAfter: resp.Header.Get("Retry-After")}, err
}
