package sync

import (
	"slices"
	gosync "sync"
	"time"
)

// OpKind is what a queued write does.
type OpKind string

// Kinds of queued writes.
const (
	OpPost   OpKind = "post"
	OpEdit   OpKind = "edit"
	OpDelete OpKind = "delete"
)

// Op is one write waiting to reach the server. A post carries its
// Idempotency-Key from the moment it is queued, so however often it is
// sent — after a reload, after an answer was lost — it is created once.
type Op struct {
	Key     string `json:"key"` // idempotency key of a post; the op's identity for all kinds
	Kind    OpKind `json:"kind"`
	Board   string `json:"board"`
	TopicID int64  `json:"topic_id,omitempty"` // edit, delete
	Author  string `json:"author,omitempty"`   // post
	Comment string `json:"comment,omitempty"`  // post, edit
	Token   string `json:"token,omitempty"`    // edit, delete: the owner token (or the moderator's)
	// Moderator: a delete made with the moderator token.
	Moderator bool      `json:"moderator,omitempty"`
	Queued    time.Time `json:"queued"`
	// Failed is the server's message when it refused the write for good
	// (too long, blocked, not yours); such an op is kept for the person to
	// see and is never sent again.
	Failed string `json:"failed,omitempty"`
	// FailedCode is the error code of the refusal, for pages that say it
	// in another language.
	FailedCode string `json:"failed_code,omitempty"`
	// Image is a post's picture; nil for none.
	Image *OpImage `json:"image,omitempty"`
}

// OpImage is the picture of a queued post. Its bytes are kept apart
// (Pictures: IndexedDB in the browser) under Key, since an outbox lives in
// local storage, which is too small for them. The upload and the post are
// two requests, each with its own Idempotency-Key: Upload for the upload,
// the op's Key for the post, so either can be sent again after a lost
// answer and still count once.
type OpImage struct {
	Key    string `json:"key"`
	Type   string `json:"type"`
	Width  int    `json:"width"`
	Height int    `json:"height"`
	// Drawing: drawn on the page, not a photo (the page says which).
	Drawing bool   `json:"drawing,omitempty"`
	Upload  string `json:"upload"` // the upload's Idempotency-Key
	// ID is the server's id of the upload once it answered; "" before.
	ID string `json:"id,omitempty"`
	// Again counts uploads made anew because the server had removed the
	// last one before the post went out.
	Again int `json:"again,omitempty"`
}

// Outbox is the ordered queue of writes. Ops are sent in order; a failed
// one is skipped (it stays until discarded).
type Outbox struct {
	Ops []Op `json:"ops"`
}

// Add queues op at the end, unless an op with its key is queued already
// (the same write can reach the leader twice, from a tab that resends).
func (o *Outbox) Add(op Op) {
	if !o.Has(op.Key) {
		o.Ops = append(o.Ops, op)
	}
}

// Has reports whether an op with key is queued.
func (o *Outbox) Has(key string) bool {
	return slices.ContainsFunc(o.Ops, func(op Op) bool { return op.Key == key })
}

// Next is the first op still to send.
func (o *Outbox) Next() (Op, bool) {
	for _, op := range o.Ops {
		if op.Failed == "" {
			return op, true
		}
	}
	return Op{}, false
}

// Remove drops the op with key (sent, or discarded by the person).
func (o *Outbox) Remove(key string) {
	o.Ops = slices.DeleteFunc(o.Ops, func(op Op) bool { return op.Key == key })
}

// Fail marks the op with key as refused for good.
func (o *Outbox) Fail(key, message, code string) {
	for i := range o.Ops {
		if o.Ops[i].Key == key {
			o.Ops[i].Failed, o.Ops[i].FailedCode = message, code
		}
	}
}

// Clone returns a copy that shares nothing with o.
func (o Outbox) Clone() Outbox {
	o.Ops = slices.Clone(o.Ops)
	for i, op := range o.Ops {
		if op.Image != nil {
			img := *op.Image
			o.Ops[i].Image = &img
		}
	}
	return o
}

// setImage records what became of the picture of the op with key.
func (o *Outbox) setImage(key string, img OpImage) {
	for i := range o.Ops {
		if o.Ops[i].Key == key {
			o.Ops[i].Image = &img
		}
	}
}

// Queue is a tab's outbox, held once: the board session adds, discards and
// shows its ops, the courier delivers them. Safe for concurrent use.
type Queue struct {
	mu      gosync.Mutex
	outbox  Outbox
	changed func() // after every change, outside the lock
	added   chan struct{}
}

// NewQueue starts from a saved outbox. changed (may be nil) is called after
// every change, from the goroutine that made it and outside the lock, so it
// may read Outbox; two calls may overlap, so read the outbox, do not count
// on the order of calls.
func NewQueue(saved Outbox, changed func()) *Queue {
	return &Queue{outbox: saved.Clone(), changed: changed, added: make(chan struct{}, 1)}
}

// Add queues op. An op without a key gets one; an op whose key is queued
// already is ignored (a follower tab may hand the same write over twice).
func (q *Queue) Add(op Op) {
	if op.Key == "" {
		op.Key = NewKey()
	}
	if op.Queued.IsZero() {
		op.Queued = time.Now()
	}
	q.update(func(o *Outbox) { o.Add(op) })
	select {
	case q.added <- struct{}{}:
	default:
	}
}

// Discard drops the op with key (the person gave up on a refused write).
func (q *Queue) Discard(key string) { q.update(func(o *Outbox) { o.Remove(key) }) }

// Outbox returns a copy of the queued ops.
func (q *Queue) Outbox() Outbox {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.outbox.Clone()
}

// next is the first op to send, sharing nothing with the queue (the
// courier records an upload in its copy of the picture).
func (q *Queue) next() (Op, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	op, ok := q.outbox.Next()
	if op.Image != nil {
		img := *op.Image
		op.Image = &img
	}
	return op, ok
}

func (q *Queue) update(change func(*Outbox)) {
	q.mu.Lock()
	change(&q.outbox)
	q.mu.Unlock()
	if q.changed != nil {
		q.changed()
	}
}
