package ui

import (
	"time"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"github.com/kairan/kairan/app/sync"
)

// Relative times ("2 min ago") move on one shared clock: the page's Now,
// moved every 30 s, never a timer per topic. While the status counts
// down to a reconnect, Now moves every second instead, until it stops.

const tickEvery = 30 * time.Second

// tick moves Now every tickEvery for as long as the page is mounted (a
// Dispatch to an unmounted page is dropped, which ends the chain).
func (p *BoardPage) tick(ctx app.Context) {
	ctx.After(tickEvery, func(ctx app.Context) {
		p.Now = time.Now()
		p.tick(ctx)
	})
}

// countDown moves Now every second while the status shows "in N s".
func (p *BoardPage) countDown(ctx app.Context) {
	if p.counting || !counting(p.View.Status, time.Now()) {
		return
	}
	p.counting = true
	ctx.After(time.Second, func(ctx app.Context) {
		p.counting = false
		p.Now = time.Now()
		p.countDown(ctx)
	})
}

func counting(s sync.Status, now time.Time) bool {
	return (s.Mode == sync.Reconnecting || s.Mode == sync.Unreachable) && s.RetryAt.After(now)
}
