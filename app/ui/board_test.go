package ui

import (
	"strings"
	"testing"
	"time"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"github.com/kairan/kairan/app/sync"
	"github.com/kairan/kairan/shared"
)

var t0 = time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)

// mount renders a page with the given state in go-app's test engine, which
// has server semantics: no OnMount and no network.
func mount(t *testing.T, p *BoardPage) *BoardPage {
	t.Helper()
	e := app.NewTestEngine()
	if err := e.Load(p); err != nil {
		t.Fatal(err)
	}
	e.ConsumeAll()
	return p
}

func topic(id int64, author, comment string) shared.Topic {
	created := t0.Add(time.Duration(id) * time.Minute)
	return shared.Topic{ID: id, Board: "lobby", Author: author, Comment: comment, CreatedAt: created, UpdatedAt: created}
}

func page(topics ...shared.Topic) *BoardPage {
	return &BoardPage{Board: "lobby", Loaded: true, Topics: topics, Now: t0.Add(time.Hour), Owned: map[int64]string{}}
}

// Paths into the tree: page root 0 → main 1 → content div 0 → list 1 →
// topic i → meta 0 / comment 1 / actions 2.
func topicPath(i int, rest ...int) []int { return append([]int{0, 1, 0, 1, i}, rest...) }

func noop(app.Context, app.Event) {}

func match(t *testing.T, want app.UI, p *BoardPage, path ...int) {
	t.Helper()
	if err := app.Match(want, p, path...); err != nil {
		t.Errorf("at %v: %v\n%s", path, err, app.HTMLString(p))
	}
}

func TestTopicsNewestFirstAsText(t *testing.T) {
	p := mount(t, page(topic(2, "bob", "<script>x</script>"), topic(1, "ann", "first")))
	match(t, app.Li().ID("topic-2").Class("topic"), p, topicPath(0)...)
	match(t, app.Text("bob"), p, topicPath(0, 0, 0, 0)...)
	match(t, app.Text("58 min ago"), p, topicPath(0, 0, 1, 0)...)
	match(t, app.Text("<script>x</script>"), p, topicPath(0, 1, 0)...)
	match(t, app.Text("first"), p, topicPath(1, 1, 0)...)
	if html := app.HTMLString(p); strings.Contains(html, "<script>x") {
		t.Fatalf("comment rendered as markup:\n%s", html)
	}
}

func TestOnlyOwnTopicsOfferEditAndDelete(t *testing.T) {
	p := page(topic(2, "bob", "theirs"), topic(1, "ann", "mine"))
	p.Owned[1] = "token"
	mount(t, p)
	match(t, app.Div().Class("actions"), p, topicPath(1, 2)...)
	match(t, app.Text("Edit"), p, topicPath(1, 2, 0, 0)...)
	match(t, app.Text("Delete"), p, topicPath(1, 2, 1, 0)...)
	if err := app.Match(app.Div().Class("actions"), p, topicPath(0, 2)...); err == nil {
		t.Error("a topic the page holds no token for offers actions")
	}
}

func TestEditingShowsTheDraft(t *testing.T) {
	p := page(topic(1, "ann", "mine"))
	p.Owned[1], p.EditingID, p.EditDraft = "token", 1, "new words"
	mount(t, p)
	match(t, app.Form().Class("edit").OnSubmit(noop), p, topicPath(0, 1)...)
	match(t, app.Textarea().Class("edit-text").Attr("aria-label", "Edit comment").Attr("rows", 3).Text("new words").OnInput(noop), p, topicPath(0, 1, 0)...)
}

func TestEditedTopicsSayEdited(t *testing.T) {
	tp := topic(1, "ann", "changed")
	tp.UpdatedAt = tp.CreatedAt.Add(time.Minute)
	p := mount(t, page(tp))
	match(t, app.Text("edited"), p, topicPath(0, 0, 2, 0)...)
}

