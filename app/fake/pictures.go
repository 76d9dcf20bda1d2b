package fake

import (
	"context"
	gosync "sync"

	"github.com/kairan/kairan/app/client"
	"github.com/kairan/kairan/shared"
)

// Pictures is the twin of the browser's IndexedDB store of pictures
// waiting in outboxes (web/pics.js), shared by the tabs of a test.
type Pictures struct {
	mu    gosync.Mutex
	items map[string]client.Picture
}

// NewPictures returns an empty store.
func NewPictures() *Pictures { return &Pictures{items: map[string]client.Picture{}} }

// Keep stores pic at key, as the page does before it queues the post.
func (p *Pictures) Keep(key string, pic client.Picture) {
	p.mu.Lock()
	p.items[key] = pic
	p.mu.Unlock()
}

// Load returns the picture at key, or image_unavailable when none is kept.
func (p *Pictures) Load(ctx context.Context, key string) (client.Picture, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	pic, ok := p.items[key]
	if !ok {
		return client.Picture{}, shared.Errorf(shared.CodeImageUnavailable, "The picture of this post is no longer kept in this browser.")
	}
	return pic, nil
}

// Drop forgets the picture at key.
func (p *Pictures) Drop(key string) {
	p.mu.Lock()
	delete(p.items, key)
	p.mu.Unlock()
}

// Has reports whether a picture is kept at key.
func (p *Pictures) Has(key string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	_, ok := p.items[key]
	return ok
}

// Len is how many pictures are kept.
func (p *Pictures) Len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.items)
}
