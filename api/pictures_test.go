package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/kairan/kairan/api/internal/picturetest"
	"github.com/kairan/kairan/app/client"
	"github.com/kairan/kairan/app/sync"
	"github.com/kairan/kairan/shared"
)

// uploadPicture sends a picture to base's board over HTTP.
func uploadPicture(t *testing.T, base, board, typ string, body []byte) shared.UploadedImage {
	t.Helper()
	resp, err := http.Post(base+"/api/boards/"+board+"/images", typ, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var up shared.ImageUpload
	if resp.StatusCode != http.StatusCreated || json.NewDecoder(resp.Body).Decode(&up) != nil {
		t.Fatalf("upload: %s", resp.Status)
	}
	return up.Image
}

// fetchPicture GETs a picture's bytes and ETag, or the status when not 200.
func fetchPicture(t *testing.T, base, path string) (status int, etag string, body []byte) {
	t.Helper()
	resp, err := http.Get(base + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err = io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header.Get("ETag"), body
}

// A picture uploaded and posted through replica A reaches a client of
// replica B with the topic, B serves the same bytes, and a delete through
// B takes the picture from A as well: the pictures live in the shared
// database, so replicas need nothing more.
func TestPicturePostedThroughOneReplicaShowsOnAnother(t *testing.T) {
	_, rs := startReplicas(t, 2)
	a, b := rs[0], rs[1]
	f := follow(t, b.URL(), "photos", sync.Replica{})
	f.until(t, 20*time.Second, "the first snapshot", func(r sync.Replica) bool { return r.Cursor != "" })

	up := uploadPicture(t, a.URL(), "photos", shared.TypeJPEG, picturetest.Photo(1200, 900))
	created, err := (&client.Client{Base: a.URL()}).Post(context.Background(), "photos",
		shared.CreateTopic{Author: "Aiko", ImageID: up.ID}, "")
	if err != nil {
		t.Fatal(err)
	}
	want := shared.Image{ID: up.ID, Type: up.Type, Width: up.Width, Height: up.Height}
	f.until(t, 10*time.Second, "A's picture post on B", func(r sync.Replica) bool {
		return len(r.Topics) == 1 && r.Topics[0].Image != nil && *r.Topics[0].Image == want
	})
	for _, path := range []string{"/api/images/" + up.ID, "/api/images/" + up.ID + "/preview"} {
		sa, ea, ba := fetchPicture(t, a.URL(), path)
		sb, eb, bb := fetchPicture(t, b.URL(), path)
		if sa != 200 || sb != 200 || ea != eb || !bytes.Equal(ba, bb) {
			t.Fatalf("%s: A %d %s (%d bytes), B %d %s (%d bytes)", path, sa, ea, len(ba), sb, eb, len(bb))
		}
	}
	if err := (&client.Client{Base: b.URL()}).Delete(context.Background(), "photos", created.Topic.ID, created.OwnerToken); err != nil {
		t.Fatal(err)
	}
	if s, _, _ := fetchPicture(t, a.URL(), "/api/images/"+up.ID); s != http.StatusNotFound {
		t.Fatalf("after the delete through B, A serves the picture: %d", s)
	}
}
