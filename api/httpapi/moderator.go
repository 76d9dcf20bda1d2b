package httpapi

import (
	"net/http"
	"strconv"
	"time"

	"github.com/kairan/kairan/api/limit"
	"github.com/kairan/kairan/shared"
)

// modGuessesPerMinute bounds wrong moderator tokens per client: a person
// who mistyped tries again within the burst of six, a script guessing gets
// six a minute; 256-bit tokens make that hopeless. Right tokens are never
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
		if ok, wait, _ := a.modGuesses.Allow(a.proxies.Client(r)); !ok {
			secs := max(1, int((wait+time.Second-1)/time.Second))
			w.Header().Set("Retry-After", strconv.Itoa(secs))
			a.metrics.rejected("rate_limited")
			a.writeError(w, r, shared.Errorf(shared.CodeRateLimited,
				"Too many wrong moderator tokens from here; wait "+plural(secs, "second")+" and try again."))
			return
		}
		msg := "That is not the moderator token."
		if a.moderatorToken == "" {
			msg = "This server has no moderator token set, so no token is accepted."
		}
		a.writeError(w, r, shared.Errorf(shared.CodeForbidden, msg))
	}
}

// newModGuesses is the limiter for wrong moderator tokens.
func newModGuesses() *limit.Writes { return limit.NewWrites(modGuessesPerMinute) }
