package ui

import (
	"math"
	"time"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"github.com/kairan/kairan/app/sync"
)

// StatusPill says, in the header, whether the board on screen is current:
// live, connecting, reconnecting in N s, "you are offline" (the device has
// no network) or "can't reach the server" (it has, the server does not
// answer), with how many writes wait to be sent.
type StatusPill struct {
	app.Compo

	Status  sync.Status
	Online  bool
	Waiting int
	Leader  bool
	Now     time.Time
	W       *words
}

// Render draws the pill. data-mode and data-transport say the same for
// tests and styles.
func (s *StatusPill) Render() app.UI {
	mode := s.Status.Mode
	if !s.Online {
		mode = sync.Offline
	}
	w := s.W.or()
	title := ""
	if mode != sync.Live && !s.Status.LastLive.IsZero() {
		title = w.LastLive(w.ago(s.Now, s.Status.LastLive))
	}
	return app.Span().ID("status").Class("status", statusClass(mode)).
		Attr("role", "status").Attr("data-mode", string(mode)).
		Attr("data-transport", string(s.Status.Transport)).
		Attr("data-tab", pick(s.Leader, "leader", "follower")).
		Title(title).
		Text(StatusText(s.Status, s.Online, s.Waiting, s.Now, w))
}

// StatusText is the connection state in words.
func StatusText(s sync.Status, online bool, waiting int, now time.Time, w *words) string {
	w = w.or()
	var text string
	switch {
	case !online || s.Mode == sync.Offline:
		text = w.Offline
	case s.Mode == sync.Live:
		text = w.Live
	case s.Mode == sync.Connecting:
		text = w.Connecting
	case s.Mode == sync.Unreachable:
		text = w.Unreachable + retryIn(s, now, w.Retrying, w)
	default:
		text = retryIn(s, now, w.Reconnecting, w)
	}
	if waiting > 0 {
		text += w.WaitingToSend(waiting)
	}
	return text
}

// retryIn is prefix and " in 3 s" while the next attempt is in the
// future, else prefix and "…".
func retryIn(s sync.Status, now time.Time, prefix string, w *words) string {
	secs := int(math.Ceil(s.RetryAt.Sub(now).Seconds()))
	if secs <= 0 {
		return prefix + "…"
	}
	return prefix + w.In(secs)
}

func statusClass(m sync.Mode) string {
	switch m {
	case sync.Live:
		return "live"
	case sync.Offline, sync.Unreachable:
		return "offline"
	}
	return "waiting"
}
