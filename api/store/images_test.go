package store

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/kairan/kairan/shared"
)

func mustUpload(t *testing.T, s *Store, board string) CreatedImage {
	t.Helper()
	img, err := s.CreateImage(context.Background(), NewImage{Board: board, Type: shared.TypePNG,
		Width: 3, Height: 2, Full: []byte("full picture"), Preview: []byte("preview")})
	if err != nil {
		t.Fatalf("upload: %v", err)
	}
	return img
}

func wantImage(t *testing.T, s *Store, id string, present bool) {
	t.Helper()
	for _, preview := range []bool{false, true} {
		_, err := s.ReadImage(context.Background(), id, preview)
		switch {
		case present && err != nil:
			t.Fatalf("read image %s (preview %v): %v", id, preview, err)
		case !present:
			wantCode(t, err, shared.CodeNotFound)
		}
	}
}

func TestImageUploadReadAndAttach(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	up := mustUpload(t, s, "lobby")
	if len(up.ID) != 22 || up.Bytes != int64(len("full picture")) || up.Type != shared.TypePNG || up.Width != 3 || up.Height != 2 {
		t.Fatalf("upload = %+v", up)
	}
	f, err := s.ReadImage(ctx, up.ID, false)
	if err != nil || f.Type != shared.TypePNG || string(f.Bytes) != "full picture" || len(f.ETag) != 64 {
		t.Fatalf("read = %+v, %v", f, err)
	}
	p, err := s.ReadImage(ctx, up.ID, true)
	if err != nil || string(p.Bytes) != "preview" || p.ETag == f.ETag {
		t.Fatalf("preview = %+v, %v", p, err)
	}

	c, err := s.CreateTopic(ctx, NewTopic{Board: "lobby", Author: "Aiko", ImageID: up.ID})
	if err != nil {
		t.Fatal(err)
	}
	want := shared.Image{ID: up.ID, Type: shared.TypePNG, Width: 3, Height: 2}
	if c.Topic.Image == nil || *c.Topic.Image != want || c.Topic.Comment != "" {
		t.Fatalf("posted topic = %+v", c.Topic)
	}
	// The change, the snapshot and an older page carry it too.
	if ch := c.Change.Topic.Image; ch == nil || *ch != want {
		t.Fatalf("change topic image = %+v", ch)
	}
	changes := allChanges(t, s)
	if img := changes[len(changes)-1].Topic.Image; img == nil || *img != want {
		t.Fatalf("logged change image = %+v", img)
	}
	snap, err := s.Snapshot(ctx, "lobby", 10)
	if err != nil || len(snap.Topics) != 1 || snap.Topics[0].Image == nil || *snap.Topics[0].Image != want {
		t.Fatalf("snapshot = %+v, %v", snap, err)
	}

	// Used once only; another board cannot take another board's upload;
	// unknown ids are unavailable too.
	_, err = s.CreateTopic(ctx, NewTopic{Board: "lobby", Author: "Tom", Comment: "mine now", ImageID: up.ID})
	wantCode(t, err, shared.CodeImageUnavailable)
	other := mustUpload(t, s, "lobby")
	_, err = s.CreateTopic(ctx, NewTopic{Board: "night", Author: "Tom", Comment: "x", ImageID: other.ID})
	wantCode(t, err, shared.CodeImageUnavailable)
	_, err = s.CreateTopic(ctx, NewTopic{Board: "lobby", Author: "Tom", Comment: "x", ImageID: "AAAAAAAAAAAAAAAAAAAAAA"})
	wantCode(t, err, shared.CodeImageUnavailable)
	// The refused posts changed nothing: no topic, and the upload unused.
	if snap, _ := s.Snapshot(ctx, "lobby", 10); len(snap.Topics) != 1 {
		t.Fatalf("refused posts left topics: %+v", snap.Topics)
	}
	if _, err := s.CreateTopic(ctx, NewTopic{Board: "lobby", Author: "Tom", Comment: "x", ImageID: other.ID}); err != nil {
		t.Fatalf("the upload a refused post named is still free: %v", err)
	}
}

