package sync

import (
	"context"
	crand "crypto/rand"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/kairan/kairan/app/client"
	"github.com/kairan/kairan/shared"
)

// Courier delivers a Queue in order. Transient failures (no network,
// server unavailable, rate limited, its own fault) are retried with
// backoff and at once on Kick; a refusal for good marks the op failed with
// the server's message.
type Courier struct {
	Client *client.Client
	Queue  *Queue
	// OnSent reports a delivered op: the created topic and its owner token
	// for a post, the topic for an edit, nothing for a delete. It runs on
	// Run's goroutine after the op left the queue.
	OnSent func(op Op, created *shared.CreatedTopic, edited *shared.Topic)

	BackoffMin, BackoffMax time.Duration

	kick    chan struct{}
	offline atomic.Bool
}

// NewCourier delivers q's ops.
func NewCourier(c *client.Client, q *Queue) *Courier {
	return &Courier{Client: c, Queue: q, kick: make(chan struct{}, 1),
		BackoffMin: time.Second, BackoffMax: 30 * time.Second}
}

// NewKey returns a fresh idempotency key.
func NewKey() string { return crand.Text() }

// Network tells the courier whether the device is online. Offline it
// holds the queue instead of sending: what the person writes after being
// told they are offline waits for the network, as the page says, rather
// than going out on a connection that happens to work. Online it sends
// at once. Safe from any goroutine.
func (c *Courier) Network(online bool) {
	c.offline.Store(!online)
	if online {
		c.Kick()
	}
}

// Kick retries at once (the network came back, the stream reconnected).
// Safe from any goroutine.
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
		select { // what was added so far is seen by next below
		case <-c.Queue.added:
		default:
		}
		var retry <-chan time.Time
		if wait := time.Until(notBefore); wait > 0 {
			timer.Reset(wait)
			retry = timer.C
		} else if c.offline.Load() {
			// Held until Network(true) kicks.
		} else if op, ok := c.Queue.next(); ok {
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
		case <-c.Queue.added:
		case <-c.kick:
		case <-retry:
		}
	}
}

// send delivers one op; sent means it left the queue (delivered, or
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
		c.Queue.update(func(o *Outbox) { o.Remove(op.Key) })
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
		c.Queue.update(func(o *Outbox) { o.Fail(op.Key, refusal(op, err), string(shared.ErrorCode(err))) })
		return true, false, 0
	}
}

const sendTimeout = 30 * time.Second

// refusal is what the person reads about a write refused for good. A
// moderator's delete refused as forbidden means the token was not the
// moderator's; the server's message then speaks of owners and topic ids.
func refusal(op Op, err error) string {
	if op.Moderator && shared.ErrorCode(err) == shared.CodeForbidden {
		return "The moderator token was not accepted, so this topic was not deleted."
	}
	return shared.Message(err)
}

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
