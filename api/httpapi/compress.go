package httpapi

import (
	"bytes"
	"compress/gzip"
	"net/http"
	"strings"
	"sync"
)

// JSON answers are compressed with gzip when the client accepts it: a
// snapshot of 500 topics is up to ~1 MB of text that compresses 4–8× (board
// names, keys and timestamps repeat). Small answers go as they are: below a
// packet, compressing saves nothing on the wire and costs a header.
const minGzip = 1400

// gzipWriters are reused: a gzip.Writer allocates hundreds of KB of
// tables, which would dominate the cost of a small snapshot.
var gzipWriters = sync.Pool{New: func() any {
	zw, _ := gzip.NewWriterLevel(nil, gzip.BestSpeed) // level 1: ~5× on snapshots at a fraction of the CPU of level 6
	return zw
}}

// gzipped compresses body.
func gzipped(body []byte) []byte {
	var buf bytes.Buffer
	buf.Grow(len(body) / 4)
	zw := gzipWriters.Get().(*gzip.Writer)
	zw.Reset(&buf)
	zw.Write(body) // a bytes.Buffer does not fail
	zw.Close()
	gzipWriters.Put(zw)
	return buf.Bytes()
}

// acceptsGzip reports whether the request's Accept-Encoding allows gzip.
func acceptsGzip(r *http.Request) bool {
	codings := AcceptedCodings(strings.Join(r.Header.Values("Accept-Encoding"), ","))
	if ok, listed := codings["gzip"]; listed {
		return ok
	}
	return codings["*"]
}

// AcceptedCodings reads an Accept-Encoding header: each coding it lists,
// true when accepted, false when refused (q=0).
func AcceptedCodings(accept string) map[string]bool {
	codings := map[string]bool{}
	for part := range strings.SplitSeq(accept, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		q := strings.ReplaceAll(strings.TrimSpace(params), " ", "")
		refused := q == "q=0" || q == "q=0.0" || q == "q=0.00" || q == "q=0.000"
		if name = strings.ToLower(strings.TrimSpace(name)); name != "" {
			codings[name] = !refused
		}
	}
	return codings
}