func TestDeletingATopicDeletesItsImage(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	for _, moderator := range []bool{false, true} {
		up := mustUpload(t, s, "lobby")
		c, err := s.CreateTopic(ctx, NewTopic{Board: "lobby", Author: "Aiko", Comment: "cat", ImageID: up.ID})
		if err != nil {
			t.Fatal(err)
		}
		who := Actor{Token: c.OwnerToken}
		if moderator {
			who = Actor{Token: "mod", Moderator: true}
		}
		if _, err := s.DeleteTopic(ctx, "lobby", c.Topic.ID, who); err != nil {
			t.Fatal(err)
		}
		wantImage(t, s, up.ID, false)
	}
	// A refused delete keeps it.
	up := mustUpload(t, s, "lobby")
	c, err := s.CreateTopic(ctx, NewTopic{Board: "lobby", Author: "Aiko", Comment: "cat", ImageID: up.ID})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.DeleteTopic(ctx, "lobby", c.Topic.ID, Actor{Token: "wrong"})
	wantCode(t, err, shared.CodeForbidden)
	wantImage(t, s, up.ID, true)
}

func TestTrimmedTopicsTakeTheirImages(t *testing.T) {
	s := openCapped(t, 2)
	ctx := context.Background()
	var ids []string
	for range 3 {
		up := mustUpload(t, s, "lobby")
		if _, err := s.CreateTopic(ctx, NewTopic{Board: "lobby", Author: "a", ImageID: up.ID}); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, up.ID)
	}
	wantImage(t, s, ids[0], false)
	wantImage(t, s, ids[1], true)
	wantImage(t, s, ids[2], true)
}

func TestUnusedImagesArePrunedAfterTheirTTL(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	now := time.Date(2026, 12, 8, 12, 0, 0, 0, time.UTC)
	s.Now = func() time.Time { return now }
	unused := mustUpload(t, s, "lobby")
	used := mustUpload(t, s, "lobby")
	if _, err := s.CreateTopic(ctx, NewTopic{Board: "lobby", Author: "a", ImageID: used.ID}); err != nil {
		t.Fatal(err)
	}
	now = now.Add(UnusedImageTTL - time.Minute)
	fresh := mustUpload(t, s, "lobby")
	if n, err := s.PruneImages(ctx, UnusedImageTTL); err != nil || n != 0 {
		t.Fatalf("prune before the TTL = %d, %v", n, err)
	}
	now = now.Add(2 * time.Minute)
	if n, err := s.PruneImages(ctx, UnusedImageTTL); err != nil || n != 1 {
		t.Fatalf("prune after the TTL = %d, %v; want 1", n, err)
	}
	wantImage(t, s, unused.ID, false)
	wantImage(t, s, used.ID, true)
	wantImage(t, s, fresh.ID, true)
	// A post naming the pruned upload is told to upload again.
	_, err := s.CreateTopic(ctx, NewTopic{Board: "lobby", Author: "a", ImageID: unused.ID})
	wantCode(t, err, shared.CodeImageUnavailable)
}

func TestImageIdempotency(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	in := NewImage{Board: "lobby", Type: shared.TypeJPEG, Width: 4, Height: 4, Full: []byte("f"), Preview: []byte("p"),
		IdempotencyKey: "key-key-key-key-key-key-1", BodyHash: "body-1"}
	first, err := s.CreateImage(ctx, in)
	if err != nil || first.Replayed {
		t.Fatalf("first = %+v, %v", first, err)
	}
	again, err := s.CreateImage(ctx, in)
	if err != nil || !again.Replayed || again.UploadedImage != first.UploadedImage {
		t.Fatalf("again = %+v, %v; want a replay of %+v", again, err, first)
	}
	other := in
	other.BodyHash = "body-2"
	_, err = s.CreateImage(ctx, other)
	wantCode(t, err, shared.CodeIdempotencyMismatch)
	// Another board's key space is its own.
	other.Board = "night"
	if c, err := s.CreateImage(ctx, other); err != nil || c.Replayed || c.ID == first.ID {
		t.Fatalf("other board = %+v, %v", c, err)
	}

	// A post replayed with its key answers with its picture; the same key
	// naming another picture is a mismatch.
	post := NewTopic{Board: "lobby", Author: "a", ImageID: first.ID, IdempotencyKey: "post-post-post-post-post-1"}
	c1, err := s.CreateTopic(ctx, post)
	if err != nil {
		t.Fatal(err)
	}
	c2, err := s.CreateTopic(ctx, post)
	if err != nil || !c2.Replayed || c2.Topic.Image == nil || *c2.Topic.Image != *c1.Topic.Image {
		t.Fatalf("replayed post = %+v, %v", c2, err)
	}
	post.ImageID = mustUpload(t, s, "lobby").ID
	_, err = s.CreateTopic(ctx, post)
	wantCode(t, err, shared.CodeIdempotencyMismatch)
}

