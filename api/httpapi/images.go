package httpapi

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/kairan/kairan/api/picture"
	"github.com/kairan/kairan/api/store"
	"github.com/kairan/kairan/shared"
)

// Pictures (DESIGN.md section 3): uploads are raw bodies, re-encoded by
// api/picture and kept by the store until a post attaches them; the kept
// bytes are served as immutable files under their random ids.

// Images configures uploads.
type Images struct {
	// MaxBytes bounds an upload's body (default shared.MaxImageBytes).
	MaxBytes int64
	// Limits bound the pixels read and the sizes kept (default
	// picture.DefaultLimits).
	Limits picture.Limits
	// Decodes is how many uploads are decoded at once (default 2): a 40
	// MP photo takes ~200 MB while it is decoded, so a burst of uploads
	// waits its turn instead of taking the server's memory.
	Decodes int
}

// minUploadRate is the slowest upload allowed: the body deadline grows by
// a second for each 32 KiB, so a 1 MB photo on a slow phone network (Slow
// 4G sends ~80 KB/s) has ~40 s, and a client trickling bytes is still cut.
const minUploadRate = 32 << 10

// imageCSP forbids everything a served picture could do if a browser were
// ever talked into reading it as a document.
const imageCSP = "default-src 'none'; sandbox"

func (a *api) uploadImage(w http.ResponseWriter, r *http.Request) {
	board := r.PathValue("board")
	if err := shared.ValidateBoard(board); err != nil {
		a.writeError(w, r, err)
		return
	}
	declared, err := picture.MediaType(r.Header.Get("Content-Type"))
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	in := store.NewImage{Board: board}
	if key, ok := r.Header["Idempotency-Key"]; ok {
		in.IdempotencyKey = strings.Join(key, ",")
		if err := shared.ValidateIdempotencyKey(in.IdempotencyKey); err != nil {
			a.writeError(w, r, err)
			return
		}
	}
	if r.ContentLength > a.images.MaxBytes {
		a.writeError(w, r, a.imageTooLarge())
		return
	}
	// The byte budget is spent before the body is read when its size is
	// announced (browsers always do), so a client over it costs nothing.
	if r.ContentLength >= 0 {
		if err := a.spendBytes(w, r, r.ContentLength); err != nil {
			a.writeError(w, r, err)
			return
		}
	}
	body, err := a.readImage(w, r)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	if r.ContentLength < 0 {
		if err := a.spendBytes(w, r, int64(len(body))); err != nil {
			a.writeError(w, r, err)
			return
		}
	}
	pic, err := a.process(r, declared, body)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	sum := sha256.Sum256(body)
	in.BodyHash = hex.EncodeToString(sum[:])
	in.Type, in.Width, in.Height, in.Full, in.Preview = pic.Type, pic.Width, pic.Height, pic.Full, pic.Preview
	created, err := a.store.CreateImage(r.Context(), in)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	status := http.StatusCreated
	if created.Replayed {
		status = http.StatusOK
	}
	a.writeJSON(w, r, status, shared.ImageUpload{Image: created.UploadedImage})
}

func (a *api) imageTooLarge() error {
	return shared.Errorf(shared.CodeBodyTooLarge, fmt.Sprintf(
		"The picture is larger than %s; shrink it (at most %d pixels on its longest side is plenty) and send it again.",
		mib(a.images.MaxBytes), a.images.Limits.MaxSide))
}

// readImage reads the body, at most MaxBytes, giving a slow network time
// in proportion to the size (minUploadRate).
func (a *api) readImage(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	size := r.ContentLength
	if size < 0 {
		size = a.images.MaxBytes
	}
	_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(a.bodyTimeout + time.Duration(size/minUploadRate)*time.Second))
	// One allocation of the announced size, not a doubling series.
	buf := bytes.NewBuffer(make([]byte, 0, min(max(r.ContentLength, 0), a.images.MaxBytes)+bytes.MinRead))
	_, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, a.images.MaxBytes))
	body := buf.Bytes()
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		return nil, a.imageTooLarge()
	case err != nil:
		return nil, shared.Errorf(shared.CodeInvalidImage, "The picture could not be received completely; send it again.")
	}
	return body, nil
}

// spendBytes takes n bytes from the client's picture budget.
func (a *api) spendBytes(w http.ResponseWriter, r *http.Request, n int64) error {
	ok, wait, network := a.imageBytes.AllowN(a.proxies.Client(r), int(n))
	if ok {
		return nil
	}
	secs := max(1, int((wait+time.Second-1)/time.Second))
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	a.metrics.rejected("image_bytes")
	who := "You have"
	if network != "" {
		who = "Your network (" + network + ") has"
	}
	return shared.Errorf(shared.CodeRateLimited, who+" sent as many pictures as this server takes for now; wait "+
		plural(secs, "second")+" and try again.")
}

// process decodes and re-encodes, one upload per decode slot.
func (a *api) process(r *http.Request, declared string, body []byte) (picture.Picture, error) {
	select {
	case a.decodes <- struct{}{}:
		defer func() { <-a.decodes }()
	case <-r.Context().Done():
		return picture.Picture{}, shared.Errorf(shared.CodeUnavailable, "The upload was cancelled before the server could read it.")
	}
	return picture.Process(declared, body, a.images.Limits)
}

// serveImage is GET (and HEAD) /api/images/{id} and …/{id}/preview: the
// bytes as kept, cached for good (an id never names other bytes), in a
// type the browser must not second-guess, sandboxed should it ever be
// opened as a document.
func (a *api) serveImage(preview bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		if shared.ValidateImageID(id) != nil {
			a.writeError(w, r, shared.Errorf(shared.CodeNotFound, "There is no picture "+strconv.Quote(clip(id))+"."))
			return
		}
		f, err := a.store.ReadImage(r.Context(), id, preview)
		if err != nil {
			a.writeError(w, r, err)
			return
		}
		h := w.Header()
		etag := `"` + f.ETag + `"`
		h.Set("ETag", etag)
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
		h.Set("Content-Security-Policy", imageCSP)
		h.Set("X-Content-Type-Options", "nosniff")
		if matches(r.Header.Values("If-None-Match"), etag) {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		h.Set("Content-Type", f.Type)
		h.Set("Content-Length", strconv.Itoa(len(f.Bytes)))
		w.WriteHeader(http.StatusOK)
		if r.Method == http.MethodHead {
			return
		}
		if _, err := w.Write(f.Bytes); err != nil {
			a.log.DebugContext(r.Context(), "write image", "path", r.URL.Path, "err", err)
		}
	}
}

// matches reports whether an If-None-Match header names etag (weakly, as
// RFC 9110 says for GET) or is "*".
func matches(headers []string, etag string) bool {
	for _, h := range headers {
		for tag := range strings.SplitSeq(h, ",") {
			tag = strings.TrimPrefix(strings.TrimSpace(tag), "W/")
			if tag == etag || tag == "*" {
				return true
			}
		}
	}
	return false
}

func mib(n int64) string {
	if n%(1<<20) == 0 {
		return strconv.FormatInt(n>>20, 10) + " MiB"
	}
	return strconv.FormatInt(n, 10) + " bytes"
}
