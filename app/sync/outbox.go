package sync

import (
	"slices"
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
	Key     string    `json:"key"` // idempotency key of a post; the op's identity for all kinds
	Kind    OpKind    `json:"kind"`
	Board   string    `json:"board"`
	TopicID int64     `json:"topic_id,omitempty"` // edit, delete
	Author  string    `json:"author,omitempty"`   // post
	Comment string    `json:"comment,omitempty"`  // post, edit
	Token   string    `json:"token,omitempty"`    // edit, delete: the owner token
	Queued  time.Time `json:"queued"`
	// Failed is the server's message when it refused the write for good
	// (too long, blocked, not yours); such an op is kept for the person to
	// see and is never sent again.
	Failed string `json:"failed,omitempty"`
}

// Outbox is the ordered queue of writes. Ops are sent in order; a failed
// one is skipped (it stays until discarded).
type Outbox struct {
	Ops []Op `json:"ops"`
}

// Add queues op at the end, unless an op with its key is queued already
// (the same write can reach the leader twice, from a tab that resends).
func (o *Outbox) Add(op Op) {
	if !slices.ContainsFunc(o.Ops, func(have Op) bool { return have.Key == op.Key }) {
		o.Ops = append(o.Ops, op)
	}
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
func (o *Outbox) Fail(key, message string) {
	for i := range o.Ops {
		if o.Ops[i].Key == key {
			o.Ops[i].Failed = message
		}
	}
}

// Clone returns a copy that shares nothing with o.
func (o Outbox) Clone() Outbox {
	o.Ops = slices.Clone(o.Ops)
	return o
}
