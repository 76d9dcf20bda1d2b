// Command precompress writes FILE.br (brotli, quality 11) and FILE.gz (gzip,
// best) next to each FILE given, so the server can send app.wasm compressed
// without compressing on every request. (Taskfile's sources/generates skip
// the run when app.wasm has not changed.)
package main

import (
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/andybalholm/brotli"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: precompress FILE...")
		os.Exit(2)
	}
	for _, path := range os.Args[1:] {
		if err := compress(path); err != nil {
			fmt.Fprintln(os.Stderr, "precompress:", err)
			os.Exit(1)
		}
	}
}

func compress(path string) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	br := func(w io.Writer) io.WriteCloser {
		// The largest window the format allows (16 MiB, RFC 7932): every
		// brotli decoder handles it, and app.wasm repeats itself across
		// more than the default 4 MiB.
		return brotli.NewWriterOptions(w, brotli.WriterOptions{Quality: brotli.BestCompression, LGWin: 24})
	}
	gz := func(w io.Writer) io.WriteCloser {
		z, _ := gzip.NewWriterLevel(w, gzip.BestCompression) // the level is valid
		return z
	}
	if err := write(path+".br", raw, br); err != nil {
		return err
	}
	return write(path+".gz", raw, gz)
}

// write goes through a temporary file so a failed run never leaves a
// truncated file that the server would embed.
func write(path string, raw []byte, newWriter func(io.Writer) io.WriteCloser) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".precompress-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	w := newWriter(tmp)
	if _, err := w.Write(raw); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	fmt.Printf("%s: %d bytes (%.1f%% of %d)\n", path, size(tmp.Name()), 100*float64(size(tmp.Name()))/float64(len(raw)), len(raw))
	return os.Rename(tmp.Name(), path)
}

func size(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}
