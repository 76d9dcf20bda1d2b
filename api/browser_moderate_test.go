package main

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/kairan/kairan/api/config"
	bt "github.com/kairan/kairan/api/internal/browsertest"
	"github.com/kairan/kairan/app/client"
	"github.com/kairan/kairan/shared"
)

// TestBrowserModeratorDeletes: a moderator enters moderator mode in the
// page. A wrong token is checked with the server as it is entered and
// refused at once: no delete is offered and nothing is kept. With the right one, the
// mode survives a reload, and another person's topic deleted through the
// page disappears for a second viewer and from the server — also when a
// new topic has just shifted the list (the click must hit the topic it is
// on), and from a second tab, which hands its delete to the leader.
func TestBrowserModeratorDeletes(t *testing.T) {
	const token = "moderator-token-for-the-browser-test"
	browser := bt.New(t)
	m := startServer(t, func(c *config.Config) { c.ModeratorTokenEnv = token })
	api := &client.Client{Base: m.URL()}
	const board = "moderated"
	page := m.URL() + "/b/" + board
	post := func(comment string) string {
		t.Helper()
		ct, err := api.Post(context.Background(), board, shared.CreateTopic{Author: "bob", Comment: comment}, "")
		if err != nil {
			t.Fatal(err)
		}
		return "#topic-" + strconv.FormatInt(ct.Topic.ID, 10)
	}
	onServer := func(want ...string) {
		t.Helper()
		snap, err := api.Snapshot(context.Background(), board)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, tp := range snap.Topics {
			got = append(got, tp.Comment)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("the server has %q, want %q", got, want)
		}
	}
	shows := func(ctx context.Context, what, selector string, want bool) {
		t.Helper()
		bt.Until(t, ctx, 30*time.Second, what, `(document.querySelector(`+jsString(selector)+`) !== null) === `+strconv.FormatBool(want))
	}
	older := post("older, by Bob")

	mod := browser
	bt.Do(t, mod, 60*time.Second, "open the board", chromedp.EmulateViewport(360, 740), chromedp.Navigate(page))
	bt.Until(t, mod, 60*time.Second, "the topic, in the app", `document.querySelector("#topics .topic:not(.pending)") !== null && `+liveSSE)
	shows(mod, "no delete on another's topic", older+" .delete-button", false)
	enter := func(tok string) {
		t.Helper()
		bt.Do(t, mod, 10*time.Second, "enter moderator mode",
			chromedp.Click(chromedp.ID("moderate")),
			chromedp.WaitVisible(chromedp.ID("moderator-token")))
		if typ := bt.Within(t, mod, 5*time.Second, "read the field type",
			chromedp.Evaluate[string](`document.getElementById("moderator-token").type`)); typ != "password" {
			t.Errorf("the token field is a %q field", typ)
		}
		bt.Do(t, mod, 10*time.Second, "submit the token",
			typeInto("#moderator-token", tok),
			chromedp.Click(chromedp.CSS("#moderate-form button[type=submit]")))
		shows(mod, "the moderator bar", "#moderation", true)
	}

	// A wrong token: the page asks the server and says so at once.
	const wrong = "not-the-moderator-token"
	enter(wrong)
	shows(mod, "the refusal", `#moderation.refused[data-state="refused"]`, true)
	bt.Until(t, mod, 10*time.Second, "the refusal in words",
		`document.getElementById("moderation")?.textContent.includes("not the moderator token")`)
	shows(mod, "no moderator delete offered", older+" .mod-delete", false)
	if html := bt.Within(t, mod, 5*time.Second, "read the page", chromedp.Evaluate[string](`document.documentElement.outerHTML`)); strings.Contains(html, wrong) {
		t.Error("the moderator token is in the page")
	}
	screenshot(t, mod, "board-moderator-refused-phone.png")
	onServer("older, by Bob")
	bt.Do(t, mod, 10*time.Second, "dismiss the refusal", chromedp.Click(chromedp.ID("stop-moderating")))
	shows(mod, "the way in again", "#moderate", true)
	shows(mod, "no moderator delete", ".mod-delete", false)
	if kept := bt.Within(t, mod, 5*time.Second, "read local storage",
		chromedp.Evaluate[bool](`localStorage.getItem("kairan/moderator") !== null`)); kept {
		t.Error("the token is still stored after stopping")
	}

	// The right token survives a reload.
	enter(token)
	shows(mod, "moderator mode, checked", `#moderation[data-state="on"]`, true)
	bt.Do(t, mod, 60*time.Second, "reload", chromedp.Reload())
	bt.Until(t, mod, 60*time.Second, "the board after the reload, in the app", `document.querySelector("#topics .topic:not(.pending)") !== null && `+liveSSE)
	shows(mod, "moderator mode after the reload", "#moderation:not(.refused)", true)
	shows(mod, "a moderator delete", older+" .mod-delete", true)
	screenshot(t, mod, "board-moderator-phone.png")

	// A new topic on top shifts the list; the delete clicked on it must
	// delete it, not the topic that was in its place before.
	newer := post("newer, by Bob")
	bt.Until(t, mod, 30*time.Second, "the new topic on top",
		`document.querySelector("#topics .topic:first-child")?.matches(`+jsString(newer+":not(.pending)")+`) === true`)
	carol := bt.NewContext(t, browser)
	bt.Do(t, carol, 60*time.Second, "open the board as Carol", chromedp.Navigate(page))
	shows(carol, "the new topic for Carol", newer, true)
	bt.Do(t, mod, 10*time.Second, "delete the new topic as moderator",
		chromedp.Evaluate[chromedp.Void](`window.confirm = () => true`),
		chromedp.Click(chromedp.CSS(newer+" .mod-delete")))
	shows(carol, "the deleted topic gone for Carol", newer, false)
	shows(mod, "the deleted topic gone for the moderator", newer, false)
	shows(carol, "the other topic still there for Carol", older, true)
	onServer("older, by Bob")

	// From a second tab of the moderator, which follows the leader.
	tab2, _ := bt.NewTab(t, mod)
	bt.Do(t, tab2, 60*time.Second, "open a second tab", chromedp.Navigate(page))
	bt.Until(t, tab2, 60*time.Second, "the second tab following",
		`document.getElementById("status")?.dataset.tab === "follower" && document.querySelector(`+jsString(older+" .mod-delete")+`) !== null`)
	bt.Do(t, tab2, 10*time.Second, "delete from the second tab",
		chromedp.Evaluate[chromedp.Void](`window.confirm = () => true`),
		chromedp.Click(chromedp.CSS(older+" .mod-delete")))
	shows(carol, "the empty board for Carol", ".notice.empty", true)
	shows(tab2, "the empty board in the second tab", ".notice.empty", true)
	onServer()
}
