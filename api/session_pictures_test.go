package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/kairan/kairan/api/config"
	"github.com/kairan/kairan/api/internal/picturetest"
	"github.com/kairan/kairan/app/board"
	"github.com/kairan/kairan/app/client"
	"github.com/kairan/kairan/app/sync"
	"github.com/kairan/kairan/shared"
)

// The board session with pictures: a post's picture shows while it waits,
// the topic carries it once delivered, once, and the kept bytes live
// exactly as long as the post may still need them.

// keepDrawing keeps a drawing's bytes as the page does before it posts.
func keepDrawing(edges tabEdges) *sync.OpImage {
	img := &sync.OpImage{Key: sync.NewKey(), Type: shared.TypePNG, Width: 400, Height: 300, Drawing: true}
	edges.pictures.Keep(img.Key, client.Picture{Type: shared.TypePNG, Data: picturetest.Drawing(400, 300, false)})
	return img
}

// TestSessionPostsAPictureFromAFollowerTab: a tab that does not lead posts
// a drawing without a comment; it shows as waiting with its picture, the
// leader delivers it (upload, then post), both tabs show one topic with
// the picture, owned, and the bytes are let go.
func TestSessionPostsAPictureFromAFollowerTab(t *testing.T) {
	m := startServer(t)
	edges := newEdges()
	leader := openTab(t, m.URL(), "lobby", edges, nil)
	leader.until(t, "the leader live", func(v board.View) bool { return live(v) && v.Leader })
	follower := openTab(t, m.URL(), "lobby", edges, nil)
	follower.until(t, "the follower live", func(v board.View) bool { return live(v) && !v.Leader })

	if err := follower.s.Post("tom", ""); err == nil {
		t.Fatal("an empty post without a picture was taken")
	}
	img := keepDrawing(edges)
	if err := follower.s.PostPicture("tom", "  ", img); err != nil {
		t.Fatalf("a drawing without a comment: %v", err)
	}
	// Delivered: one topic with the picture, owned (its token reaches a
	// follower just after the outbox empties), nothing waiting.
	withPicture := func(v board.View) bool {
		n := 0
		for _, tp := range v.Topics {
			if tp.Image != nil && tp.Author == "tom" && tp.Comment == "" && tp.Owned {
				n++
			}
		}
		return n == 1 && len(v.Posts) == 0 && v.Waiting == 0
	}
	v := follower.until(t, "one topic with the drawing", func(v board.View) bool {
		if len(v.Posts) == 1 { // while it waits, the post carries its picture
			if p := v.Posts[0].Image; p == nil || p.Key != img.Key || !p.Drawing || p.Width != 400 {
				t.Fatalf("the waiting post's picture is %+v, want %+v", p, img)
			}
		}
		return withPicture(v)
	})
	leader.until(t, "the leader shows it too", withPicture) // after the courier let the bytes go
	var shown board.Topic
	for _, tp := range v.Topics {
		if tp.Image != nil {
			shown = tp
		}
	}
	if !shown.Owned || shown.Image.Type != shared.TypePNG || shown.Image.Width != 400 || shown.Image.Height != 300 {
		t.Errorf("the topic is %+v with picture %+v; want it owned, a 400×300 PNG", shown, shown.Image)
	}
	if edges.pictures.Has(img.Key) {
		t.Error("the drawing's bytes are still kept after delivery")
	}
	if served(t, m.URL(), shown.Image.ID) != 200 {
		t.Error("the server does not serve the delivered picture")
	}
}

// TestSessionRefusedPictureIsKeptUntilDiscarded: a picture post refused
// for good keeps its bytes (the person may take it back into the form:
// Retract keeps them for the form); Discard lets them go.
func TestSessionRefusedPictureIsKeptUntilDiscarded(t *testing.T) {
	words := filepath.Join(t.TempDir(), "blocklist")
	if err := os.WriteFile(words, []byte("spam\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	m := startServer(t, func(c *config.Config) { c.BlocklistFile = words })
	edges := newEdges()
	edges.bus = nil
	x := openTab(t, m.URL(), "lobby", edges, nil)
	x.until(t, "live", live)

	first, second := keepDrawing(edges), keepDrawing(edges)
	for _, img := range []*sync.OpImage{first, second} {
		if err := x.s.PostPicture("ann", "cheap spam", img); err != nil {
			t.Fatal(err)
		}
	}
	v := x.until(t, "both refused", func(v board.View) bool {
		return len(v.Posts) == 2 && v.Posts[0].Failed != "" && v.Posts[1].Failed != ""
	})
	if !edges.pictures.Has(first.Key) || !edges.pictures.Has(second.Key) {
		t.Fatal("a refused post's picture was let go before the person saw it")
	}
	byImage := map[string]string{}
	for _, op := range v.Posts {
		byImage[op.Image.Key] = op.Key
	}
	x.s.Retract(byImage[first.Key])
	x.s.Discard(byImage[second.Key])
	x.until(t, "the outbox empty", func(v board.View) bool { return len(v.Posts) == 0 })
	if !edges.pictures.Has(first.Key) {
		t.Error("the retracted post's picture is gone; the form needs it")
	}
	if edges.pictures.Has(second.Key) {
		t.Error("the discarded post's picture is still kept")
	}
}
