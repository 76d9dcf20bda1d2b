package main

import (
	"bufio"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestBinaryServesFromAnyDirectoryAndStopsOnSIGTERM builds bin/kairan, runs
// it from an empty directory with settings from the environment, and stops
// it with SIGTERM: it must exit 0 after closing the database.
func TestBinaryServesFromAnyDirectoryAndStopsOnSIGTERM(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary; skipped with -short")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "kairan")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "serve", "--addr", "127.0.0.1:0")
	cmd.Dir = t.TempDir() // no web/ here: assets must be embedded
	cmd.Env = append(cmd.Environ(), "KAIRAN_DB=sqlite:"+filepath.Join(dir, "env.db"), "KAIRAN_LOG_LEVEL=info")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()

	lines := bufio.NewScanner(stderr)
	url := ""
	for url == "" && lines.Scan() {
		if m := regexp.MustCompile(`msg="kairan serving" url=(\S+)`).FindStringSubmatch(lines.Text()); m != nil {
			url = m[1]
		}
	}
	if url == "" {
		t.Fatal("the server never said where it listens")
	}
	if !strings.Contains(lines.Text(), "db=sqlite:"+filepath.Join(dir, "env.db")) {
		t.Errorf("KAIRAN_DB was not used: %s", lines.Text())
	}
	for _, path := range []string{"/healthz", "/web/app.css", "/web/app.wasm"} {
		resp, err := http.Get(url + path)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("GET %s from another directory = %d", path, resp.StatusCode)
		}
	}

	// SIGHUP reloads (the blocklist) and keeps serving.
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	for lines.Scan() && !strings.Contains(lines.Text(), `msg=reloaded`) {
	}
	if !strings.Contains(lines.Text(), `msg=reloaded`) {
		t.Fatalf("no reload logged after SIGHUP: %v", lines.Err())
	}
	if resp, err := http.Get(url + "/healthz"); err != nil || resp.StatusCode != 200 {
		t.Fatalf("after SIGHUP: %v %v", resp, err)
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// The log's rest is read beside the wait, so a server that ignores
	// SIGTERM fails the test after 30 s instead of hanging it.
	var rest []byte
	done := make(chan error, 1)
	go func() { rest, _ = io.ReadAll(stderr); done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v\n%s", err, rest)
		}
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatalf("still running 30 s after SIGTERM\n%s", rest)
	}
	if !strings.Contains(string(rest), "shutting down") {
		t.Errorf("no shutdown log line:\n%s", rest)
	}
}
