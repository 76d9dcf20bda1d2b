package httpapi_test

import (
	"net/http"
	"testing"

	"github.com/kairan/kairan/api/httpapi"
	"github.com/kairan/kairan/shared"
)

// GET /api/moderator tells the page whether a token is the moderator's:
// 204 for it, 401 without a token, 403 for any other, and wrong tokens
// are limited per client while the right one never is.
func TestModeratorCheck(t *testing.T) {
	e := newEnv(t)
	r := e.do(t, "GET", "/api/moderator", "", hdr("Authorization", bearer(moderatorToken)))
	wantStatus(t, r, http.StatusNoContent)
	if len(r.body) != 0 {
		t.Fatalf("204 with a body: %q", r.body)
	}
	wantError(t, e.do(t, "GET", "/api/moderator", "", nil), http.StatusUnauthorized, shared.CodeUnauthorized)
	wantError(t, e.do(t, "GET", "/api/moderator", "", hdr("Authorization", "Basic "+moderatorToken)), http.StatusUnauthorized, shared.CodeUnauthorized)
	for _, wrong := range []string{"nope", moderatorToken + "x", moderatorToken[:10], "ｍｏｄｅｒａｔｏｒ"} {
		wantError(t, e.do(t, "GET", "/api/moderator", "", hdr("Authorization", bearer(wrong))), http.StatusForbidden, shared.CodeForbidden)
	}
	// Two more wrong guesses use up the burst of six; the seventh waits.
	for range 2 {
		wantError(t, e.do(t, "GET", "/api/moderator", "", hdr("Authorization", bearer("guess"))), http.StatusForbidden, shared.CodeForbidden)
	}
	r = e.do(t, "GET", "/api/moderator", "", hdr("Authorization", bearer("guess")))
	wantError(t, r, http.StatusTooManyRequests, shared.CodeRateLimited)
	if r.header.Get("Retry-After") == "" {
		t.Fatal("429 without Retry-After")
	}
	// The right token still answers: a moderator is never locked out by guesses.
	wantStatus(t, e.do(t, "GET", "/api/moderator", "", hdr("Authorization", bearer(moderatorToken))), http.StatusNoContent)
	// Writes to the check are not routes.
	if r := e.do(t, "POST", "/api/moderator", "{}", hdr("Content-Type", "application/json", "Authorization", bearer(moderatorToken))); r.status != http.StatusMethodNotAllowed && r.status != http.StatusNotFound {
		t.Fatalf("POST /api/moderator: %s", r)
	}
}

// Without a moderator token configured, no token is the moderator's.
func TestModeratorCheckWithoutModeration(t *testing.T) {
	e := newEnv(t, func(c *httpapi.Config) { c.ModeratorToken = "" })
	wantError(t, e.do(t, "GET", "/api/moderator", "", hdr("Authorization", bearer("anything"))), http.StatusForbidden, shared.CodeForbidden)
	wantError(t, e.do(t, "GET", "/api/moderator", "", hdr("Authorization", bearer(""))), http.StatusUnauthorized, shared.CodeUnauthorized)
}

// Wrong tokens on deletes and edits count against the same strict limit as
// the check: six, then 429 with Retry-After; nothing changes, and the
// right owner token and the moderator's still work.
func TestWrongTokensOnWritesAreLimited(t *testing.T) {
	e := newEnv(t)
	c := e.post(t, "lobby", "Ada", "guarded")
	before := e.state(t, "lobby")
	for i := range 6 {
		path, method, body := topicPath("lobby", c.topic.ID), "DELETE", ""
		if i%2 == 1 {
			method, body = "PATCH", `{"comment":"hijacked"}`
		}
		r := e.do(t, method, path, body, jsonHdr("Authorization", bearer("guess-"+string(rune('a'+i)))))
		wantError(t, r, http.StatusForbidden, shared.CodeForbidden)
	}
	r := e.do(t, "DELETE", topicPath("lobby", c.topic.ID), "", hdr("Authorization", bearer("one-guess-too-many")))
	wantError(t, r, http.StatusTooManyRequests, shared.CodeRateLimited)
	if r.header.Get("Retry-After") == "" {
		t.Fatal("429 without Retry-After")
	}
	// The check shares the limit.
	wantError(t, e.do(t, "GET", "/api/moderator", "", hdr("Authorization", bearer("guess"))), http.StatusTooManyRequests, shared.CodeRateLimited)
	e.unchanged(t, "lobby", before)
	// The owner's token still edits; the moderator still deletes.
	wantStatus(t, e.do(t, "PATCH", topicPath("lobby", c.topic.ID), `{"comment":"mine"}`, jsonHdr("Authorization", bearer(c.token))), http.StatusOK)
	wantStatus(t, e.do(t, "DELETE", topicPath("lobby", c.topic.ID), "", hdr("Authorization", bearer(moderatorToken))), http.StatusNoContent)
}
