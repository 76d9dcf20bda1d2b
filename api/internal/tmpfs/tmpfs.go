// Package tmpfs gives a test a small file system of its own to fill, so
// a full disk is a real one. Mounting needs root; elsewhere the test is
// skipped with a message, unless KAIRAN_REQUIRE_BROWSER=1 (CI), where it
// fails instead.
package tmpfs

import (
	"os"
	"os/exec"
	"strconv"
	"testing"
)

// Mount mounts a tmpfs of size bytes in a new directory and returns the
// directory; it is unmounted when the test ends.
func Mount(t testing.TB, size int64) string {
	t.Helper()
	if os.Geteuid() != 0 {
		skip(t, "not root, so no tmpfs can be mounted to fill")
	}
	dir := t.TempDir() + "/tmpfs"
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+strconv.FormatInt(size, 10)+",mode=0700", "kairan-test", dir).CombinedOutput()
	if err != nil {
		skip(t, "mount a tmpfs: "+err.Error()+": "+string(out))
	}
	// Registered after TempDir's cleanup, so it runs before it.
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("unmount %s: %v: %s", dir, err, out)
			_ = exec.Command("umount", "-l", dir).Run() // do not leave it behind
		}
	})
	return dir
}

func skip(t testing.TB, msg string) {
	t.Helper()
	if os.Getenv("KAIRAN_REQUIRE_BROWSER") == "1" {
		t.Fatal(msg + " (KAIRAN_REQUIRE_BROWSER=1: this test must run here)")
	}
	t.Skip(msg + ": full-disk test skipped (run as root to include it)")
}
