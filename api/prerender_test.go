package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/kairan/kairan/api/config"
	"github.com/kairan/kairan/app/client"
	"github.com/kairan/kairan/shared"
)

func getPage(t *testing.T, url string, header ...string) (int, string) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

var seedAttr = regexp.MustCompile(`id="board-seed"[^>]*data-snapshot="([A-Za-z0-9+/=]*)"|data-snapshot="([A-Za-z0-9+/=]*)"[^>]*id="board-seed"`)

// pageSeed decodes the snapshot a prerendered page carries for the app.
func pageSeed(t *testing.T, html string) shared.Snapshot {
	t.Helper()
	m := seedAttr.FindStringSubmatch(html)
	if m == nil {
		t.Fatalf("no #board-seed with a base64 data-snapshot in the page")
	}
	b, err := base64.StdEncoding.DecodeString(m[1] + m[2])
	if err != nil {
		t.Fatal(err)
	}
	var snap shared.Snapshot
	if err := json.Unmarshal(b, &snap); err != nil {
		t.Fatal(err)
	}
	return snap
}

// The HTML of a board already holds its newest topics, rendered by the
// same components as the app, as text; it carries the snapshot (with its
// cursor) for the app, no secret, and is current on every request.
func TestPagesArePrerenderedWithTheirTopics(t *testing.T) {
	m := startServer(t)
	api := &client.Client{Base: m.URL()}
	hostile := `<script>alert(1)</script> " onmouseover="x` + "\n& 改行"
	mine, err := api.Post(context.Background(), "lobby", shared.CreateTopic{Author: "ann <b>", Comment: hostile}, "key-for-the-prerender-test")
	if err != nil {
		t.Fatal(err)
	}
	status, html := getPage(t, m.URL()+"/b/lobby")
	if status != 200 {
		t.Fatalf("GET /b/lobby: %d", status)
	}
	for _, want := range []string{
		`id="topic-` + strconv.FormatInt(mine.Topic.ID, 10) + `"`,
		`&lt;script&gt;alert(1)&lt;/script&gt;`,
		`ann &lt;b&gt;`,
		`datetime="` + mine.Topic.CreatedAt.Format("2006-01-02T15:04:05Z07:00") + `"`,
		`data-mode="connecting"`,
	} {
		if !strings.Contains(html, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	for _, secret := range []string{mine.OwnerToken, "key-for-the-prerender-test", "<script>alert", "No topics yet", "Loading…"} {
		if strings.Contains(html, secret) {
			t.Errorf("the page holds %q", secret)
		}
	}
	seed := pageSeed(t, html)
	snap, err := api.Snapshot(context.Background(), "lobby")
	if err != nil {
		t.Fatal(err)
	}
	if seed.Board != "lobby" || seed.Cursor != snap.Cursor || len(seed.Topics) != 1 || seed.Topics[0] != snap.Topics[0] {
		t.Fatalf("seed %+v, want the snapshot %+v", seed, snap)
	}

	// The next request sees the next post, even when the browser asks
	// whether its copy is still good.
	api.Post(context.Background(), "lobby", shared.CreateTopic{Comment: "a later post"}, "")
	resp, err := http.Get(m.URL() + "/b/lobby")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	status, html = getPage(t, m.URL()+"/b/lobby", "If-None-Match", resp.Header.Get("ETag"))
	if status != 200 || !strings.Contains(html, "a later post") {
		t.Fatalf("a revalidated page: %d, holds the later post: %v", status, strings.Contains(html, "a later post"))
	}
	// An empty board says so; a bad board name has no topics and no seed.
	if _, html := getPage(t, m.URL()+"/b/quiet"); !strings.Contains(html, "No topics yet") {
		t.Error("an empty board's page does not say it is empty")
	}
	if _, html := getPage(t, m.URL()+"/b/Bad_Name"); strings.Contains(html, "board-seed") {
		t.Error("an invalid board's page carries a seed")
	}
}

// Link previews carry absolute URLs only when the public origin is known;
// an address that is no page answers 404 with a page that links back.
func TestPreviewsAndNotFound(t *testing.T) {
	m := startServer(t)
	_, html := getPage(t, m.URL()+"/b/lobby")
	if strings.Contains(html, `content="https:///`) || strings.Contains(html, `content="https://"`) {
		t.Errorf("without --public-url the page has host-less preview URLs")
	}
	if !strings.Contains(html, `property="og:title"`) {
		t.Errorf("the page lost its other preview tags")
	}
	pub := startServer(t, func(c *config.Config) { c.PublicURL = "https://board.example.org" })
	_, html = getPage(t, pub.URL()+"/b/lobby")
	for _, want := range []string{`content="https://board.example.org/b/lobby"`, `content="https://board.example.org/web/icons/icon-512.png"`} {
		if !strings.Contains(html, want) {
			t.Errorf("with --public-url the page lacks %s", want)
		}
	}
	for _, path := range []string{"/no/such/page", "/b/lobby/extra", "/index.php"} {
		status, body := getPage(t, m.URL()+path)
		if status != http.StatusNotFound || !strings.Contains(body, `<a href="/">`) || !strings.Contains(body, "There is no page here") {
			t.Errorf("GET %s: %d, body %.200q", path, status, body)
		}
	}
	// The API keeps its JSON 404, files their own answers.
	if status, body := getPage(t, m.URL()+"/api/nope"); status != http.StatusNotFound || !strings.Contains(body, `"not_found"`) {
		t.Errorf("GET /api/nope: %d %s", status, body)
	}
	if status, _ := getPage(t, m.URL()+"/web/app.css"); status != 200 {
		t.Errorf("GET /web/app.css: %d", status)
	}
}

// The server's HTML speaks the language the browser prefers (Japanese
// before English in Accept-Language), or the one the person chose (the
// "lang" cookie); <html lang> says which.
func TestPagesSpeakJapaneseAndEnglish(t *testing.T) {
	m := startServer(t)
	for _, tc := range []struct {
		header []string
		lang   string
	}{
		{nil, "en"},
		{[]string{"Accept-Language", "ja-JP,ja;q=0.9,en;q=0.8"}, "ja"},
		{[]string{"Accept-Language", "en-GB,en;q=0.9,ja;q=0.8"}, "en"},
		{[]string{"Accept-Language", "fr,ja;q=0.5,en;q=0.4"}, "ja"},
		{[]string{"Accept-Language", "ja", "Cookie", "lang=en"}, "en"},
		{[]string{"Cookie", "lang=ja"}, "ja"},
		{[]string{"Cookie", "lang=xx", "Accept-Language", "de"}, "en"},
	} {
		_, html := getPage(t, m.URL()+"/b/lobby", tc.header...)
		if !strings.Contains(html, `<html lang="`+tc.lang+`">`) {
			t.Errorf("%v: the page is not lang=%q", tc.header, tc.lang)
		}
		wantWords := map[string]string{"en": "Write a topic…", "ja": "トピックを書く…"}[tc.lang]
		if !strings.Contains(html, wantWords) {
			t.Errorf("%v: the page lacks %q", tc.header, wantWords)
		}
	}
}

// The manifest describes kairan in the person's language.
func TestManifestSpeaksTheLanguage(t *testing.T) {
	m := startServer(t)
	_, en := getPage(t, m.URL()+"/manifest.webmanifest")
	_, ja := getPage(t, m.URL()+"/manifest.webmanifest", "Accept-Language", "ja")
	_, chosen := getPage(t, m.URL()+"/manifest.webmanifest", "Accept-Language", "ja", "Cookie", "lang=en")
	var doc map[string]any
	for name, tc := range map[string]struct{ body, want string }{
		"en": {en, description["en"]}, "ja": {ja, description["ja"]}, "chosen": {chosen, description["en"]},
	} {
		if err := json.Unmarshal([]byte(tc.body), &doc); err != nil || doc["description"] != tc.want || doc["name"] != "kairan" {
			t.Errorf("%s: manifest %v (%v), want description %q", name, doc, err, tc.want)
		}
	}
}
