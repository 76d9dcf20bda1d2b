package ui

import (
	"net/url"
	"strings"
	gosync "sync"
	"time"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"github.com/kairan/kairan/app/board"
	"github.com/kairan/kairan/shared"
)

// BoardPage shows one board. It opens the board's session (app/board) and
// renders the View the session hands it through small components: the
// status, the post form, the topics, the moderator bar and form. It holds
// no board state of its own, only what the person is doing on the page
// (controls).
type BoardPage struct {
	app.Compo

	Board   string
	Invalid string // why Board is not a board name, if it is not
	// View is the session's latest; the zero View until it has one.
	View board.View
	// Now is the time relative times are shown against; one shared tick
	// moves it (tick.go).
	Now time.Time
	// UpdateReady: a new version is installed; reloading runs it.
	UpdateReady bool
	BoardGo     string
	GoError     string
	// Lang is the page's language, "en" or "ja" (words.go, lang.go).
	Lang string

	c        *controls
	seed     string // the server's snapshot as JSON, for the app (seed.go)
	slot     viewSlot
	counting bool
	unwatch  func()
}

// controls are what the components of a page share: the session they call
// and what the person is doing (which topic is being edited, where the
// keyboard focus goes next).
type controls struct {
	page      app.Context // the page's: it outlives every element (forms.go)
	session   *board.Session
	editing   int64 // the topic being edited
	editDraft string
	editErr   string
	// refocus is where the focus goes again once topic refocusAfter has
	// left the list.
	refocus      string
	refocusAfter int64
	// refill is a refused post's text for the post form to take back.
	refill Refill
	// pics are object URLs of kept pictures (posts not sent yet) by key,
	// "" while one is read; picsSeen counts those read, so the list
	// renders again when one is (pictures.go).
	pics     map[string]string
	picsSeen int
}

// refocusIfGone gives the focus back to c.refocus once the deleted topic
// it waited for is gone from v.
func (c *controls) refocusIfGone(v board.View) {
	if c == nil || c.refocus == "" {
		return
	}
	for _, t := range v.Topics {
		if t.ID == c.refocusAfter {
			return
		}
	}
	c.focus(c.refocus)
	c.refocus = ""
}

// viewSlot hands the newest View to the UI goroutine: a burst of views
// costs one Dispatch, and the session never waits on the UI.
type viewSlot struct {
	mu      gosync.Mutex
	view    board.View
	from    *board.Session
	pending bool
}

// OnNav runs on the server (prerender) and in the browser; only the
// browser opens the session, so the prerendered page never waits on the API.
func (p *BoardPage) OnNav(ctx app.Context) {
	p.Board = boardFromPath(ctx.Page().URL().Path)
	p.Lang = pageLang(ctx)
	ctx.Page().SetLang(p.Lang)
	w := wordsFor(p.Lang)
	p.Invalid = ""
	if err := shared.ValidateBoard(p.Board); err != nil {
		p.Invalid = w.errorText(err)
	}
	ctx.Page().SetTitle(p.Board + " · kairan")
	p.Now = time.Now()
	if !app.IsClient {
		if p.Invalid == "" {
			p.View, p.seed, _ = prerenderView(p.Board)
		}
		return
	}
	p.closeSession()
	p.View = board.View{}
	if p.Invalid == "" {
		p.openSession(ctx)
	}
}

// OnMount starts the shared clock, watches the browser (network,
// visibility, leaving the page) and asks the service worker for a new
// version now and every ten minutes (go-app v10 only checks when told to).
func (p *BoardPage) OnMount(ctx app.Context) {
	p.UpdateReady = ctx.AppUpdateAvailable()
	var check func(app.Context)
	check = func(ctx app.Context) {
		app.TryUpdate()
		ctx.After(10*time.Minute, check)
	}
	check(ctx)
	p.tick(ctx)
	if p.unwatch == nil {
		p.unwatch = p.watchBrowser(ctx)
	}
}

// OnAppUpdate runs when a new version has been installed and activated.
func (p *BoardPage) OnAppUpdate(ctx app.Context) {
	p.UpdateReady = ctx.AppUpdateAvailable()
}

// OnDismount leaves the board.
func (p *BoardPage) OnDismount() {
	p.closeSession()
	if p.unwatch != nil {
		p.unwatch()
		p.unwatch = nil
	}
}

func (p *BoardPage) openSession(ctx app.Context) {
	s, first := openBrowserSession(p.Board, takeSeed(p.Board), func(s *board.Session, v board.View) { p.show(ctx, s, v) })
	p.c = &controls{page: ctx, session: s, pics: map[string]string{}}
	p.View = first                              // the saved board, in this very render
	p.c.setValue("comment", first.Draft, false) // this board's draft, not the last board's
	p.slot.mu.Lock()
	p.slot.from = s
	p.slot.mu.Unlock()
}

// closeSession ends the page's session without waiting for it: its
// stream is aborted at once, its goroutines end on their own.
func (p *BoardPage) closeSession() {
	if p.c == nil {
		return
	}
	go p.c.session.Close()
	p.c = nil
	p.slot.mu.Lock()
	p.slot.from = nil // its last views are not this page's any more
	p.slot.mu.Unlock()
}

// show takes a View from the session's goroutine to the UI goroutine.
func (p *BoardPage) show(ctx app.Context, s *board.Session, v board.View) {
	p.slot.mu.Lock()
	defer p.slot.mu.Unlock()
	if p.slot.from != s {
		return // a view of a board the page has left
	}
	p.slot.view = v
	if p.slot.pending {
		return
	}
	p.slot.pending = true
	ctx.Dispatch(func(ctx app.Context) {
		p.slot.mu.Lock()
		if p.slot.from == s {
			p.View = p.slot.view
			p.c.refocusIfGone(p.View)
		}
		p.slot.pending = false
		p.slot.mu.Unlock()
		p.countDown(ctx)
	})
}

