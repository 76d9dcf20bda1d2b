package main

import (
	"context"
	"io"
	"testing"

	"github.com/kairan/kairan/api/config"
	"github.com/kairan/kairan/app/client"
	"github.com/kairan/kairan/shared"
)

// TestGrowthFlagsReachTheStore: --max-boards and --max-topics, read as the
// command line reads them, cap the real server's store.
func TestGrowthFlagsReachTheStore(t *testing.T) {
	flags, err := config.Load([]string{"--max-boards", "1", "--max-topics", "2"}, func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	m := startServer(t, func(c *config.Config) { c.MaxBoards, c.MaxTopics = flags.MaxBoards, flags.MaxTopics })
	c := client.Client{Base: m.URL()}
	ctx := context.Background()
	post := func(board string, want shared.Code) {
		t.Helper()
		_, err := c.Post(ctx, board, shared.CreateTopic{Comment: "on " + board}, "")
		var got shared.Code // "" for a post that went in
		if err != nil {
			got = shared.ErrorCode(err)
		}
		if got != want {
			t.Fatalf("post on %s: %v, want %q", board, err, want)
		}
	}
	post("a", "")
	post("b", shared.CodeTooManyBoards)
	post("a", "")
	post("a", shared.CodeTooManyTopics)
}
