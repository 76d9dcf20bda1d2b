package main

import (
	"context"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/kairan/kairan/api/config"
	"github.com/kairan/kairan/app/client"
	"github.com/kairan/kairan/shared"
)

// TestReloadBlocklist: an edited blocklist applies to the next post after
// Reload (what SIGHUP calls); a broken file keeps the list in use.
func TestReloadBlocklist(t *testing.T) {
	list := filepath.Join(t.TempDir(), "blocklist.txt")
	write := func(text string) {
		if err := os.WriteFile(list, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("spam\n")
	m := startServer(t, func(c *config.Config) { c.BlocklistFile = list })
	c := &client.Client{Base: m.URL()}
	post := func(comment string) error {
		_, err := c.Post(context.Background(), "lobby", shared.CreateTopic{Comment: comment}, "")
		return err
	}
	if err := post("green eggs"); err != nil {
		t.Fatalf("before the edit: %v", err)
	}
	write("spam\neggs\n")
	if err := post("more eggs"); err != nil {
		t.Fatalf("an edit without a reload applied: %v", err)
	}
	if err := m.Reload(); err != nil {
		t.Fatal(err)
	}
	if err := post("even more EGGS"); shared.ErrorCode(err) != shared.CodeBlocked {
		t.Fatalf("after the reload: %v, want blocked", err)
	}
	write("#\n***\n") // a line with nothing to match
	if err := m.Reload(); err == nil {
		t.Fatal("a broken blocklist reloaded without an error")
	}
	if err := post("eggs again"); shared.ErrorCode(err) != shared.CodeBlocked {
		t.Fatalf("after a failed reload: %v, want the old list still blocking", err)
	}
}

// TestPprofListensOnItsOwnPort: the profiler answers on --pprof-addr and
// not on the public listener; a taken profiler port fails the start.
func TestPprofListensOnItsOwnPort(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	m := startServer(t, func(c *config.Config) { c.PprofAddr = addr })
	if resp, err := http.Get("http://" + addr + "/debug/pprof/cmdline"); err != nil || resp.StatusCode != 200 {
		t.Fatalf("profiler: %v %v", resp, err)
	}
	if resp, err := http.Get(m.URL() + "/debug/pprof/cmdline"); err != nil || resp.StatusCode == 200 {
		t.Fatalf("the public listener serves the profiler: %v %v", resp, err)
	}
	cfg := m.Config
	cfg.Addr = "127.0.0.1:0"
	cfg.DB = filepath.Join(t.TempDir(), "second.db")
	second := &Main{Config: cfg, Logger: m.Logger}
	if err := second.Open(context.Background()); err == nil {
		second.Close()
		t.Fatal("a second server started with the profiler's port taken")
	}
}