func (p *BoardPage) onReload(ctx app.Context, e app.Event) { ctx.Reload() }

func (p *BoardPage) onGoBoard(ctx app.Context, e app.Event) {
	target := boardName(p.BoardGo)
	if err := shared.ValidateBoard(target); err != nil {
		p.GoError = wordsFor(p.Lang).errorText(err)
		return
	}
	p.BoardGo, p.GoError = "", ""
	clearField(ctx, "go-board")
	ctx.Navigate("/b/" + url.PathEscape(target))
}

// Render draws the page from its fields alone. Every user text goes
// through app.Text, which sets text nodes: a comment of "<script>" shows
// those characters and runs nothing.
func (p *BoardPage) Render() app.UI {
	v, w := p.View, wordsFor(p.Lang)
	// data-app: the app has taken over the prerendered page (tests and
	// styles can tell the two apart).
	return app.Div().Class("page").Attr("data-app", pick(app.IsClient, "on", "")).Body(
		p.renderHeader(),
		app.If(p.c != nil && v.Moderation != board.ModOff, func() app.UI {
			return &ModeratorBar{State: v.Moderation, Note: v.ModNote, C: p.c, W: w}
		}),
		app.If(v.Problem != "", func() app.UI {
			return app.P().ID("problem").Class("notice", "error", "banner").Attr("role", "alert").Text(problemText(v.Problem, w))
		}),
		app.If(p.UpdateReady, func() app.UI {
			return app.Div().ID("update").Class("update").Attr("role", "status").Body(
				app.Span().Text(w.UpdateReady),
				app.Button().ID("reload").Type("button").Class("primary").OnClick(p.onReload).Text(w.Reload),
			)
		}),
		app.Main().Class("board").Body(
			app.If(p.Invalid != "", func() app.UI {
				return app.P().Class("notice", "error").Text(p.Invalid)
			}).Else(func() app.UI {
				return app.Div().Body(
					&PostForm{C: p.c, W: w, Board: p.Board, Author: v.Author, Draft: v.Draft, Refill: p.refill()},
					&TopicList{View: v, Now: p.Now, C: p.c, W: w, Editing: p.editing(), Pics: p.picsSeen()},
				)
			}),
		),
		// A div in the contentinfo role is the landmark a <footer> would be,
		// without linking go-app's footer element type (~2 KB brotli).
		app.Div().Class("foot").Attr("role", "contentinfo").Body(
			app.If(p.Invalid == "" && v.Moderation == board.ModOff, func() app.UI {
				return &ModeratorForm{C: p.c, W: w}
			}),
			app.Button().ID("lang").Type("button").Class("link").
				Attr("lang", pick(p.Lang == "ja", "en", "ja")).
				Attr("aria-label", w.OtherLabel).OnClick(p.onSwitchLang).Text(w.Other),
		),
		app.If(p.seed != "", func() app.UI { return renderSeed(p.seed) }),
	)
}

// refill is what the post form should take back (a refused post), with a
// sequence number so the same text twice is taken twice.
func (p *BoardPage) refill() Refill {
	if p.c == nil {
		return Refill{}
	}
	return p.c.refill
}

func (p *BoardPage) picsSeen() int {
	if p.c == nil {
		return 0
	}
	return p.c.picsSeen
}

func (p *BoardPage) editing() int64 {
	if p.c == nil {
		return 0
	}
	return p.c.editing
}

func (p *BoardPage) renderHeader() app.UI {
	w := wordsFor(p.Lang)
	return app.Header().Class("bar").Body(
		app.A().Class("brand").Href("/").Text("kairan"),
		app.H1().Class("board-name").Text(p.Board),
		app.If(p.Invalid == "" && (p.c != nil || p.View.Loaded), func() app.UI {
			return &StatusPill{Status: p.View.Status, Online: p.View.Online, Waiting: p.View.Waiting,
				Leader: p.View.Leader, Now: p.Now, W: w}
		}),
		app.Form().Class("go").OnSubmit(p.onGoBoard).Body(
			app.Input().ID("go-board").Type("text").Class("go-input").Placeholder(w.BoardHint).
				Attr("aria-label", w.GoToBoard).Attr("autocapitalize", "none").
				Attr("aria-invalid", pick(p.GoError != "", "true", "")).
				Value(p.BoardGo).OnInput(p.ValueTo(&p.BoardGo)),
			// Until the app runs, a form would submit natively and reload the
			// page: its buttons wait for the app.
			app.Button().Type("submit").Class("go-button").Disabled(!app.IsClient).Text(w.Go),
		),
		app.If(p.GoError != "", func() app.UI {
			return app.P().ID("go-error").Class("go-error").Attr("role", "alert").Text(p.GoError)
		}),
	)
}

// boardName turns what a person types into a board name: "Night Shift"
// is night-shift (lower case, spaces and underscores as dashes, no dashes
// at the ends). What still is no board name is said by the box.
func boardName(typed string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(strings.TrimSpace(typed)) {
		switch {
		case r == ' ' || r == '_' || r == '-' || r == '\t':
			dash = true
		default:
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = false
			b.WriteRune(r)
		}
	}
	return b.String()
}

// pick returns a if cond, else b. (A map[bool]string literal reads the same
// but builds a map on every render.)
func pick(cond bool, a, b string) string {
	if cond {
		return a
	}
	return b
}
