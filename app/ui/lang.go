package ui

import (
	"strings"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"github.com/kairan/kairan/app/board"
)

// The page's language: the one the person chose (kept in local storage,
// and in a "lang" cookie so the server's HTML follows it too), else the
// browser's preference (navigator.languages; Accept-Language on the
// server, passed to the prerender as ?lang= by api/pages.go): Japanese
// when it comes before English, else English.

const langKey = "kairan/lang"

// pageLang is the language of the page being rendered.
func pageLang(ctx app.Context) string {
	if !app.IsClient {
		return pick(ctx.Page().URL().Query().Get("lang") == "ja", "ja", "en")
	}
	var chosen string
	if (localStorage{}).Get(langKey, &chosen); chosen == "ja" || chosen == "en" {
		return chosen
	}
	langs := app.Window().Get("navigator").Get("languages")
	for i := 0; langs.Truthy() && i < langs.Length(); i++ {
		switch l := strings.ToLower(langs.Index(i).String()); {
		case strings.HasPrefix(l, "ja"):
			return "ja"
		case strings.HasPrefix(l, "en"):
			return "en"
		}
	}
	return "en"
}

// onSwitchLang turns the page to the other language and remembers it.
func (p *BoardPage) onSwitchLang(ctx app.Context, e app.Event) {
	p.Lang = pick(p.Lang == "ja", "en", "ja")
	localStorage{}.Set(langKey, p.Lang)
	app.Window().Get("document").Set("cookie", "lang="+p.Lang+"; path=/; max-age=31536000; samesite=lax")
	ctx.Page().SetLang(p.Lang)
}

// problemText says a storage problem (board.View.Problem) in w.
func problemText(problem string, w *words) string {
	switch problem {
	case board.ProblemToken:
		return w.ProblemToken
	case board.ProblemOutbox:
		return w.ProblemOutbox
	}
	return w.ProblemSaved
}