func TestEmptyInvalidAndErrorStates(t *testing.T) {
	empty := mount(t, page())
	match(t, app.Text("No topics yet. Be the first to post."), empty, 0, 1, 0, 1, 0)

	invalid := mount(t, &BoardPage{Board: "Bad", Invalid: "not a board"})
	match(t, app.P().Class("notice", "error").Text("not a board"), invalid, 0, 1, 0)

	failed := page()
	failed.Error = "The comment is empty; write something first."
	mount(t, failed)
	match(t, app.P().ID("error").Class("notice", "error").Attr("role", "alert"), failed, 0, 1, 0, 1)
	match(t, app.Text(failed.Error), failed, 0, 1, 0, 1, 0)
}

func TestCharacterCount(t *testing.T) {
	p := page()
	p.Draft = strings.Repeat("é", shared.MaxCommentChars+1)
	mount(t, p)
	match(t, app.Span().Class("count").Class("over"), p, 0, 1, 0, 0, 1, 1)
	match(t, app.Text("2001/2000"), p, 0, 1, 0, 0, 1, 1, 0)
}

func TestBoardFromPath(t *testing.T) {
	for path, want := range map[string]string{"/": "lobby", "/b/night-shift": "night-shift", "/b/": "", "/b/Bad": "Bad"} {
		if got := boardFromPath(path); got != want {
			t.Errorf("boardFromPath(%q) = %q, want %q", path, got, want)
		}
	}
}

func TestAgo(t *testing.T) {
	now := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{10 * time.Second, "just now"}, {-5 * time.Second, "just now"}, {2 * time.Minute, "2 min ago"},
		{59 * time.Minute, "59 min ago"}, {3 * time.Hour, "3 h ago"}, {30 * time.Hour, "yesterday"},
	} {
		if got := Ago(now, now.Add(-tc.d)); got != tc.want {
			t.Errorf("Ago(-%v) = %q, want %q", tc.d, got, tc.want)
		}
	}
	if got := Ago(now, now.AddDate(0, 0, -10)); got != now.AddDate(0, 0, -10).Local().Format("2 Jan") {
		t.Errorf("Ago(10 days) = %q", got)
	}
	if got := Ago(now, now.AddDate(-2, 0, 0)); !strings.HasSuffix(got, "2024") {
		t.Errorf("Ago(2 years) = %q", got)
	}
}

func TestStatusText(t *testing.T) {
	now := t0
	for _, tc := range []struct {
		s    sync.Status
		want string
	}{
		{sync.Status{Mode: sync.LiveSSE}, "live (SSE)"},
		{sync.Status{Mode: sync.LivePolling}, "live (polling)"},
		{sync.Status{Mode: sync.Connecting}, "connecting…"},
		{sync.Status{Mode: sync.Reconnecting, RetryAt: now.Add(2500 * time.Millisecond)}, "reconnecting in 3 s"},
		{sync.Status{Mode: sync.Reconnecting, RetryAt: now.Add(-time.Second)}, "reconnecting…"},
		{sync.Status{Mode: sync.Offline}, "offline"},
		{sync.Status{Mode: sync.Offline, LastLive: now.Add(-3 * time.Minute)}, "offline · last live 3 min ago"},
	} {
		if got := StatusText(tc.s, now); got != tc.want {
			t.Errorf("StatusText(%+v) = %q, want %q", tc.s, got, tc.want)
		}
	}
}