func TestImageBytesRoundTrip(t *testing.T) {
	s := newStore(t)
	full := make([]byte, 1<<20)
	for i := range full {
		full[i] = byte(i * 7)
	}
	up, err := s.CreateImage(context.Background(), NewImage{Board: "b", Type: shared.TypeJPEG, Width: 1, Height: 1, Full: full, Preview: full[:100]})
	if err != nil {
		t.Fatal(err)
	}
	f, err := s.ReadImage(context.Background(), up.ID, false)
	if err != nil || !bytes.Equal(f.Bytes, full) {
		t.Fatalf("1 MiB did not round-trip: %v", err)
	}
}

// Racing writers (PostgreSQL runs them in parallel): one upload per key,
// and one post per picture.
func TestImageRaces(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	const n = 8
	in := NewImage{Board: "lobby", Type: shared.TypeJPEG, Width: 1, Height: 1, Full: []byte("f"), Preview: []byte("p"),
		IdempotencyKey: "race-race-race-race-race-1", BodyHash: "b"}
	uploads := make([]CreatedImage, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { uploads[i], errs[i] = s.CreateImage(ctx, in) })
	}
	wg.Wait()
	fresh := 0
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("upload %d: %v", i, errs[i])
		}
		if !uploads[i].Replayed {
			fresh++
		}
		if uploads[i].ID != uploads[0].ID {
			t.Fatalf("the same key gave two pictures: %s and %s", uploads[i].ID, uploads[0].ID)
		}
	}
	if fresh != 1 {
		t.Fatalf("%d uploads were not replays, want exactly 1", fresh)
	}

	posted := make([]error, n)
	for i := range n {
		wg.Go(func() {
			_, posted[i] = s.CreateTopic(ctx, NewTopic{Board: "lobby", Author: "a", Comment: fmt.Sprint(i), ImageID: uploads[0].ID})
		})
	}
	wg.Wait()
	ok := 0
	for _, err := range posted {
		switch {
		case err == nil:
			ok++
		case shared.ErrorCode(err) != shared.CodeImageUnavailable:
			t.Fatalf("post: %v", err)
		}
	}
	if snap, _ := s.Snapshot(ctx, "lobby", 100); ok != 1 || len(snap.Topics) != 1 {
		t.Fatalf("%d posts took the picture and the board has %d topics, want 1 and 1", ok, len(snap.Topics))
	}
}

// Uploads waiting for their posts are capped all together: past the cap an
// upload is refused (rate_limited, with the time until the oldest waiting
// upload expires), and a post using one, or the sweep, makes room again.
func TestUnusedImagesAreCapped(t *testing.T) {
	s, err := Open(context.Background(), Options{Dialect: testDialect(), Target: newTarget(t), MaxUnusedImageBytes: 25})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	ctx := context.Background()
	now := time.Date(2026, 12, 8, 12, 0, 0, 0, time.UTC)
	s.Now = func() time.Time { return now }
	upload := func() (CreatedImage, error) {
		return s.CreateImage(ctx, NewImage{Board: "lobby", Type: shared.TypePNG, Width: 1, Height: 1,
			Full: []byte("0123456789"), Preview: []byte("p")}) // 10 bytes
	}
	first, err := upload()
	if err != nil {
		t.Fatal(err)
	}
	now = now.Add(time.Hour)
	if _, err := upload(); err != nil {
		t.Fatal(err)
	}
	_, err = upload() // 30 bytes > 25
	wantCode(t, err, shared.CodeRateLimited)
	if e := shared.AsError(err); e.RetryAfter != 23*time.Hour {
		t.Fatalf("Retry-After %v, want 23h (when the first upload expires)", e.RetryAfter)
	}
	// A post takes one out of the pool: room for one more.
	if _, err := s.CreateTopic(ctx, NewTopic{Board: "lobby", Author: "a", ImageID: first.ID}); err != nil {
		t.Fatal(err)
	}
	if _, err := upload(); err != nil {
		t.Fatalf("after a post used an upload: %v", err)
	}
	_, err = upload()
	wantCode(t, err, shared.CodeRateLimited)
	// The sweep empties it.
	now = now.Add(UnusedImageTTL + time.Minute)
	if n, err := s.PruneImages(ctx, UnusedImageTTL); err != nil || n != 2 {
		t.Fatalf("prune = %d, %v", n, err)
	}
	if _, err := upload(); err != nil {
		t.Fatalf("after the sweep: %v", err)
	}
}
