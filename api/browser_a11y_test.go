package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/kairan/kairan/api/config"
	bt "github.com/kairan/kairan/api/internal/browsertest"
	"github.com/kairan/kairan/app/client"
	"github.com/kairan/kairan/shared"
)

// axeSource finds axe-core (installed by `go tool task test:deps` into
// .cache/npm, or named by KAIRAN_AXE). Without it the test is skipped
// with a message, unless browser tests are required (CI).
func axeSource(t *testing.T) string {
	t.Helper()
	path := os.Getenv("KAIRAN_AXE")
	if path == "" {
		path = filepath.Join("..", ".cache", "npm", "node_modules", "axe-core", "axe.min.js")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		msg := "axe-core not found at " + path + ": run `go tool task test:deps` (npm) to check accessibility"
		if os.Getenv("KAIRAN_REQUIRE_BROWSER") == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return string(b)
}

type axeViolation struct {
	ID     string `json:"id"`
	Impact string `json:"impact"`
	Help   string `json:"help"`
	Nodes  []struct {
		Target  []any  `json:"target"`
		Summary string `json:"failureSummary"`
	} `json:"nodes"`
}

// axeCheck runs axe-core's WCAG 2.1 A/AA and best-practice rules on the
// page as it stands and fails on any violation.
func axeCheck(t *testing.T, tab context.Context, axe, state string) {
	t.Helper()
	bt.Do(t, tab, 10*time.Second, "load axe-core", chromedp.Evaluate[chromedp.Void](axe+";0"))
	out := bt.Within(t, tab, 60*time.Second, "run axe on "+state, chromedp.Evaluate[string](
		`axe.run(document, {runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]}}).then(r => JSON.stringify(r.violations))`,
		chromedp.EvalAwaitPromise))
	var vs []axeViolation
	if err := json.Unmarshal([]byte(out), &vs); err != nil {
		t.Fatalf("axe on %s: %v", state, err)
	}
	for _, v := range vs {
		var where []string
		for _, n := range v.Nodes {
			b, _ := json.Marshal(n.Target)
			where = append(where, string(b)+": "+strings.ReplaceAll(n.Summary, "\n", " "))
		}
		t.Errorf("axe, %s: %s (%s) %s\n  %s", state, v.ID, v.Impact, v.Help, strings.Join(where, "\n  "))
	}
}

// TestBrowserAccessibility: axe-core finds nothing on the board (phone and
// desktop), with the moderator form open, while moderating, with a refused
// token, in an error state and offline.
func TestBrowserAccessibility(t *testing.T) {
	axe := axeSource(t)
	tab := bt.New(t)
	const token = "moderator-token-for-the-a11y-test"
	m := startServer(t, func(c *config.Config) { c.ModeratorTokenEnv = token })
	for _, c := range []string{"ゴミの日は火曜日です 🗑️", "The lift is out until Friday."} {
		if _, err := (&client.Client{Base: m.URL()}).Post(context.Background(), "a11y", shared.CreateTopic{Author: "bob", Comment: c}, ""); err != nil {
			t.Fatal(err)
		}
	}
	bt.Do(t, tab, 60*time.Second, "open the board", chromedp.EmulateViewport(360, 740), chromedp.Navigate(m.URL()+"/b/a11y"))
	bt.Until(t, tab, 60*time.Second, "the live board", liveSSE+` && document.querySelectorAll("#topics .topic").length === 2`)
	bt.Do(t, tab, 10*time.Second, "post", chromedp.SendKeys(chromedp.ID("comment"), "mine"), chromedp.Click(chromedp.ID("post-button")))
	bt.Until(t, tab, 10*time.Second, "an own topic", `document.querySelector("#topics .edit-button") !== null`)
	axeCheck(t, tab, axe, "the board on a phone")
	bt.Do(t, tab, 10*time.Second, "desktop width", chromedp.EmulateViewport(1280, 800))
	axeCheck(t, tab, axe, "the board on a desktop")

	bt.Do(t, tab, 10*time.Second, "an over-long post",
		typeInto("#comment", strings.Repeat("x", shared.MaxCommentChars+1)), chromedp.Click(chromedp.ID("post-button")))
	bt.Until(t, tab, 10*time.Second, "the error", `document.getElementById("error") !== null`)
	bt.Do(t, tab, 10*time.Second, "edit a topic", chromedp.Click(chromedp.CSS("#topics .edit-button")))
	bt.Until(t, tab, 10*time.Second, "the editor", `document.querySelector("#topics .edit-text") !== null`)
	axeCheck(t, tab, axe, "an error and an open editor")
	bt.Do(t, tab, 10*time.Second, "close the editor", chromedp.Click(chromedp.CSS("#topics .edit button[type=button]")))

	// A click lands where the button was measured: wait for the layout
	// to settle after the editor closes.
	bt.Until(t, tab, 10*time.Second, "the editor closed", `document.querySelector("#topics .edit-text") === null`)
	bt.Do(t, tab, 10*time.Second, "open the moderator form", chromedp.Click(chromedp.ID("moderate")))
	bt.Until(t, tab, 10*time.Second, "the form", `document.getElementById("moderator-token") !== null`)
	axeCheck(t, tab, axe, "the moderator form")
	bt.Do(t, tab, 10*time.Second, "a wrong token",
		typeInto("#moderator-token", "wrong-token"), chromedp.Click(chromedp.CSS("#moderate-form button[type=submit]")))
	bt.Until(t, tab, 10*time.Second, "the refusal", `document.querySelector("#moderation.refused") !== null`)
	axeCheck(t, tab, axe, "a refused moderator token")
	bt.Do(t, tab, 10*time.Second, "dismiss", chromedp.Click(chromedp.ID("stop-moderating")))
	bt.Do(t, tab, 10*time.Second, "moderate with the right token", chromedp.Click(chromedp.ID("moderate")),
		chromedp.WaitVisible(chromedp.ID("moderator-token")),
		typeInto("#moderator-token", token), chromedp.Click(chromedp.CSS("#moderate-form button[type=submit]")))
	bt.Until(t, tab, 10*time.Second, "moderating", `document.querySelector('#moderation[data-state="on"]') !== null`)
	axeCheck(t, tab, axe, "moderating")
	screenshot(t, tab, "board-moderator-desktop.png")

	emulateOffline(t, tab, true)
	bt.Until(t, tab, 10*time.Second, "offline", `document.getElementById("status")?.dataset.mode === "offline"`)
	axeCheck(t, tab, axe, "offline")
	emulateOffline(t, tab, false)
}
