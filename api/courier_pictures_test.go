package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kairan/kairan/api/internal/picturetest"
	"github.com/kairan/kairan/app/client"
	"github.com/kairan/kairan/app/fake"
	"github.com/kairan/kairan/app/sync"
	"github.com/kairan/kairan/shared"
)

// A post with a picture is two requests, an upload and the post, each
// with its own Idempotency-Key; the courier against the real server, with
// faults made at the edge.

// picturePost is a post of a photo kept in pics, ready to queue.
func picturePost(pics *fake.Pictures, board, comment string) sync.Op {
	img := sync.OpImage{Key: sync.NewKey(), Type: shared.TypeJPEG, Width: 640, Height: 480, Upload: sync.NewKey()}
	pics.Keep(img.Key, client.Picture{Type: shared.TypeJPEG, Data: picturetest.Photo(640, 480)})
	return sync.Op{Key: sync.NewKey(), Kind: sync.OpPost, Board: board, Author: "aiko", Comment: comment, Image: &img, Queued: time.Now()}
}

// served reports the status of GET /api/images/{id}.
func served(t *testing.T, base, id string) int {
	t.Helper()
	resp, err := http.Get(base + "/api/images/" + id)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestCourierPictureLostAnswersStillPostOnce: the answer to the first
// upload and the answer to the first post are both lost on the way back;
// each is sent again with its own key, and there is one topic with one
// picture, whose kept bytes are then let go.
func TestCourierPictureLostAnswersStillPostOnce(t *testing.T) {
	m := startServer(t)
	pics := fake.NewPictures()
	op := picturePost(pics, "tunnel", "through the tunnel")
	var lostUpload, lostPost atomic.Int32
	var edge *courierEdge
	edge = newCourierEdge(t, m, func(w http.ResponseWriter, r *http.Request, n int) bool {
		var lost *atomic.Int32
		switch {
		case strings.HasSuffix(r.URL.Path, "/images"):
			lost = &lostUpload
		case strings.HasSuffix(r.URL.Path, "/topics"):
			lost = &lostPost
		default:
			return false
		}
		if lost.Add(1) != 1 {
			return false
		}
		rec := httptest.NewRecorder()
		edge.forward.ServeHTTP(rec, r) // the server takes it...
		if rec.Code != http.StatusCreated {
			t.Errorf("the first %s was answered %d %s", r.URL.Path, rec.Code, rec.Body)
		}
		hangUp(w) // ...and the answer is lost
		return true
	})
	r := runCourier(t, edge.URL, sync.Outbox{}, func(c *sync.Courier) { c.Pictures = pics })
	r.q.Add(op)

	s := r.untilSent(t, 1)[0]
	if n := edge.count("POST", "/api/boards/tunnel/images", op.Image.Upload); n != 2 {
		t.Errorf("%d uploads with the upload's key, want the lost one and its retry", n)
	}
	if n := edge.count("POST", "/api/boards/tunnel/topics", op.Key); n != 2 {
		t.Errorf("%d posts with the post's key, want the lost one and its retry", n)
	}
	if edge.count("POST", "/api/boards/tunnel/images", "")+edge.count("POST", "/api/boards/tunnel/topics", "") != 0 {
		t.Error("a request went without its Idempotency-Key")
	}
	snap, err := (&client.Client{Base: m.URL()}).Snapshot(context.Background(), "tunnel")
	if err != nil || len(snap.Topics) != 1 || snap.Topics[0].Image == nil || snap.Topics[0].Comment != op.Comment {
		t.Fatalf("the server has %+v, %v; want one topic with a picture", snap, err)
	}
	img := snap.Topics[0].Image
	if s.created == nil || s.created.Topic.ID != snap.Topics[0].ID || s.created.Topic.Image == nil || s.created.Topic.Image.ID != img.ID {
		t.Fatalf("OnSent reported %+v, want the topic with picture %s", s.created, img.ID)
	}
	if img.Width != 640 || img.Height != 480 || served(t, m.URL(), img.ID) != http.StatusOK {
		t.Errorf("the picture is %+v and served %d", img, served(t, m.URL(), img.ID))
	}
	if pics.Has(op.Image.Key) {
		t.Error("the picture's bytes are still kept after delivery")
	}
	if o := r.drain(); len(o.Ops) != 0 {
		t.Errorf("outbox after delivery:%s", summary(o))
	}
}

// TestCourierUploadsAgainWhenTheUploadIsGone: the upload went through, but
// the server removed it unused (as it does after a day) before the post
// reached it; the post is refused with image_unavailable, and the courier
// uploads the kept bytes again under a new key and posts with the new id.
func TestCourierUploadsAgainWhenTheUploadIsGone(t *testing.T) {
	m := startServer(t)
	pics := fake.NewPictures()
	op := picturePost(pics, "lobby", "still here after a day")
	var posts atomic.Int32
	edge := newCourierEdge(t, m, func(w http.ResponseWriter, r *http.Request, n int) bool {
		if strings.HasSuffix(r.URL.Path, "/topics") && posts.Add(1) == 1 {
			// A day passes between the upload and the post.
			if _, err := m.store.PruneImages(r.Context(), -time.Minute); err != nil {
				t.Error(err)
			}
		}
		return false
	})
	r := runCourier(t, edge.URL, sync.Outbox{}, func(c *sync.Courier) { c.Pictures = pics })
	r.q.Add(op)

	var firstID string
	r.untilOutbox(t, "the first upload's id kept in the outbox", func(o sync.Outbox) bool {
		if len(o.Ops) == 1 && o.Ops[0].Image != nil && o.Ops[0].Image.ID != "" && firstID == "" {
			firstID = o.Ops[0].Image.ID
		}
		return firstID != ""
	})
	s := r.untilSent(t, 1)[0]
	if s.created == nil || s.created.Topic.Image == nil || s.created.Topic.Image.ID == firstID {
		t.Fatalf("delivered %+v; want a topic with a new upload (the first, %s, was removed)", s.created, firstID)
	}
	if n := edge.count("POST", "/api/boards/lobby/images", op.Image.Upload); n != 1 {
		t.Errorf("%d uploads with the first key, want 1", n)
	}
	if uploads := edge.count("POST", "/api/boards/lobby/images", ""); uploads != 0 {
		t.Errorf("%d uploads without a key", uploads)
	}
	if n := posts.Load(); n != 2 {
		t.Errorf("%d posts reached the edge, want the refused one and one more", n)
	}
	if got := served(t, m.URL(), firstID); got != http.StatusNotFound {
		t.Errorf("the removed upload is served %d", got)
	}
	if got := served(t, m.URL(), s.created.Topic.Image.ID); got != http.StatusOK {
		t.Errorf("the new upload is served %d", got)
	}
	if n := countTopics(t, m.URL(), "lobby", op.Comment); n != 1 {
		t.Fatalf("the server has the post %d times", n)
	}
}

// TestCourierFailsAPostWhosePictureIsNotKept: the browser lost the
// picture's bytes (its site data was cleared); the post cannot be sent as
// it was written, so it is marked failed for the person, with nothing sent.
func TestCourierFailsAPostWhosePictureIsNotKept(t *testing.T) {
	m := startServer(t)
	pics := fake.NewPictures()
	op := picturePost(pics, "lobby", "its picture is gone")
	pics.Drop(op.Image.Key)
	edge := newCourierEdge(t, m, nil)
	r := runCourier(t, edge.URL, sync.Outbox{}, func(c *sync.Courier) { c.Pictures = pics })
	r.q.Add(op)
	o := r.untilOutbox(t, "the post failed", func(o sync.Outbox) bool { return len(o.Ops) == 1 && o.Ops[0].Failed != "" })
	if o.Ops[0].FailedCode != string(shared.CodeImageUnavailable) {
		t.Errorf("failed with %q (%s), want image_unavailable", o.Ops[0].FailedCode, o.Ops[0].Failed)
	}
	if n := edge.total(); n != 0 {
		t.Errorf("%d requests reached the server", n)
	}
}

// TestCourierKeepsAPictureTheServerRefuses: bytes that are no picture are
// refused for good (invalid_image): the post is marked failed with the
// server's reason and its bytes stay kept until the person discards it.
func TestCourierKeepsAPictureTheServerRefuses(t *testing.T) {
	m := startServer(t)
	pics := fake.NewPictures()
	op := picturePost(pics, "lobby", "not a picture")
	pics.Keep(op.Image.Key, client.Picture{Type: shared.TypeJPEG, Data: []byte("<svg onload=alert(1)>")})
	r := runCourier(t, m.URL(), sync.Outbox{}, func(c *sync.Courier) { c.Pictures = pics })
	r.q.Add(op)
	o := r.untilOutbox(t, "the post failed", func(o sync.Outbox) bool { return len(o.Ops) == 1 && o.Ops[0].Failed != "" })
	if code := o.Ops[0].FailedCode; code != string(shared.CodeInvalidImage) && code != string(shared.CodeUnsupportedMediaType) {
		t.Errorf("failed with %q (%s), want invalid_image", code, o.Ops[0].Failed)
	}
	if !pics.Has(op.Image.Key) {
		t.Error("the refused post's picture was let go before the person saw it")
	}
	if n := countTopics(t, m.URL(), "lobby", op.Comment); n != 0 {
		t.Fatalf("the server has the post %d times", n)
	}
}
