package httpapi

import (
	"net/http"
	"strconv"
	"time"

	"github.com/kairan/kairan/api/limit"
	"github.com/kairan/kairan/shared"
)

// modGuessesPerMinute bounds wrong tokens per client (moderator or owner
// tokens, at the check, on edits and on deletes): a person who mistyped
// tries again within the burst of six, a script guessing gets six a
// minute; 256-bit tokens make that hopeless. Right tokens are never
// counted.
const modGuessesPerMinute = 6

// checkModerator answers whether the bearer token is the moderator token,
// so the page can say at once that a pasted token is wrong rather than
// when a delete fails: 204 yes, 401 no token, 403 no. Reads nothing else
// and changes nothing.
func (a *api) checkModerator(w http.ResponseWriter, r *http.Request) {
	token := bearer(r)
	switch {
	case token == "":
		a.writeError(w, r, shared.Errorf(shared.CodeUnauthorized,
			"Send the moderator token as \"Authorization: Bearer <token>\"."))
	case a.isModerator(token):
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusNoContent)
	default:
		msg := "That is not the moderator token."
		if a.moderatorToken == "" {
			msg = "This server has no moderator token set, so no token is accepted."
		}
		a.writeError(w, r, a.wrongToken(w, r, shared.Errorf(shared.CodeForbidden, msg)))
	}
}

// wrongToken counts a refused token (err is forbidden) against the
// client's wrong-token limit, shared by the check above, edits and
// deletes: a script trying tokens on DELETE gets six a minute, like one
// trying them here. Past the limit the answer is 429 instead of 403; it
// changes nothing either way. Right tokens never count.
func (a *api) wrongToken(w http.ResponseWriter, r *http.Request, err error) error {
	if shared.ErrorCode(err) != shared.CodeForbidden {
		return err
	}
	ok, wait, network := a.modGuesses.Allow(a.proxies.Client(r))
	if ok {
		return err
	}
	from := "here"
	if network != "" {
		from = "your network (" + network + ")"
	}
	secs := max(1, int((wait+time.Second-1)/time.Second))
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	a.metrics.rejected("wrong_tokens")
	return shared.Errorf(shared.CodeRateLimited,
		"Too many wrong tokens from "+from+"; wait "+plural(secs, "second")+" and try again.")
}

// newModGuesses is the limiter for wrong moderator tokens.
func newModGuesses() *limit.Writes { return limit.NewWrites(modGuessesPerMinute) }
