package load

import (
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// A server started by the rivals run with --server-cpus runs on those CPUs
// from its first instruction (so a Go server sizes GOMAXPROCS to them).
func TestOnCPUsStartsTheCommandOnThoseCPUs(t *testing.T) {
	if runtime.NumCPU() < 2 {
		t.Skip("needs two CPUs to tell pinned from not")
	}
	last := strconv.Itoa(runtime.NumCPU() - 1)
	cmd := exec.Command("/bin/sh", "-c", "grep Cpus_allowed_list /proc/self/status")
	if err := onCPUs(cmd, last); err != nil {
		t.Fatalf("taskset (util-linux, on every Debian) is missing: %v", err)
	}
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%v: %v", cmd.Args, err)
	}
	if got := strings.TrimSpace(strings.TrimPrefix(string(out), "Cpus_allowed_list:")); got != last {
		t.Fatalf("the command ran on CPUs %q, want %q", got, last)
	}
	plain := exec.Command("/bin/sh")
	if err := onCPUs(plain, ""); err != nil || len(plain.Args) != 1 {
		t.Fatalf("no CPUs named changed the command: %v, %v", plain.Args, err)
	}
}
