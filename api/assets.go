package main

import (
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"net/http"
	"path"
	"strconv"

	"github.com/kairan/kairan/api/httpapi"
)

// assets serves /web/: app.wasm precompressed, everything else as files.
// It is go-app's resource resolver too, so pages refer to /web/... as is.
type assets struct {
	files  http.Handler      // the FS under /web/
	wasm   map[string][]byte // "" (raw), "br", "gzip"
	rawLen int
}

func newAssets(web fs.FS) *assets {
	a := &assets{files: http.StripPrefix("/web", http.FileServerFS(filesOnly{web})), wasm: map[string][]byte{}}
	for enc, name := range map[string]string{"": "app.wasm", "br": "app.wasm.br", "gzip": "app.wasm.gz"} {
		if b, err := fs.ReadFile(web, name); err == nil && len(b) > 0 {
			a.wasm[enc] = b
		}
	}
	a.rawLen = len(a.wasm[""])
	return a
}

// filesOnly is the web directory as the public sees it: its files, no
// directory listings and no Go source (the package that embeds it lives
// there too).
type filesOnly struct{ fs.FS }

func (f filesOnly) Open(name string) (fs.File, error) {
	if path.Ext(name) == ".go" {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	file, err := f.FS.Open(name)
	if err != nil {
		return nil, err
	}
	if fi, err := file.Stat(); err != nil || fi.IsDir() {
		file.Close()
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	return file, nil
}

// Resolve implements app.ResourceResolver: assets live at their own paths.
func (a *assets) Resolve(p string) string { return p }

// version is a hash of app.wasm, so every build that changes the client is
// a new version for installed apps, and replicas of one build agree.
func (a *assets) version() string {
	if a.rawLen == 0 {
		return "no-wasm"
	}
	sum := sha256.Sum256(a.wasm[""])
	return hex.EncodeToString(sum[:8])
}

func (a *assets) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/web/app.wasm" {
		a.files.ServeHTTP(w, r)
		return
	}
	enc := pickEncoding(r.Header.Get("Accept-Encoding"), a.wasm)
	body, ok := a.wasm[enc]
	if !ok {
		http.Error(w, "app.wasm is not built: run `go tool task build`", http.StatusNotFound)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/wasm")
	h.Set("Vary", "Accept-Encoding")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	if enc != "" {
		h.Set("Content-Encoding", enc)
	}
	if r.Method == http.MethodHead {
		return
	}
	w.Write(body)
}

// pickEncoding prefers brotli, then gzip, then the raw file, among the
// codings the client accepts.
func pickEncoding(accept string, have map[string][]byte) string {
	accepted := httpapi.AcceptedCodings(accept)
	for _, enc := range []string{"br", "gzip"} {
		if _, ok := have[enc]; ok && accepted[enc] {
			return enc
		}
	}
	return ""
}
