// Command kairan serves the live topic board: the PWA, its wasm client and
// the API, from one process. See DESIGN.md section 5 for the CLI.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/kairan/kairan/api/config"
)

const usage = `kairan: a live topic board.

Usage:
  kairan serve [flags]   serve the board (kairan serve -h lists the flags)
  kairan version         print the version and commit (also --version)
  kairan help            show this text
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}

// run is main without the process: tests call it with their own context,
// arguments and environment.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(stderr, usage)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	switch args[0] {
	case "version", "--version", "-version":
		fmt.Fprintln(stdout, versionLine())
		return 0
	}
	if args[0] != "serve" {
		fmt.Fprintf(stderr, "kairan: unknown command %q\n\n%s", args[0], usage)
		if args[0] == "load" || args[0] == "bench" {
			// Moved out of the product (DESIGN.md section 5).
			fmt.Fprintf(stderr, "\n%s is now a command of its own: go tool task bench, or bin/kairan-load %s\n", args[0], args[0])
		}
		return 2
	}
	cfg, err := config.Load(args[1:], getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "kairan:", err)
		return 2
	}
	log := newLogger(stderr, cfg.LogLevel, cfg.LogFormat)
	m := &Main{Config: cfg, Logger: log}
	if err := m.Open(ctx); err != nil {
		log.Error("start failed", "err", err)
		return 1
	}
	// SIGHUP re-reads the blocklist, as daemons do after an edit.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for ctx.Err() == nil {
		select {
		case <-ctx.Done():
		case <-hup:
			_ = m.Reload() // logged; the old list stays on an error
		}
	}
	log.Info("shutting down")
	if err := m.Close(); err != nil {
		log.Error("shutdown", "err", err)
		return 1
	}
	return 0
}

func newLogger(w io.Writer, level, format string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level)) // validated by config
	opts := &slog.HandlerOptions{Level: l}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
