package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// The example unit in docs/deploy is what an operator copies: systemd must
// accept it, and its sandbox must stay tight (systemd-analyze security
// rates exposure from 0, locked down, to 10, none).
func TestSystemdUnit(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze is not installed: the example unit is not checked here")
	}
	unit, err := os.ReadFile("../docs/deploy/kairan.service")
	if err != nil {
		t.Fatal(err)
	}
	// verify wants ExecStart's binary to exist: point it at this one.
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Replace(string(unit), "/usr/local/bin/kairan", self, 1)
	if text == string(unit) {
		t.Fatal("the unit's ExecStart does not run /usr/local/bin/kairan")
	}
	for _, want := range []string{"serve", "--moderator-token-file %d/", "DynamicUser=yes", "UMask=0077", "NoNewPrivileges=yes", "ProtectSystem=strict"} {
		if !strings.Contains(text, want) {
			t.Errorf("the unit lacks %q", want)
		}
	}
	path := filepath.Join(t.TempDir(), "kairan.service")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(analyze, "verify", "--man=no", path).CombinedOutput(); err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
	out, err := exec.Command(analyze, "security", "--offline=true", "--no-pager", path).CombinedOutput()
	if err != nil {
		t.Fatalf("systemd-analyze security: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`Overall exposure level for kairan.service: ([0-9.]+)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("no exposure level in:\n%s", out)
	}
	level, _ := strconv.ParseFloat(string(m[1]), 64)
	t.Logf("systemd-analyze security: exposure %.1f", level)
	if level > 2.0 {
		t.Fatalf("the unit's exposure is %.1f, want at most 2.0 (OK):\n%s", level, out)
	}
	// Every flag the unit passes is one kairan serve knows.
	for _, flag := range regexp.MustCompile(`--[a-z-]+`).FindAllString(text, -1) {
		if !strings.Contains(usageOfServe(t), "-"+flag[2:]+" ") {
			t.Errorf("the unit passes %s, which kairan serve does not know", flag)
		}
	}
}

// usageOfServe is `kairan serve -h`.
func usageOfServe(t *testing.T) string {
	t.Helper()
	var out strings.Builder
	run(t.Context(), []string{"serve", "-h"}, func(string) string { return "" }, &out, &out)
	return out.String()
}
