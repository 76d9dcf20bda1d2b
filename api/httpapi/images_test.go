package httpapi_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kairan/kairan/api/httpapi"
	"github.com/kairan/kairan/api/internal/picturetest"
	"github.com/kairan/kairan/api/limit"
	"github.com/kairan/kairan/shared"
)

// upload sends body as a picture of type typ to board.
func (e *env) upload(t *testing.T, board, typ string, body []byte, kv ...string) response {
	t.Helper()
	h := hdr(kv...)
	if typ != "" {
		h.Set("Content-Type", typ)
	}
	r, err := e.send("POST", "/api/boards/"+board+"/images", bytes.NewReader(body), h)
	if err != nil {
		t.Fatalf("upload: %v", err)
	}
	return r
}

var imageIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{22}$`)

// wantUpload checks the answer's wire form, exactly
// {"image":{"id","type","width","height","bytes"}}.
func wantUpload(t *testing.T, r response, status int) shared.UploadedImage {
	t.Helper()
	wantStatus(t, r, status)
	wantJSONType(t, r)
	m := fields(t, r.body, "image")
	fields(t, m["image"], "id", "type", "width", "height", "bytes")
	var up shared.ImageUpload
	if err := json.Unmarshal(r.body, &up); err != nil {
		t.Fatal(err)
	}
	if !imageIDPattern.MatchString(up.Image.ID) || up.Image.Bytes <= 0 || up.Image.Width <= 0 || up.Image.Height <= 0 {
		t.Fatalf("upload answer %s", r.body)
	}
	return up.Image
}

func (e *env) postImage(t *testing.T, board, author, comment, imageID string) response {
	t.Helper()
	return e.do(t, "POST", "/api/boards/"+board+"/topics",
		js(t, shared.CreateTopic{Author: author, Comment: comment, ImageID: imageID}), jsonHdr())
}

// wantServed fetches a picture and checks the headers the contract names.
func (e *env) wantServed(t *testing.T, path, typ string) response {
	t.Helper()
	r := e.do(t, "GET", path, "", hdr("Accept-Encoding", "gzip"))
	wantStatus(t, r, http.StatusOK)
	for k, want := range map[string]string{
		"Content-Type":            typ,
		"Cache-Control":           "public, max-age=31536000, immutable",
		"X-Content-Type-Options":  "nosniff",
		"Content-Security-Policy": "default-src 'none'; sandbox",
		"Content-Length":          strconv.Itoa(len(r.body)),
		"Content-Encoding":        "",
	} {
		if got := r.header.Get(k); got != want {
			t.Errorf("GET %s: %s %q, want %q", path, k, got, want)
		}
	}
	if etag := r.header.Get("ETag"); !regexp.MustCompile(`^"[0-9a-f]{64}"$`).MatchString(etag) {
		t.Errorf("GET %s: ETag %q", path, etag)
	}
	return r
}

func TestUploadPostAndServeAPicture(t *testing.T) {
	e := newEnv(t)
	photo := picturetest.WithEXIF(picturetest.Photo(2400, 1800), 6)
	up := wantUpload(t, e.upload(t, "lobby", "image/jpeg", photo), http.StatusCreated)
	if up.Type != "image/jpeg" || up.Width != 1536 || up.Height != 2048 {
		t.Fatalf("upload kept %+v, want a portrait JPEG 1536×2048 (EXIF orientation 6 applied)", up)
	}

	full := e.wantServed(t, "/api/images/"+up.ID, "image/jpeg")
	if int64(len(full.body)) != up.Bytes {
		t.Fatalf("served %d bytes, upload said %d", len(full.body), up.Bytes)
	}
	preview := e.wantServed(t, "/api/images/"+up.ID+"/preview", "image/jpeg")
	if len(preview.body) >= len(full.body) || preview.header.Get("ETag") == full.header.Get("ETag") {
		t.Fatalf("preview %d bytes (ETag %s), full %d", len(preview.body), preview.header.Get("ETag"), len(full.body))
	}
	for _, b := range [][]byte{full.body, preview.body} {
		if bytes.Contains(b, []byte(picturetest.Secret)) || bytes.Contains(b, []byte("Exif")) {
			t.Fatal("the served picture still carries the upload's EXIF (GPS)")
		}
	}
	// Revalidation: the ETag (also weak, also in a list) → 304, no body.
	for _, inm := range []string{full.header.Get("ETag"), `"nope", W/` + full.header.Get("ETag"), "*"} {
		r := e.do(t, "GET", "/api/images/"+up.ID, "", hdr("If-None-Match", inm))
		if r.status != http.StatusNotModified || len(r.body) != 0 || r.header.Get("ETag") != full.header.Get("ETag") {
			t.Fatalf("If-None-Match %s: %d, %d bytes", inm, r.status, len(r.body))
		}
	}
	if r := e.do(t, "GET", "/api/images/"+up.ID, "", hdr("If-None-Match", `"other"`)); r.status != http.StatusOK {
		t.Fatalf("another ETag: %d", r.status)
	}
	if r := e.do(t, "HEAD", "/api/images/"+up.ID, "", nil); r.status != http.StatusOK || len(r.body) != 0 ||
		r.header.Get("Content-Length") != strconv.Itoa(len(full.body)) {
		t.Fatalf("HEAD: %d, %d bytes, Content-Length %s", r.status, len(r.body), r.header.Get("Content-Length"))
	}

	// The post carries the picture; the comment may be empty.
	r := e.postImage(t, "lobby", "Aiko", "", up.ID)
	wantStatus(t, r, http.StatusCreated)
	c := decodeCreated(t, r)
	want := shared.Image{ID: up.ID, Type: up.Type, Width: up.Width, Height: up.Height}
	if c.topic.Image == nil || *c.topic.Image != want || c.topic.Comment != "" {
		t.Fatalf("posted topic %s", r.body)
	}
	snap, _ := e.snapshot(t, "lobby", "")
	if len(snap.Topics) != 1 || snap.Topics[0].Image == nil || *snap.Topics[0].Image != want {
		t.Fatalf("snapshot %+v", snap.Topics)
	}
	// Used once: a second post with it is told to upload again.
	wantError(t, e.postImage(t, "lobby", "Tom", "mine", up.ID), http.StatusUnprocessableEntity, shared.CodeImageUnavailable)

	// The owner deletes the topic: the picture goes with it.
	wantStatus(t, e.do(t, "DELETE", topicPath("lobby", c.topic.ID), "", hdr("Authorization", bearer(c.token))), http.StatusNoContent)
	for _, p := range []string{"/api/images/" + up.ID, "/api/images/" + up.ID + "/preview"} {
		wantError(t, e.do(t, "GET", p, "", nil), http.StatusNotFound, shared.CodeNotFound)
	}
}

func TestModeratorDeleteTakesThePicture(t *testing.T) {
	e := newEnv(t)
	up := wantUpload(t, e.upload(t, "lobby", "image/png", picturetest.Drawing(300, 200, false)), http.StatusCreated)
	if up.Type != "image/png" {
		t.Fatalf("drawing kept as %s", up.Type)
	}
	r := e.postImage(t, "lobby", "Tom", "my cat", up.ID)
	wantStatus(t, r, http.StatusCreated)
	c := decodeCreated(t, r)
	e.wantServed(t, "/api/images/"+up.ID+"/preview", "image/png")
	wantStatus(t, e.do(t, "DELETE", topicPath("lobby", c.topic.ID), "", hdr("Authorization", bearer(moderatorToken))), http.StatusNoContent)
	wantError(t, e.do(t, "GET", "/api/images/"+up.ID, "", nil), http.StatusNotFound, shared.CodeNotFound)
}

func TestUnknownPicturesAreNotFound(t *testing.T) {
	e := newEnv(t)
	for _, p := range []string{"/api/images/AAAAAAAAAAAAAAAAAAAAAA", "/api/images/AAAAAAAAAAAAAAAAAAAAAA/preview",
		"/api/images/..%2f..%2fetc", "/api/images/" + strings.Repeat("a", 100), "/api/images/%00"} {
		wantError(t, e.do(t, "GET", p, "", nil), http.StatusNotFound, shared.CodeNotFound)
	}
}

func TestPostsNamingUnavailablePictures(t *testing.T) {
	e := newEnv(t)
	other := wantUpload(t, e.upload(t, "night", "image/gif", picturetest.GIF(20, 20)), http.StatusCreated)
	before := e.state(t, "lobby")
	wantError(t, e.postImage(t, "lobby", "", "x", other.ID), http.StatusUnprocessableEntity, shared.CodeImageUnavailable)
	wantError(t, e.postImage(t, "lobby", "", "x", "AAAAAAAAAAAAAAAAAAAAAA"), http.StatusUnprocessableEntity, shared.CodeImageUnavailable)
	wantError(t, e.postImage(t, "lobby", "", "x", "not/an id"), http.StatusUnprocessableEntity, shared.CodeImageUnavailable)
	// Without a picture the comment is needed; with one, not invisible-only.
	wantError(t, e.postImage(t, "lobby", "", "", ""), http.StatusBadRequest, shared.CodeInvalidComment)
	wantError(t, e.postImage(t, "night", "", "\u3164", other.ID), http.StatusBadRequest, shared.CodeInvalidComment)
	e.unchanged(t, "lobby", before)
	// The picture is still free for its own board.
	wantStatus(t, e.postImage(t, "night", "", "", other.ID), http.StatusCreated)
}

// Hostile and wrong uploads: each refused with its code and a sentence.
func TestHostileUploadsOverHTTP(t *testing.T) {
	e := newEnv(t)
	photo := picturetest.Photo(64, 64)
	tests := []struct {
		name, typ string
		body      []byte
		status    int
		code      shared.Code
	}{
		{"no Content-Type", "", photo, 415, shared.CodeUnsupportedMediaType},
		{"SVG", "image/svg+xml", []byte(`<svg xmlns="http://www.w3.org/2000/svg"/>`), 415, shared.CodeUnsupportedMediaType},
		{"HTML", "text/html", []byte("<script>alert(1)</script>"), 415, shared.CodeUnsupportedMediaType},
		{"JSON", "application/json", []byte(`{"comment":"x"}`), 415, shared.CodeUnsupportedMediaType},
		{"HEIC", "image/heic", photo, 415, shared.CodeUnsupportedMediaType},
		{"0 bytes", "image/jpeg", nil, 400, shared.CodeInvalidImage},
		{"PNG declared as JPEG", "image/jpeg", picturetest.Drawing(64, 64, false), 400, shared.CodeInvalidImage},
		{"SVG declared as PNG", "image/png", []byte(`<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`), 400, shared.CodeInvalidImage},
		{"HTML declared as JPEG", "image/jpeg", []byte(`<!doctype html><script>alert(1)</script>`), 400, shared.CodeInvalidImage},
		{"truncated", "image/jpeg", photo[:len(photo)/2], 400, shared.CodeInvalidImage},
		{"decompression bomb", "image/png", picturetest.PNGBomb(100_000, 100_000), 400, shared.CodeInvalidImage},
		{"8 MiB + 1", "image/jpeg", append(bytes.Clone(photo), make([]byte, 8<<20+1-len(photo))...), 413, shared.CodeBodyTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantError(t, e.upload(t, "lobby", tt.typ, tt.body), tt.status, tt.code)
		})
	}
	// Exactly 8 MiB is read (and found to be a picture with junk after it,
	// which the re-encode drops).
	body := append(bytes.Clone(photo), make([]byte, 8<<20-len(photo))...)
	wantUpload(t, e.upload(t, "lobby", "image/jpeg", body), http.StatusCreated)
}

// An 8 MiB + 1 body sent without a length (chunked) is cut at the limit.
func TestChunkedUploadOverTheLimit(t *testing.T) {
	e := newEnv(t)
	pr, pw := io.Pipe()
	go func() {
		pw.Write(picturetest.Photo(32, 32))
		pw.Write(make([]byte, 8<<20))
		pw.Close()
	}()
	r, err := e.send("POST", "/api/boards/lobby/images", pr, hdr("Content-Type", "image/jpeg"))
	if err != nil {
		t.Fatal(err)
	}
	wantError(t, r, http.StatusRequestEntityTooLarge, shared.CodeBodyTooLarge)
}

func TestUploadIdempotency(t *testing.T) {
	e := newEnv(t)
	key := "upload-key-0123456789abcdef"
	photo := picturetest.Photo(200, 100)
	first := wantUpload(t, e.upload(t, "lobby", "image/jpeg", photo, "Idempotency-Key", key), http.StatusCreated)
	again := wantUpload(t, e.upload(t, "lobby", "image/jpeg", photo, "Idempotency-Key", key), http.StatusOK)
	if again != first {
		t.Fatalf("replay %+v, first %+v", again, first)
	}
	wantError(t, e.upload(t, "lobby", "image/jpeg", picturetest.Photo(100, 200), "Idempotency-Key", key),
		http.StatusUnprocessableEntity, shared.CodeIdempotencyMismatch)
	wantError(t, e.upload(t, "lobby", "image/jpeg", photo, "Idempotency-Key", "short"),
		http.StatusBadRequest, shared.CodeInvalidIdempotencyKey)
}

// Uploads are writes: the write rate counts them, and a byte budget per
// client bounds what they send.
func TestUploadsCountAgainstTheWriteRateAndTheByteBudget(t *testing.T) {
	drawing := picturetest.Drawing(100, 100, false)
	e := newEnv(t, func(c *httpapi.Config) { c.Writes = limit.NewWrites(2) })
	wantUpload(t, e.upload(t, "lobby", "image/png", drawing), http.StatusCreated)
	wantUpload(t, e.upload(t, "lobby", "image/png", drawing), http.StatusCreated)
	r := e.upload(t, "lobby", "image/png", drawing)
	wantError(t, r, http.StatusTooManyRequests, shared.CodeRateLimited)
	if r.header.Get("Retry-After") == "" {
		t.Fatal("429 without Retry-After")
	}

	budget := int64(3 * len(drawing))
	e = newEnv(t, func(c *httpapi.Config) { c.ImageBytes = limit.NewBytes(budget) })
	for range 3 {
		wantUpload(t, e.upload(t, "lobby", "image/png", drawing), http.StatusCreated)
	}
	r = e.upload(t, "lobby", "image/png", drawing)
	wantError(t, r, http.StatusTooManyRequests, shared.CodeRateLimited)
	if s, _ := strconv.Atoi(r.header.Get("Retry-After")); s < 1 {
		t.Fatalf("Retry-After %q", r.header.Get("Retry-After"))
	}
	// Posts are not pictures: the byte budget does not touch them.
	e.post(t, "lobby", "", "still fine")
}

func TestCrossSiteUploadIsForbidden(t *testing.T) {
	e := newEnv(t)
	r := e.upload(t, "lobby", "image/png", picturetest.Drawing(10, 10, false), "Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site")
	wantError(t, r, http.StatusForbidden, shared.CodeForbidden)
}

// A picture on a slow phone network takes longer than --read-timeout: the
// body deadline grows with the announced size (a second per 32 KiB), so a
// 256 KiB upload sent over ~1.5 s passes a 300 ms body timeout, while one
// that stops sending is still cut.
func TestSlowUploadsGetTimeByTheirSize(t *testing.T) {
	e := newEnv(t, func(c *httpapi.Config) { c.BodyTimeout = 300 * time.Millisecond })
	photo := picturetest.Photo(64, 64)
	body := append(bytes.Clone(photo), make([]byte, 256<<10-len(photo))...)

	pr, pw := io.Pipe()
	go func(pw *io.PipeWriter) {
		for i := 0; i < len(body); i += 32 << 10 {
			time.Sleep(200 * time.Millisecond) // a slow sender, not a wait for the server
			pw.Write(body[i:min(len(body), i+32<<10)])
		}
		pw.Close()
	}(pw)
	req, _ := http.NewRequest("POST", e.srv.URL+"/api/boards/lobby/images", pr)
	req.Header.Set("Content-Type", "image/jpeg")
	req.ContentLength = int64(len(body))
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("a 256 KiB upload over ~1.6 s with a 300 ms body timeout: %s", resp.Status)
	}

	// Half the body, then silence: the server gives up once the deadline
	// (300 ms + 8 s) passes, whatever the client still holds open.
	stalled, pw := io.Pipe()
	defer pw.Close()
	go pw.Write(body[:128<<10])
	req, _ = http.NewRequest("POST", e.srv.URL+"/api/boards/lobby/images", stalled)
	req.Header.Set("Content-Type", "image/jpeg")
	req.ContentLength = int64(len(body))
	resp, err = e.srv.Client().Do(req)
	if err == nil {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		r := response{status: resp.StatusCode, header: resp.Header, body: b}
		wantError(t, r, http.StatusBadRequest, shared.CodeInvalidImage)
	}
	// An error is fine too: the server may close before the client reads.
}