func TestQueuedWritesShowAsPendingOrFailed(t *testing.T) {
	p := page(topic(3, "ann", "mine"), topic(2, "bob", "to delete"), topic(1, "cy", "old"))
	p.Owned[3], p.Owned[2] = "t3", "t2"
	p.Status = sync.Status{Mode: sync.Offline}
	p.Outbox = sync.Outbox{Ops: []sync.Op{
		{Key: "a", Kind: sync.OpPost, Board: "lobby", Author: "ann", Comment: "queued first"},
		{Key: "b", Kind: sync.OpEdit, Board: "lobby", TopicID: 3, Comment: "mine, edited"},
		{Key: "c", Kind: sync.OpDelete, Board: "lobby", TopicID: 2},
		{Key: "d", Kind: sync.OpPost, Board: "lobby", Author: "ann", Comment: "too long", Failed: "The comment is too long."},
		{Key: "e", Kind: sync.OpPost, Board: "elsewhere", Comment: "other board"},
	}}
	mount(t, p)
	// Newest queued post first, then the topics.
	match(t, app.Li().ID("op-d").Class("topic", "failed"), p, topicPath(0)...)
	match(t, app.Text("The comment is too long."), p, topicPath(0, 2, 0, 0)...)
	match(t, app.Li().ID("op-a").Class("topic", "pending"), p, topicPath(1)...)
	match(t, app.Text("pending · sent when back online"), p, topicPath(1, 0, 1, 0)...)
	match(t, app.Li().ID("topic-3").Class("topic", "saving"), p, topicPath(2)...)
	match(t, app.Text("mine, edited"), p, topicPath(2, 1, 0)...)
	match(t, app.Li().ID("topic-2").Class("topic", "deleting"), p, topicPath(3)...)
	match(t, app.Li().ID("topic-1").Class("topic"), p, topicPath(4)...)
	if strings.Contains(app.HTMLString(p), "other board") {
		t.Error("a queued post of another board is shown")
	}
}

func TestDeliveredWritesShowUntilTheReplicaHasThem(t *testing.T) {
	p := page(topic(1, "ann", "old"))
	p.sent(sync.Op{Kind: sync.OpPost}, &shared.CreatedTopic{Topic: topic(2, "ann", "new")}, nil)
	p.sent(sync.Op{Kind: sync.OpDelete, TopicID: 1}, nil, nil)
	got := p.shown()
	if len(got) != 1 || got[0].ID != 2 {
		t.Fatalf("shown = %+v, want only the new topic 2", got)
	}
	p.Topics = []shared.Topic{topic(2, "ann", "new")} // the replica caught up
	p.forgetChanged([]shared.Change{{Kind: shared.ChangeCreated, Topic: topic(2, "ann", "new")}, {Kind: shared.ChangeDeleted, Topic: shared.Topic{ID: 1}}})
	if len(p.Sent) != 0 || len(p.Deleted) != 0 || len(p.shown()) != 1 {
		t.Fatalf("overlays after the replica caught up: sent %v deleted %v", p.Sent, p.Deleted)
	}
}

func TestModeratorDeletesWhatOthersPosted(t *testing.T) {
	p := page(topic(2, "bob", "theirs"), topic(1, "ann", "mine"))
	p.Owned[1], p.ModToken = "owner", "moderator-token-0123"
	mount(t, p)
	// The bar under the header says so; the main part moves down one.
	match(t, app.Div().ID("moderation").Class("moderation").Attr("role", "status"), p, 0, 1)
	modTopic := func(i int, rest ...int) []int { return append([]int{0, 2, 0, 1, i}, rest...) }
	match(t, app.Button().Type("button").Class("delete-button", "mod-delete").OnClick(noop), p, modTopic(0, 2, 0)...)
	match(t, app.Text("Delete as moderator"), p, modTopic(0, 2, 0, 0)...)
	// Their own topic keeps the owner's actions.
	match(t, app.Text("Edit"), p, modTopic(1, 2, 0, 0)...)
	match(t, app.Text("Delete"), p, modTopic(1, 2, 1, 0)...)
	html := app.HTMLString(p)
	if strings.Contains(html, p.ModToken) || strings.Contains(html, `id="moderate"`) {
		t.Errorf("moderating, the page shows the token or the way in:\n%s", html)
	}
}

