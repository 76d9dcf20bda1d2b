//go:build linux || darwin || freebsd

package store

import "syscall"

// freeBytes is the space an unprivileged writer may still use in dir.
func freeBytes(dir string) (free uint64, known bool) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, false
	}
	return uint64(st.Bavail) * uint64(st.Bsize), true
}
