package httpapi

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/kairan/kairan/api/store"
	"github.com/kairan/kairan/shared"
)

func (a *api) getBoard(w http.ResponseWriter, r *http.Request) {
	board := r.PathValue("board")
	if err := shared.ValidateBoard(board); err != nil {
		a.writeError(w, r, err)
		return
	}
	limit, err := parseLimit(r.URL.Query().Get("limit"))
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	before, err := parseBefore(r.URL.Query())
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	var snap shared.Snapshot
	if before > 0 {
		snap, err = a.store.Older(r.Context(), board, before, limit)
	} else {
		snap, err = a.store.Snapshot(r.Context(), board, limit)
	}
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	a.writeJSON(w, r, http.StatusOK, snap)
}

// parseBefore reads ?before=<id>: the page of topics older than that id.
// Absent is 0 (the newest); present, it is a topic id in the form the
// server writes (no sign, no leading zero).
func parseBefore(q url.Values) (int64, error) {
	if !q.Has("before") {
		return 0, nil
	}
	s := q.Get("before")
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 || strconv.FormatInt(id, 10) != s {
		return 0, shared.Errorf(shared.CodeInvalidBefore,
			"before must be a topic id, a whole number from 1 (it was "+strconv.Quote(clip(s))+").")
	}
	return id, nil
}

func parseLimit(s string) (int, error) {
	if s == "" {
		return shared.DefaultSnapshotLen, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > shared.MaxSnapshotLen {
		return 0, shared.Errorf(shared.CodeInvalidLimit,
			"limit must be a whole number from 1 to "+strconv.Itoa(shared.MaxSnapshotLen)+".")
	}
	return n, nil
}

func (a *api) createTopic(w http.ResponseWriter, r *http.Request) {
	board := r.PathValue("board")
	var in shared.CreateTopic
	if err := a.readWrite(w, r, board, &in); err != nil {
		a.writeError(w, r, err)
		return
	}
	if err := a.checkBlocklist(r, board, in.Author, in.Comment); err != nil {
		a.writeError(w, r, err)
		return
	}
	key, hasKey := r.Header["Idempotency-Key"]
	nt := store.NewTopic{Board: board, Author: in.Author, Comment: in.Comment, ImageID: in.ImageID}
	if hasKey {
		// Several headers join with ",", which no valid key holds.
		nt.IdempotencyKey = strings.Join(key, ",")
		if err := shared.ValidateIdempotencyKey(nt.IdempotencyKey); err != nil {
			a.writeError(w, r, err)
			return
		}
	}
	created, err := a.store.CreateTopic(r.Context(), nt)
	if err != nil {
		if code := shared.ErrorCode(err); code == shared.CodeTooManyBoards || code == shared.CodeTooManyTopics {
			a.metrics.rejected(string(code)) // the operator's sign that a cap is reached
		}
		a.writeError(w, r, err)
		return
	}
	status := http.StatusCreated
	if created.Replayed {
		status = http.StatusOK
	} else {
		a.published(created.Change)
	}
	a.writeJSON(w, r, status, created.CreatedTopic)
}

func (a *api) editTopic(w http.ResponseWriter, r *http.Request) {
	board := r.PathValue("board")
	var in shared.EditTopic
	if err := a.readWrite(w, r, board, &in); err != nil {
		a.writeError(w, r, err)
		return
	}
	id, err := topicID(board, r.PathValue("id"))
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	if err := a.checkBlocklist(r, board, in.Comment); err != nil {
		a.writeError(w, r, err)
		return
	}
	// The moderator deletes but does not edit: its token counts as no owner's.
	topic, change, err := a.store.EditTopic(r.Context(), board, id, in.Comment, store.Actor{Token: bearer(r)})
	if err != nil {
		a.writeError(w, r, a.wrongToken(w, r, err))
		return
	}
	a.published(change)
	a.writeJSON(w, r, http.StatusOK, topic)
}

func (a *api) deleteTopic(w http.ResponseWriter, r *http.Request) {
	board := r.PathValue("board")
	if err := shared.ValidateBoard(board); err != nil {
		a.writeError(w, r, err)
		return
	}
	id, err := topicID(board, r.PathValue("id"))
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	token := bearer(r)
	change, err := a.store.DeleteTopic(r.Context(), board, id, store.Actor{Token: token, Moderator: a.isModerator(token)})
	if err != nil {
		a.writeError(w, r, a.wrongToken(w, r, err))
		return
	}
	a.published(change)
	w.WriteHeader(http.StatusNoContent)
}

// normalizer is a request body that trims and validates itself.
type normalizer interface{ Normalize() error }

// readWrite does what every write shares: the board, the content type, the
// body size, JSON decoding and validation, in that order.
func (a *api) readWrite(w http.ResponseWriter, r *http.Request, board string, dst normalizer) error {
	if err := shared.ValidateBoard(board); err != nil {
		return err
	}
	if err := requireJSON(r); err != nil {
		return err
	}
	body, err := readBody(w, r, a.bodyTimeout)
	if err != nil {
		return err
	}
	if err := decodeJSON(body, dst); err != nil {
		return err
	}
	return dst.Normalize()
}

// topicID parses a topic id; anything that is not a positive integer names
// no topic, so it is not_found like an unknown number.
func topicID(board, s string) (int64, error) {
	// Exactly the decimal form the server writes: no sign, no leading
	// zero, so "+5" and "05" name no topic rather than topic 5.
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 || strconv.FormatInt(id, 10) != s {
		return 0, shared.Errorf(shared.CodeNotFound, "There is no topic "+strconv.Quote(clip(s))+" on board "+strconv.Quote(board)+".")
	}
	return id, nil
}

func clip(s string) string {
	if len(s) > 40 {
		return strings.ToValidUTF8(s[:40], "") + "…"
	}
	return s
}

// bearer returns the token of an "Authorization: Bearer <token>" header,
// or "" when there is none.
func bearer(r *http.Request) string {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(token)
}

// published hands the feed a change after its write committed (never
// before: a subscriber must never see a change that could still roll
// back).
func (a *api) published(c shared.Change) {
	if a.feed != nil {
		a.feed.Publish(c)
	}
}
