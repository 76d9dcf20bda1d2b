//go:build !linux

package tmpfs

import "testing"

// Free is the space left in dir (Linux only: elsewhere Mount skips first).
func Free(t testing.TB, dir string) int64 { t.Fatal("tmpfs: Linux only"); return 0 }

// Fill is Linux only: elsewhere Mount skips first.
func Fill(t testing.TB, dir string, leave int64) func() { t.Fatal("tmpfs: Linux only"); return nil }
