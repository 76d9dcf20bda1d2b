// Package client is the typed REST client of kairan's API. It decodes
// answers into shared types and failures into *shared.Error, so callers
// switch on error codes, not status numbers. In the browser it rides on
// fetch (see fetch_wasm.go); natively on net/http, for tests and tools.
package client

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/kairan/kairan/shared"
)

// Client talks to one kairan server.
type Client struct {
	// Base is the server's URL without a trailing slash; "" means the
	// page's own origin in the browser.
	Base string
}

// reply is what roundTrip brings back.
type reply struct {
	status     int
	body       []byte
	retryAfter string // the Retry-After header
}

// retryAfter reads a Retry-After of whole seconds (kairan sends no dates),
// capped at ten minutes so a wrong header cannot stall a client for days.
func retryAfter(h string) time.Duration {
	n, err := strconv.Atoi(strings.TrimSpace(h))
	if err != nil || n <= 0 {
		return 0
	}
	return time.Duration(min(n, 600)) * time.Second
}

// request is one HTTP exchange; roundTrip is platform code.
type request struct {
	method  string
	url     string
	header  map[string]string
	body    []byte
	blob    any // in the browser, a JS Blob sent as the body instead
	decoded any
}

// Picture is the body of an upload and its media type. Natively it is
// Data; in the browser it is Blob, a JS Blob whose bytes never pass
// through Go (a photo of a few MB copied into app.wasm's memory would cost
// that much memory and time for nothing).
type Picture struct {
	Type string
	Data []byte
	Blob any
}

// Upload sends a picture to a board. A non-empty key makes it idempotent:
// sending it again answers with the first upload.
func (c *Client) Upload(ctx context.Context, board string, pic Picture, key string) (shared.UploadedImage, error) {
	var out shared.ImageUpload
	h := map[string]string{"Content-Type": pic.Type}
	if key != "" {
		h["Idempotency-Key"] = key
	}
	err := c.do(ctx, request{method: "POST", url: c.boardURL(board) + "/images", header: h,
		body: pic.Data, blob: pic.Blob, decoded: &out})
	return out.Image, err
}

// Snapshot fetches a board's newest topics.
func (c *Client) Snapshot(ctx context.Context, board string) (shared.Snapshot, error) {
	var snap shared.Snapshot
	err := c.do(ctx, request{method: "GET", url: c.boardURL(board), decoded: &snap})
	return snap, err
}

// Older fetches up to limit of a board's topics older than topic before
// (0: the newest), with the board's current cursor.
func (c *Client) Older(ctx context.Context, board string, before int64, limit int) (shared.Snapshot, error) {
	u := c.boardURL(board) + "?limit=" + strconv.Itoa(limit)
	if before > 0 {
		u += "&before=" + strconv.FormatInt(before, 10)
	}
	var snap shared.Snapshot
	err := c.do(ctx, request{method: "GET", url: u, decoded: &snap})
	return snap, err
}

// Post creates a topic. A non-empty key makes the post idempotent: sending
// it again answers with the first result.
func (c *Client) Post(ctx context.Context, board string, in shared.CreateTopic, key string) (shared.CreatedTopic, error) {
	var out shared.CreatedTopic
	h := map[string]string{}
	if key != "" {
		h["Idempotency-Key"] = key
	}
	err := c.do(ctx, request{method: "POST", url: c.boardURL(board) + "/topics", header: h,
		body: mustJSON(in), decoded: &out})
	return out, err
}

// Edit replaces the comment of a topic the token owns.
func (c *Client) Edit(ctx context.Context, board string, id int64, comment, token string) (shared.Topic, error) {
	var out shared.Topic
	err := c.do(ctx, request{method: "PATCH", url: c.topicURL(board, id),
		header: map[string]string{"Authorization": "Bearer " + token},
		body:   mustJSON(shared.EditTopic{Comment: comment}), decoded: &out})
	return out, err
}

// Delete removes a topic the token owns (or any, with the moderator token).
func (c *Client) Delete(ctx context.Context, board string, id int64, token string) error {
	return c.do(ctx, request{method: "DELETE", url: c.topicURL(board, id),
		header: map[string]string{"Authorization": "Bearer " + token}})
}

// CheckModerator asks whether token is the server's moderator token: nil
// when it is, a forbidden error when it is not.
func (c *Client) CheckModerator(ctx context.Context, token string) error {
	return c.do(ctx, request{method: "GET", url: c.Base + "/api/moderator",
		header: map[string]string{"Authorization": "Bearer " + token}})
}

// Changes long-polls for the changes after cursor, waiting up to wait
// seconds when there are none. An unusable cursor is answered with a reset.
func (c *Client) Changes(ctx context.Context, board, cursor string, wait int) (shared.ChangesPage, error) {
	var page shared.ChangesPage
	u := c.boardURL(board) + "/changes?wait=" + strconv.Itoa(wait) + "&cursor=" + url.QueryEscape(cursor)
	err := c.do(ctx, request{method: "GET", url: u, decoded: &page})
	return page, err
}

// EventsURL is the board's SSE endpoint, following from cursor.
func (c *Client) EventsURL(board, cursor string) string {
	// Lean change frames (DESIGN.md section 3): about half the bytes,
	// and less JSON to decode on a phone.
	u := c.boardURL(board) + "/events?v=" + shared.LeanStreamVersion
	if cursor != "" {
		u += "&cursor=" + url.QueryEscape(cursor)
	}
	return u
}

func (c *Client) boardURL(board string) string {
	return c.Base + "/api/boards/" + url.PathEscape(board)
}

func (c *Client) topicURL(board string, id int64) string {
	return c.boardURL(board) + "/topics/" + strconv.FormatInt(id, 10)
}

func (c *Client) do(ctx context.Context, req request) error {
	if req.body != nil && req.blob == nil && req.header["Content-Type"] == "" {
		if req.header == nil {
			req.header = map[string]string{}
		}
		req.header["Content-Type"] = "application/json"
	}
	resp, err := roundTrip(ctx, req)
	status, body := resp.status, resp.body
	if err != nil {
		return &shared.Error{Code: shared.CodeNetwork,
			Message: "The server cannot be reached; check your connection and try again."}
	}
	if status < 200 || status > 299 {
		e := decodeError(status, body)
		e.RetryAfter = retryAfter(resp.retryAfter)
		return e
	}
	if req.decoded == nil {
		return nil
	}
	if err := json.Unmarshal(body, req.decoded); err != nil {
		return &shared.Error{Code: shared.CodeInternal,
			Message: fmt.Sprintf("The server's answer could not be read (HTTP %d).", status)}
	}
	return nil
}

// decodeError turns an error response back into the server's *shared.Error;
// a body that is not the contract's (a proxy's page, say) still yields a
// code by status.
func decodeError(status int, body []byte) *shared.Error {
	var eb shared.ErrorBody
	if json.Unmarshal(body, &eb) == nil && eb.Error != nil && eb.Error.Code != "" {
		return eb.Error
	}
	code := shared.CodeInternal
	switch {
	case status == 404:
		code = shared.CodeNotFound
	case status == 429:
		code = shared.CodeRateLimited
	case status == 502, status == 503, status == 504:
		code = shared.CodeUnavailable
	}
	return &shared.Error{Code: code, Message: fmt.Sprintf("The server answered HTTP %d; try again in a moment.", status)}
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only shared request types are encoded: they always marshal
	}
	return b
}
