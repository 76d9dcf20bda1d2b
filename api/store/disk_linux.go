package store

import (
	"errors"
	"os"
	"syscall"
)

// allocate reserves the file's blocks without writing them; file systems
// without fallocate get bytes written.
func allocate(f *os.File, off, size int64) error {
	err := syscall.Fallocate(int(f.Fd()), 0, off, size-off)
	if errors.Is(err, syscall.EOPNOTSUPP) || errors.Is(err, syscall.ENOSYS) {
		return writeFill(f, off, size)
	}
	return err
}
