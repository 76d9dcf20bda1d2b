package ui

import "github.com/maxence-charriere/go-app/v10/pkg/app"

// KeepFormsInApp stops every form from submitting natively. go-app runs
// event handlers on its UI goroutine after the JS event has returned, so a
// PreventDefault inside OnSubmit comes too late and the browser would
// reload the page. A capturing listener on document cancels the native
// submit synchronously; the OnSubmit handlers still run. Browser only.
func KeepFormsInApp() {
	if !app.IsClient {
		return
	}
	cancel := app.FuncOf(func(this app.Value, args []app.Value) any {
		if len(args) > 0 {
			args[0].Call("preventDefault")
		}
		return nil
	}) // never released: it lives as long as the page
	app.Window().Get("document").Call("addEventListener", "submit", cancel, true)
}

// clearField empties a text field. go-app v10.1.11 never renders an empty
// "value" (attributes.Set drops empty values, switching on the value where
// it means the name), so setting the bound field to "" leaves the old text
// in the DOM; this clears it after the next render.
func clearField(ctx app.Context, id string) {
	ctx.Defer(func(app.Context) {
		if el := app.Window().GetElementByID(id); el.Truthy() {
			el.Set("value", "")
		}
	})
}

// focus moves the keyboard focus to the element with id once the next
// render has put it in the page. It defers on the page's context: a
// handler's own context is its element's, and go-app drops what is
// deferred there once the element is gone — as the Edit button is when
// the editor opens.
func (c *controls) focus(id string) {
	if c == nil {
		return
	}
	c.page.Defer(func(app.Context) {
		if el := app.Window().GetElementByID(id); el.Truthy() {
			el.Call("focus")
		}
	})
}

// fill sets a text field's value after the next render and focuses it: a
// textarea's text stops showing in it once its value was set by script,
// as clearField does after every post.
func (c *controls) fill(id, text string) { c.setValue(id, text, true) }

// setValue sets a text field's value after the next render ("" too, which
// go-app never renders), and focuses it if asked.
func (c *controls) setValue(id, text string, focus bool) {
	if c == nil {
		return
	}
	c.page.Defer(func(app.Context) {
		if el := app.Window().GetElementByID(id); el.Truthy() {
			el.Set("value", text)
			if focus {
				el.Call("focus")
			}
		}
	})
}
