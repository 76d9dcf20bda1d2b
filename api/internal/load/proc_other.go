//go:build !linux

package load

import (
	"errors"
	"syscall"
	"time"
)

type procSample struct {
	CPU time.Duration
	RSS int64
}

var errNoProc = errors.New("--pid needs Linux's /proc")

func readProc(pid int) (procSample, error) { return procSample{}, errNoProc }

func selfCPU() time.Duration { return 0 }

// raiseFileLimit is a no-op off Linux: the run finds out by its errors.
func raiseFileLimit(need uint64) (uint64, error) { return 0, nil }

func fsType(dir string) string { return "unknown" }

func childAttrs() *syscall.SysProcAttr { return nil }

func pinSelf(int) error { return errors.New("pinning to CPUs needs Linux") }
