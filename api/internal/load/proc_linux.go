package load

import (
	"bytes"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unsafe"
)

// clockTicks is CLK_TCK (USER_HZ): the unit of utime and stime in
// /proc/PID/stat. It is 100 on every Linux architecture Go supports.
const clockTicks = 100

// procSample is one reading of a process: CPU used so far (user + system)
// and resident memory now.
type procSample struct {
	CPU time.Duration
	RSS int64 // bytes
}

// readProc reads /proc/PID/stat and /proc/PID/status.
func readProc(pid int) (procSample, error) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return procSample{}, err
	}
	// The command name (field 2) is in parentheses and may hold spaces
	// or ")", so fields are counted from the last ")".
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return procSample{}, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	f := strings.Fields(string(stat[i+1:]))
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(f) < 13 {
		return procSample{}, fmt.Errorf("/proc/%d/stat: too few fields", pid)
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return procSample{}, fmt.Errorf("/proc/%d/stat: unreadable utime/stime", pid)
	}
	s := procSample{CPU: time.Duration(utime+stime) * time.Second / clockTicks}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return procSample{}, err
	}
	for line := range strings.Lines(string(status)) {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(rest) // "12345 kB"
			if len(f) == 2 && f[1] == "kB" {
				kb, err := strconv.ParseInt(f[0], 10, 64)
				if err == nil {
					s.RSS = kb << 10
					return s, nil
				}
			}
		}
	}
	return procSample{}, fmt.Errorf("/proc/%d/status has no VmRSS line", pid)
}

// selfCPU is the CPU time this process has used (user + system).
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// raiseFileLimit lifts the soft open-file limit to the hard one (every
// connection is a file descriptor) and fails when even that cannot hold
// need descriptors. It returns the limit now in force.
func raiseFileLimit(need uint64) (uint64, error) {
	var r syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r); err != nil {
		return 0, fmt.Errorf("read the open-file limit: %w", err)
	}
	if r.Cur < r.Max {
		r.Cur = r.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &r); err != nil {
			return 0, fmt.Errorf("raise the open-file limit to %d: %w", r.Max, err)
		}
	}
	if r.Cur < need {
		return r.Cur, fmt.Errorf("the open-file limit is %d (hard limit), but this run needs about %d descriptors "+
			"(one per subscriber and writer, plus spare); raise the hard limit (ulimit -Hn as root, or "+
			"LimitNOFILE= in systemd) or use fewer clients", r.Cur, need)
	}
	return r.Cur, nil
}

// fsType names the file system holding dir, since SQLite's commit cost
// (an fsync per write) depends on it: on tmpfs "durable" is free.
func fsType(dir string) string {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return "unknown"
	}
	switch uint32(st.Type) {
	case 0xEF53:
		return "ext4"
	case 0x01021994:
		return "tmpfs"
	case 0x58465342:
		return "xfs"
	case 0x9123683E:
		return "btrfs"
	case 0x794C7630:
		return "overlayfs"
	case 0x2FC12FC1:
		return "zfs"
	}
	return fmt.Sprintf("fs 0x%x", uint32(st.Type))
}

// childAttrs puts a bench server in its own process group, so a Ctrl-C at
// the terminal reaches only the bench, which then stops the server in
// order; and has the kernel end it should the bench die without that.
func childAttrs() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
}

// pinSelf keeps this process on the first n CPUs: every thread it has now
// (and so every thread they start), and GOMAXPROCS. A pass can miss a
// thread started meanwhile by one not yet pinned; the next pass finds it.
func pinSelf(n int) error {
	if n < 1 || n >= runtime.NumCPU() {
		return fmt.Errorf("the client needs 1 to %d of the %d CPUs", runtime.NumCPU()-1, runtime.NumCPU())
	}
	var mask [16]uint64 // 1,024 CPUs
	for cpu := range n {
		mask[cpu/64] |= 1 << (cpu % 64)
	}
	for range 3 {
		tasks, err := os.ReadDir("/proc/self/task")
		if err != nil {
			return err
		}
		for _, task := range tasks {
			tid, err := strconv.Atoi(task.Name())
			if err != nil {
				continue
			}
			_, _, errno := syscall.RawSyscall(syscall.SYS_SCHED_SETAFFINITY, uintptr(tid), unsafe.Sizeof(mask), uintptr(unsafe.Pointer(&mask)))
			if errno != 0 && errno != syscall.ESRCH { // ESRCH: the thread ended
				return fmt.Errorf("pin thread %d: %w", tid, errno)
			}
		}
	}
	runtime.GOMAXPROCS(n)
	return nil
}
