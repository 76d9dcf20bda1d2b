package ui

import (
	"testing"

	"github.com/kairan/kairan/app/sync"
	"github.com/kairan/kairan/shared"
)

// A topic's picture: the preview, laid out at the picture's aspect ratio
// within 480 px before its bytes arrive, linking to the full picture, with
// alt text that says what it is and whose.
func TestTopicShowsItsPictureAtItsAspect(t *testing.T) {
	photo := topic(2, "Aiko", "the view")
	photo.Image = &shared.Image{ID: "ph0t0_id", Type: shared.TypeJPEG, Width: 2048, Height: 1365}
	drawing := topic(1, "Tom", "")
	drawing.Image = &shared.Image{ID: "dr4w-id", Type: shared.TypePNG, Width: 1200, Height: 900}
	l := mount(t, list(photo, drawing))
	contains(t, "the photo", l, `href="/api/images/ph0t0_id"`, `src="/api/images/ph0t0_id/preview"`,
		`alt="Photo by Aiko"`, `width="480"`, `height="319"`, `target="_blank"`)
	contains(t, "the drawing", l, `src="/api/images/dr4w-id/preview"`, `alt="Drawing by Tom"`, `height="360"`)
	lacks(t, "an empty comment", l, `<p class="comment"></p>`)

	ja := list(photo)
	ja.W = japanese
	contains(t, "in Japanese", mount(t, ja), `alt="Aikoさんの写真"`)
}

// A post waiting to be sent shows its picture's box at once, at its
// aspect (the kept bytes are read in the browser), with its alt text.
func TestWaitingPostKeepsItsPicturesBox(t *testing.T) {
	l := list()
	l.View.Posts = []sync.Op{{Key: "k1", Kind: sync.OpPost, Author: "Tom", Image: &sync.OpImage{Key: "pic", Width: 600, Height: 800, Drawing: true}}}
	contains(t, "the waiting drawing", mount(t, l), `id="op-k1"`, `aria-label="Drawing by Tom"`, `width="360"`, `height="480"`)
}

func TestFitKeepsTheAspectWithinTheBox(t *testing.T) {
	for _, c := range []struct{ w, h, ww, wh int }{
		{2048, 1536, 480, 360}, {1536, 2048, 360, 480}, {300, 200, 300, 200}, {4000, 10, 480, 1}, {0, 0, 480, 360},
	} {
		if w, h := fit(c.w, c.h, 480); w != c.ww || h != c.wh {
			t.Errorf("fit(%d, %d) = %d×%d, want %d×%d", c.w, c.h, w, h, c.ww, c.wh)
		}
	}
}
