package store

import (
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
)

// The disk reserve. When the disk under a SQLite database fills, no write
// can be saved, deletes included: SQLite in WAL mode appends every write
// to the WAL as whole pages, and reuses the WAL from its start only after
// a checkpoint has copied it into the database file, which may have to
// grow for that. (Measured on a tmpfs: ~32 KiB per topic delete when the
// whole database still sat in the WAL; next to nothing once a checkpoint
// could finish, 3,047 deletes in a 1 MiB reserve.) So kairan keeps a
// reserve: a file beside the database. The first SQLITE_FULL removes it
// and switches the store to deletes only: posts and edits are refused at
// once, so the space the reserve gave back is there for deletes (by the
// moderator cleaning up a flood, say). Once the disk has room for the
// reserve twice over, the reserve is written again and posts are taken
// again. A delete that finds even the reserve used up is refused with a
// message of its own.

// DefaultDiskReserve is the reserve's size when Options.DiskReserve is 0:
// room for a checkpoint of a full WAL (1,000 pages of 4 KiB), after which
// deletes reuse the WAL, and else for some 500 deletes at ~32 KiB.
const DefaultDiskReserve = 16 << 20

type diskReserve struct {
	path string
	size int64
	log  *slog.Logger

	mu   sync.Mutex // one fill or release at a time
	full atomic.Bool
}

func newDiskReserve(dbPath string, size int64, log *slog.Logger) *diskReserve {
	if size <= 0 {
		size = DefaultDiskReserve
	}
	d := &diskReserve{path: dbPath + "-reserve", size: size, log: log}
	if err := d.fill(); err != nil {
		// Serve anyway: reads work, and a full disk is then met when it comes.
		log.Warn("no disk reserve: deletes may fail when the disk fills", "path", d.path, "err", err)
	}
	return d
}

// fill makes the reserve file size bytes long, allocated on disk.
func (d *diskReserve) fill() error {
	f, err := os.OpenFile(d.path, os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	fi, err := f.Stat()
	if err == nil && fi.Size() < d.size {
		err = allocate(f, fi.Size(), d.size)
	}
	if err == nil {
		err = f.Sync()
	}
	return errors.Join(err, f.Close())
}

// writeFill writes incompressible bytes from off up to size, where
// allocate cannot reserve blocks (compressed file systems would keep
// zeros in next to no space).
func writeFill(f *os.File, off, size int64) error {
	rng := rand.NewChaCha8([32]byte{})
	buf := make([]byte, 64<<10)
	for off < size {
		rng.Read(buf)
		n, err := f.WriteAt(buf[:min(int64(len(buf)), size-off)], off)
		if err != nil {
			return err
		}
		off += int64(n)
	}
	return nil
}

// spend is called on SQLITE_FULL: it gives the reserve's space to the
// deletes that follow and refuses posts and edits until there is room.
func (d *diskReserve) spend(cause error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.full.Load() {
		return
	}
	d.full.Store(true)
	err := os.Remove(d.path)
	d.log.Error("disk full: refusing posts and edits until there is room; deletes go on in the space of the disk reserve",
		"dir", filepath.Dir(d.path), "reserve_bytes", d.size, "cause", cause, "remove_reserve_err", err)
}

// room returns nil when posts may be saved, and the Outage that refuses
// them while the disk is full.
func (d *diskReserve) room() error {
	d.retake()
	if d.full.Load() {
		return d.refusal()
	}
	return nil
}

// retake ends the deletes-only state once the disk has room for the
// reserve twice over: the reserve is written back first.
func (d *diskReserve) retake() {
	if !d.full.Load() {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.full.Load() {
		return
	}
	free, known := freeBytes(filepath.Dir(d.path))
	if known && free < uint64(2*d.size) {
		return
	}
	if err := d.fill(); err != nil {
		_ = os.Remove(d.path) // the room went again: give it back to deletes
		return
	}
	d.full.Store(false)
	d.log.Info("disk has room again: disk reserve restored, taking posts and edits", "dir", filepath.Dir(d.path))
}

func (d *diskReserve) refusal() error {
	return newOutage(DiskFull, msgDiskFull, fmt.Errorf("store: %s has less than twice the disk reserve (%d bytes) free", filepath.Dir(d.path), d.size))
}

// roomForPost refuses a post or an edit while the disk is full; deletes
// never ask. It runs inside the write transaction (on the batcher's one
// goroutine), so it only reads the flag: retake() did the work before.
func (s *Store) roomForPost() error {
	if s.disk != nil && s.disk.full.Load() {
		return s.disk.refusal()
	}
	return nil
}

// retakeDisk takes posts again if the disk has room again.
func (s *Store) retakeDisk() {
	if s.disk != nil {
		s.disk.retake()
	}
}
