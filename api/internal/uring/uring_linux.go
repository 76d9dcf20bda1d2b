//go:build linux

package uring

import (
	"errors"
	"fmt"
	"runtime"
	"sync/atomic"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The kernel's io_uring ABI (include/uapi/linux/io_uring.h), only the
// parts used here.

type sqringOffsets struct {
	head, tail, ringMask, ringEntries, flags, dropped, array, resv1 uint32
	userAddr                                                        uint64
}

type cqringOffsets struct {
	head, tail, ringMask, ringEntries, overflow, cqes, flags, resv1 uint32
	userAddr                                                        uint64
}

type params struct {
	sqEntries, cqEntries, flags, sqThreadCPU, sqThreadIdle, features, wqFD uint32
	resv                                                                   [3]uint32
	sqOff                                                                  sqringOffsets
	cqOff                                                                  cqringOffsets
}

// sqe is a submission queue entry (64 bytes).
type sqe struct {
	opcode, flags         uint8
	ioprio                uint16
	fd                    int32
	off, addr             uint64
	len, msgFlags         uint32
	userData              uint64
	bufIndex, personality uint16
	spliceFDIn            int32
	addr3, pad            uint64
}

// cqe is a completion queue entry (16 bytes).
type cqe struct {
	userData uint64
	res      int32
	flags    uint32
}

type probe struct {
	lastOp, opsLen uint8
	resv           uint16
	resv2          [3]uint32
	ops            [256]struct {
		op, resv uint8
		flags    uint16
		resv2    uint32
	}
}

const (
	opSend = 26 // IORING_OP_SEND

	setupSubmitAll   = 1 << 7 // IORING_SETUP_SUBMIT_ALL: one bad entry does not stop the rest
	setupCoopTaskrun = 1 << 8 // IORING_SETUP_COOP_TASKRUN: no interrupt to run completions
	featSingleMmap   = 1 << 0 // IORING_FEAT_SINGLE_MMAP
	enterGetEvents   = 1 << 0 // IORING_ENTER_GETEVENTS
	registerProbe    = 8      // IORING_REGISTER_PROBE
	opSupported      = 1 << 0 // IO_URING_OP_SUPPORTED

	offSQRing = 0
	offSQEs   = 0x10000000
)

// Ring is one io_uring. It is not safe for concurrent use: each writer
// holds its own.
type Ring struct {
	fd             int   // -1 once closed
	broken         error // why SendAll refuses: a failed batch, or Close
	rings, sqeMem  []byte
	sqTail, cqHead *uint32 // written by us
	sqHead, cqTail *uint32 // written by the kernel
	sqMask, cqMask uint32
	sqEntries      uint32
	array          []uint32
	sqes           []sqe
	cqes           []cqe
}

// Open sets up a ring for batches of up to entries sends (a power of two;
// larger batches are sent in parts).
func Open(entries int) (*Ring, error) {
	var p params
	p.flags = setupSubmitAll | setupCoopTaskrun
	fd, err := setup(entries, &p)
	if err == syscall.EINVAL { // a kernel before 5.19 lacks COOP_TASKRUN (before 5.18, SUBMIT_ALL too)
		p = params{}
		fd, err = setup(entries, &p)
	}
	switch err {
	case nil:
	case syscall.ENOSYS, syscall.EPERM, syscall.EACCES, syscall.EINVAL, syscall.EOPNOTSUPP:
		// No io_uring here (kernel, seccomp, kernel.io_uring_disabled).
		return nil, fmt.Errorf("%w: io_uring_setup: %v", ErrUnsupported, err)
	default:
		// Out of descriptors or memory: io_uring is there, not now.
		return nil, fmt.Errorf("uring: io_uring_setup: %w", err)
	}
	r := &Ring{fd: fd}
	if err := r.mapRings(&p); err != nil {
		r.Close()
		return nil, err
	}
	if err := r.probeSend(); err != nil {
		r.Close()
		return nil, err
	}
	return r, nil
}

func setup(entries int, p *params) (int, error) {
	fd, _, errno := syscall.Syscall(unix.SYS_IO_URING_SETUP, uintptr(entries), uintptr(unsafe.Pointer(p)), 0)
	if errno != 0 {
		return -1, errno
	}
	return int(fd), nil
}

// mapRings maps the submission and completion rings (one mapping since
// Linux 5.4) and the submission entries.
func (r *Ring) mapRings(p *params) error {
	if p.features&featSingleMmap == 0 {
		return fmt.Errorf("%w: the kernel predates IORING_FEAT_SINGLE_MMAP", ErrUnsupported)
	}
	size := max(p.sqOff.array+p.sqEntries*4, p.cqOff.cqes+p.cqEntries*uint32(unsafe.Sizeof(cqe{})))
	rings, err := unix.Mmap(r.fd, offSQRing, int(size), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE)
	if err != nil {
		return fmt.Errorf("uring: map the rings: %w", err)
	}
	r.rings = rings
	sqeMem, err := unix.Mmap(r.fd, offSQEs, int(p.sqEntries)*int(unsafe.Sizeof(sqe{})), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE)
	if err != nil {
		return fmt.Errorf("uring: map the entries: %w", err)
	}
	r.sqeMem = sqeMem
	base := unsafe.Pointer(&rings[0])
	at := func(off uint32) *uint32 { return (*uint32)(unsafe.Add(base, off)) }
	r.sqHead, r.sqTail, r.sqMask = at(p.sqOff.head), at(p.sqOff.tail), *at(p.sqOff.ringMask)
	r.cqHead, r.cqTail, r.cqMask = at(p.cqOff.head), at(p.cqOff.tail), *at(p.cqOff.ringMask)
	r.sqEntries = p.sqEntries
	r.array = unsafe.Slice(at(p.sqOff.array), p.sqEntries)
	r.cqes = unsafe.Slice((*cqe)(unsafe.Add(base, p.cqOff.cqes)), p.cqEntries)
	r.sqes = unsafe.Slice((*sqe)(unsafe.Pointer(&sqeMem[0])), p.sqEntries)
	return nil
}

// probeSend asks whether the kernel has IORING_OP_SEND (5.6 and later).
func (r *Ring) probeSend() error {
	var pr probe
	_, _, errno := syscall.Syscall6(unix.SYS_IO_URING_REGISTER, uintptr(r.fd), registerProbe,
		uintptr(unsafe.Pointer(&pr)), uintptr(len(pr.ops)), 0, 0)
	if errno != 0 {
		return fmt.Errorf("%w: probe: %v", ErrUnsupported, errno)
	}
	if pr.lastOp < opSend || pr.ops[opSend].flags&opSupported == 0 {
		return fmt.Errorf("%w: the kernel has no IORING_OP_SEND", ErrUnsupported)
	}
	return nil
}

// SendAll makes every send in ops, without waiting for any socket, and
// reports each one's outcome in it. The buffers must be on the heap (the
// kernel is given their addresses); they are the caller's again when
// SendAll returns.
//
// The error is the ring's own: the batch could not be handed over whole,
// and the ring refuses every later batch (close it). Then a send never
// handed over has Err ErrNotSent (nothing of it was written); one handed
// over whose outcome was lost has the ring's error.
func (r *Ring) SendAll(ops []Send) error {
	for i := range ops {
		ops[i].N, ops[i].Err = 0, ErrNotSent
	}
	if r.broken != nil {
		return r.broken
	}
	for len(ops) > 0 {
		n := min(len(ops), int(r.sqEntries))
		if err := r.sendPart(ops[:n]); err != nil {
			r.broken = fmt.Errorf("uring: the ring failed before: %w", err)
			return err
		}
		ops = ops[n:]
	}
	return nil
}

func (r *Ring) sendPart(ops []Send) error {
	tail := *r.sqTail
	for i := range ops {
		idx := tail & r.sqMask
		e := &r.sqes[idx]
		*e = sqe{opcode: opSend, fd: int32(ops[i].FD), len: uint32(len(ops[i].Buf)), userData: uint64(i),
			// Never wait for the socket (the kernel then completes the
			// send while it is submitted, and never parks it on the
			// socket: a batch is never held by one slow peer); no SIGPIPE
			// for a peer that left.
			msgFlags: unix.MSG_DONTWAIT | unix.MSG_NOSIGNAL}
		if len(ops[i].Buf) > 0 {
			e.addr = uint64(uintptr(unsafe.Pointer(&ops[i].Buf[0])))
		}
		r.array[idx] = idx
		tail++
	}
	atomic.StoreUint32(r.sqTail, tail) // the entries are written before the kernel sees the tail

	// Waiting for every completion costs nothing more (they are posted
	// during the submission) and gives every buffer back to the caller.
	submitted, done := 0, 0
	for done < len(ops) {
		n, _, errno := syscall.Syscall6(unix.SYS_IO_URING_ENTER, uintptr(r.fd), uintptr(len(ops)-submitted),
			uintptr(len(ops)-done), enterGetEvents, 0, 0)
		if errno == syscall.EINTR {
			continue
		}
		if errno == 0 && n == 0 && submitted < len(ops) {
			errno = syscall.EBUSY // nothing taken and no error: do not spin
		}
		if errno != 0 {
			return r.fail(ops, submitted, fmt.Errorf("uring: io_uring_enter: %w", errno))
		}
		submitted += int(n)
		done += r.reap(ops)
	}
	runtime.KeepAlive(ops) // the kernel read the buffers through addresses alone
	return nil
}

// fail ends a batch that could not be handed over whole. Entries the
// kernel never took are taken back (the tail moves back to the head, so
// no later submission finds them); those it took and did not complete get
// the error.
func (r *Ring) fail(ops []Send, submitted int, err error) error {
	atomic.StoreUint32(r.sqTail, atomic.LoadUint32(r.sqHead))
	r.reap(ops)
	for i := range ops[:submitted] {
		if ops[i].Err == ErrNotSent {
			ops[i].Err = err
		}
	}
	runtime.KeepAlive(ops)
	return err
}

// reap takes the completions that have arrived.
func (r *Ring) reap(ops []Send) int {
	head, tail := *r.cqHead, atomic.LoadUint32(r.cqTail)
	got := 0
	for ; head != tail; head++ {
		c := r.cqes[head&r.cqMask]
		op := &ops[c.userData]
		op.Err = nil
		if c.res >= 0 {
			op.N = int(c.res)
			if op.N < len(op.Buf) {
				op.Err = syscall.EAGAIN // a stream socket took what fitted
			}
		} else {
			op.Err = syscall.Errno(-c.res)
		}
		got++
	}
	atomic.StoreUint32(r.cqHead, head)
	return got
}

// Close gives the ring back to the kernel; a second Close does nothing.
func (r *Ring) Close() error {
	if r.fd < 0 {
		return nil
	}
	var errs []error
	if r.sqeMem != nil {
		errs = append(errs, unix.Munmap(r.sqeMem))
	}
	if r.rings != nil {
		errs = append(errs, unix.Munmap(r.rings))
	}
	errs = append(errs, syscall.Close(r.fd))
	r.fd, r.broken = -1, errors.New("uring: the ring is closed")
	r.rings, r.sqeMem, r.sqes, r.cqes, r.array = nil, nil, nil, nil, nil
	r.sqHead, r.sqTail, r.cqHead, r.cqTail = nil, nil, nil, nil
	return errors.Join(errs...)
}