func TestModerateIsOfferedDiscreetly(t *testing.T) {
	p := mount(t, page(topic(1, "bob", "theirs")))
	if html := app.HTMLString(p); strings.Contains(html, "mod-delete") || strings.Contains(html, `id="moderation"`) {
		t.Errorf("not moderating, the page offers moderator deletes:\n%s", html)
	}
	match(t, app.Button().ID("moderate").Type("button").Class("link").OnClick(noop), p, 0, 2, 0)
	p = page(topic(1, "bob", "theirs"))
	p.ModForm = true
	mount(t, p)
	match(t, app.Input().ID("moderator-token").Type("password").Class("token-input").Placeholder("Moderator token").
		Attr("aria-label", "Moderator token").Attr("autocomplete", "off").Required(true).OnInput(noop), p, 0, 2, 0, 0)
}

func TestRefusedModeratorTokenIsSaid(t *testing.T) {
	p := page(topic(2, "bob", "theirs"), topic(1, "cy", "also theirs"))
	p.ModToken = "wrong-token-0123456"
	p.Outbox = sync.Outbox{Ops: []sync.Op{
		{Key: "a", Kind: sync.OpDelete, Board: "lobby", TopicID: 2, Token: p.ModToken, Failed: "This token does not own topic 2."},
	}}
	mount(t, p)
	match(t, app.Div().ID("moderation").Class("moderation", "refused").Attr("role", "alert"), p, 0, 1)
	match(t, app.Text("The server did not accept the moderator token: nothing was deleted."), p, 0, 1, 0, 0)
	// The topic stays, marked with the server's reason and a way to drop the delete.
	match(t, app.Li().ID("topic-2").Class("topic", "failed"), p, 0, 2, 0, 1, 0)
	match(t, app.Text("Not deleted: This token does not own topic 2."), p, 0, 2, 0, 1, 0, 2, 0, 0)
	match(t, app.Text("Discard"), p, 0, 2, 0, 1, 0, 2, 1, 0, 0)
	match(t, app.Li().ID("topic-1").Class("topic"), p, 0, 2, 0, 1, 1)
}

func TestModRefused(t *testing.T) {
	const tok = "moderator-token-0123"
	del := sync.Op{Kind: sync.OpDelete, TopicID: 1, Token: tok, Failed: "This token does not own topic 1."}
	for _, tc := range []struct {
		name  string
		op    sync.Op
		token string
		want  bool
	}{
		{"refused delete with the token", del, tok, true},
		{"not moderating", del, "", false},
		{"refused with another token (an owner's, or one changed since)", del, "another-token-01234", false},
		{"still pending", sync.Op{Kind: sync.OpDelete, Token: tok}, tok, false},
		{"a refused edit", sync.Op{Kind: sync.OpEdit, Token: tok, Failed: "no"}, tok, false},
	} {
		if got := modRefused(tc.op, tc.token); got != tc.want {
			t.Errorf("%s: modRefused = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestRefusedEditsAndDeletesShowOnTheirTopic(t *testing.T) {
	p := page(topic(3, "ann", "mine"), topic(2, "ann", "also mine"), topic(1, "cy", "other"))
	p.Outbox = sync.Outbox{Ops: []sync.Op{
		{Key: "e", Kind: sync.OpEdit, Board: "lobby", TopicID: 3, Comment: "x", Failed: "Blocked."},
		{Key: "d", Kind: sync.OpDelete, Board: "lobby", TopicID: 2, Failed: "Not yours."},
		{Key: "o", Kind: sync.OpDelete, Board: "elsewhere", TopicID: 1, Failed: "Not yours."},
	}}
	got := p.shown()
	if len(got) != 3 || got[0].failed.Key != "e" || got[1].failed.Key != "d" || got[2].failed.Key != "" {
		t.Fatalf("shown = %+v", got)
	}
	if got[0].Comment != "mine" || got[0].state != "" || got[1].state != "" {
		t.Errorf("a refused write changes how its topic shows: %+v", got[:2])
	}
}
