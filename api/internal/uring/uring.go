// Package uring hands the kernel a batch of socket writes in one system
// call, through Linux's io_uring: the one thing the live streams need
// from it. A fan-out writes one small frame to each of thousands of
// sockets; each write(2) pays a system call's entry and exit (~1.2 µs
// for an empty one on the virtual machine we measure on, with page-table
// isolation), and a batch of 32 pays it once. See docs/BENCHMARKS.md,
// "Writes in batches".
//
// Only non-blocking sends are made: a send the socket cannot take at once
// comes back as EAGAIN (or a short count) for the caller to finish its
// own way, so a batch never waits for a slow peer.
package uring

import "errors"

// Send is one write of Buf to the socket FD. SendAll sets N, the bytes
// the socket took, and Err, why it took no more (nil when it took all;
// syscall.EAGAIN when its buffer is full).
type Send struct {
	FD  int
	Buf []byte
	N   int
	Err error
}

// ErrNotSent marks a send a failed batch never handed to the kernel:
// nothing of it was written, and it may be written another way.
var ErrNotSent = errors.New("uring: not sent")

// ErrUnsupported is what Open returns where io_uring or its send
// operation is not there (another system, an older kernel, a container
// whose seccomp profile refuses it, kernel.io_uring_disabled). Any other
// error from Open is a shortage (descriptors, memory) that may pass.
var ErrUnsupported = errors.New("uring: io_uring sends are not available here")
