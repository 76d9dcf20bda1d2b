//go:build !linux

package httpapi

import "net"

// hangups, off Linux: not available, so a detached stream keeps a writer
// goroutine and a watcher goroutine that waits in Read for the client to
// hang up (detach.go).
type hangups struct{}

func (h *hangups) watch(net.Conn, func()) (stop func(), err error) { return nil, errNotWatchable }
