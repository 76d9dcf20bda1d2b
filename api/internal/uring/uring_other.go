//go:build !linux

package uring

// Ring is not available on this system: Open always fails.
type Ring struct{}

// Open returns ErrUnsupported: io_uring is Linux's.
func Open(entries int) (*Ring, error) { return nil, ErrUnsupported }

// SendAll is never reached: there is no Ring here.
func (r *Ring) SendAll(ops []Send) error { return ErrUnsupported }

// Close does nothing.
func (r *Ring) Close() error { return nil }
