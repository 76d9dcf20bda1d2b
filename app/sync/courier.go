package sync

import (
	"context"
	crand "crypto/rand"
	"math/rand/v2"
	"time"

	"github.com/kairan/kairan/app/client"
	"github.com/kairan/kairan/shared"
)

// Courier delivers an outbox in order. Transient failures (no network,
// server unavailable, rate limited, its own fault) are retried with
// backoff and at once on Kick; a refusal for good marks the op failed with
// the server's message.
type Courier struct {
	Client *client.Client
	// OnUpdate receives the outbox after every change of it (persist it).
	OnUpdate func(Outbox)
	// OnSent reports a delivered op: the created topic and its owner token
	// for a post, the topic for an edit, nothing for a delete.
	OnSent func(op Op, created *shared.CreatedTopic, edited *shared.Topic)

	BackoffMin, BackoffMax time.Duration

	outbox Outbox
	queue  chan Op
	drop   chan string
	kick   chan struct{}
}

// NewCourier starts from a saved outbox.
func NewCourier(c *client.Client, saved Outbox) *Courier {
	return &Courier{Client: c, outbox: saved.Clone(), queue: make(chan Op, 64),
		drop: make(chan string, 16), kick: make(chan struct{}, 1),
		BackoffMin: time.Second, BackoffMax: 30 * time.Second}
}

// NewKey returns a fresh idempotency key.
func NewKey() string { return crand.Text() }

// Enqueue adds an op (safe from any goroutine). A post without a key gets one.
func (c *Courier) Enqueue(op Op) {
	if op.Key == "" {
		op.Key = NewKey()
	}
	if op.Queued.IsZero() {
		op.Queued = time.Now()
	}
	c.queue <- op
}

// Discard removes an op, typically a failed one (safe from any goroutine).
func (c *Courier) Discard(key string) { c.drop <- key }

// Kick retries at once (the network came back, the stream reconnected).
func (c *Courier) Kick() {
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

// Run delivers until ctx is done.
func (c *Courier) Run(ctx context.Context) {
	failures := 0
	timer := time.NewTimer(0)
	defer timer.Stop()
	// notBefore is the server's Retry-After (a rate limit, a restart): a
	// floor for the next request that new ops and Kicks do not lift,
	// since asking sooner would only be refused again.
	var notBefore time.Time
	for {
		var retry <-chan time.Time
		if wait := time.Until(notBefore); wait > 0 {
			timer.Reset(wait)
			retry = timer.C
		} else if op, ok := c.outbox.Next(); ok {
			sent, transient, after := c.send(ctx, op)
			switch {
			case sent:
				failures = 0
				continue
			case transient:
				failures++
				if after > 0 {
					notBefore = time.Now().Add(after)
				}
				timer.Reset(max(c.backoff(failures), after))
				retry = timer.C
			}
		}
		select {
		case <-ctx.Done():
			return
		case op := <-c.queue:
			c.outbox.Add(op)
			c.update()
		case key := <-c.drop:
			c.outbox.Remove(key)
			c.update()
		case <-c.kick:
		case <-retry:
		}
	}
}

// send delivers one op; sent means it left the outbox (delivered, or
// refused for good and marked failed: both end its sending). A transient
// failure comes with the server's Retry-After, if it sent one.
func (c *Courier) send(ctx context.Context, op Op) (sent, transient bool, after time.Duration) {
	// A hung request must not hold the queue: give up on it and retry.
	ctx, cancel := context.WithTimeout(ctx, sendTimeout)
	defer cancel()
	var created *shared.CreatedTopic
	var edited *shared.Topic
	var err error
	switch op.Kind {
	case OpPost:
		var ct shared.CreatedTopic
		ct, err = c.Client.Post(ctx, op.Board, shared.CreateTopic{Author: op.Author, Comment: op.Comment}, op.Key)
		created = &ct
	case OpEdit:
		var t shared.Topic
		t, err = c.Client.Edit(ctx, op.Board, op.TopicID, op.Comment, op.Token)
		edited = &t
	case OpDelete:
		err = c.Client.Delete(ctx, op.Board, op.TopicID, op.Token)
		if shared.ErrorCode(err) == shared.CodeNotFound {
			err = nil // already gone: what the person wanted
		}
	}
	switch {
	case err == nil:
		c.outbox.Remove(op.Key)
		c.update()
		if c.OnSent != nil {
			c.OnSent(op, created, edited)
		}
		return true, false, 0
	case ctx.Err() != nil || Transient(err): // including our own timeout
		if e := shared.AsError(err); e != nil {
			after = e.RetryAfter
		}
		return false, true, after
	default:
		c.outbox.Fail(op.Key, shared.Message(err))
		c.update()
		return true, false, 0
	}
}

const sendTimeout = 30 * time.Second

// Transient reports whether a failed write may succeed if sent again.
func Transient(err error) bool {
	switch shared.ErrorCode(err) {
	case shared.CodeNetwork, shared.CodeUnavailable, shared.CodeRateLimited, shared.CodeInternal:
		return true
	}
	return false
}

// backoff is "equal jitter": at least half of BackoffMin, so a courier
// never hammers a server that answers 503 at once.
func (c *Courier) backoff(n int) time.Duration {
	return c.BackoffMin/2 + rand.N(ceiling(n, c.BackoffMin, c.BackoffMax)/2+1)
}

func (c *Courier) update() {
	if c.OnUpdate != nil {
		c.OnUpdate(c.outbox.Clone())
	}
}
