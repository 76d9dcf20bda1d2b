package ui

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"github.com/kairan/kairan/app/board"
	"github.com/kairan/kairan/app/sync"
	"github.com/kairan/kairan/shared"
)

// The components render from their fields alone; go-app's test engine
// renders them natively (server semantics: no OnMount, no network).

var t0 = time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)

func mount[C app.Composer](t *testing.T, c C) C {
	t.Helper()
	e := app.NewTestEngine()
	if err := e.Load(c); err != nil {
		t.Fatal(err)
	}
	e.ConsumeAll()
	return c
}

func html(c app.UI) string { return app.HTMLString(c) }

func topic(id int64, author, comment string) board.Topic {
	created := t0.Add(time.Duration(id) * time.Minute)
	return board.Topic{Topic: shared.Topic{ID: id, Board: "lobby", Author: author, Comment: comment, CreatedAt: created, UpdatedAt: created}}
}

func list(topics ...board.Topic) *TopicList {
	return &TopicList{View: board.View{Board: "lobby", Loaded: true, Topics: topics, Online: true, Complete: true}, Now: t0.Add(time.Hour)}
}

func contains(t *testing.T, what string, c app.UI, want ...string) {
	t.Helper()
	h := html(c)
	for _, w := range want {
		if !strings.Contains(h, w) {
			t.Errorf("%s: no %q in\n%s", what, w, h)
		}
	}
}

func lacks(t *testing.T, what string, c app.UI, unwanted ...string) {
	t.Helper()
	h := html(c)
	for _, w := range unwanted {
		if strings.Contains(h, w) {
			t.Errorf("%s: %q in\n%s", what, w, h)
		}
	}
}

func TestTopicsNewestFirstAsTextWithTimes(t *testing.T) {
	l := mount(t, list(topic(2, "bob", "<script>x</script>"), topic(1, "ann", "first")))
	h := html(l)
	if i, j := strings.Index(h, `id="topic-2"`), strings.Index(h, `id="topic-1"`); i < 0 || j < i {
		t.Fatalf("topics not newest first:\n%s", h)
	}
	contains(t, "text and times", l, "&lt;script&gt;x&lt;/script&gt;", "58 min ago",
		`datetime="2026-11-21T09:02:00Z"`, `title="Sat 21 Nov 2026 09:02"`, `tabindex="0"`)
	lacks(t, "markup", l, "<script>x")
}

// One clock moves every relative time: the list's Now reaches each item.
func TestTimesFollowTheSharedClock(t *testing.T) {
	l := list(topic(1, "ann", "first"))
	l.Now = t0.Add(time.Minute + 10*time.Second)
	contains(t, "at first", mount(t, l), "just now")
	l = list(topic(1, "ann", "first"))
	l.Now = t0.Add(3*time.Minute + 10*time.Second)
	contains(t, "two minutes on", mount(t, l), "2 min ago")
}

func TestOnlyOwnTopicsOfferEditAndDelete(t *testing.T) {
	mine := topic(1, "ann", "mine")
	mine.Owned = true
	l := mount(t, list(topic(2, "bob", "theirs"), mine))
	h := html(l)
	theirs := h[strings.Index(h, `id="topic-2"`):strings.Index(h, `id="topic-1"`)]
	if strings.Contains(theirs, "edit-button") || strings.Contains(theirs, "delete-button") {
		t.Errorf("a topic the browser holds no token for offers actions:\n%s", theirs)
	}
	contains(t, "own topic", l, `id="edit-button-1"`, ">Delete<")
}

func TestEditingShowsTheDraftWithShortcuts(t *testing.T) {
	mine := topic(1, "ann", "mine")
	mine.Owned = true
	it := &TopicItem{T: mine, Now: t0, Editing: true, C: &controls{editing: 1, editDraft: "new words"}}
	mount(t, it)
	contains(t, "editor", it, `id="edit-1"`, "new words", `aria-keyshortcuts="Control+Enter Meta+Enter Escape"`, ">Save<", ">Cancel<")
	lacks(t, "editor", it, "edit-button-1")
}

func TestOlderTopicsAreOfferedUntilTheOldest(t *testing.T) {
	l := list(topic(2, "ann", "newer"))
	lacks(t, "complete", mount(t, l), `id="older"`)
	l = list(topic(2, "ann", "newer"))
	l.View.Complete = false
	contains(t, "more", mount(t, l), `id="older"`, "Show older topics")
	l = list(topic(2, "ann", "newer"))
	l.View.Complete, l.View.OlderBusy = false, true
	contains(t, "loading", mount(t, l), "Loading older topics…", ` aria-disabled`) // go-app prints "true" bare; the browser gets aria-disabled="true"
	l = list()
	l.View.Complete, l.View.OlderErr = false, "The server cannot be reached."
	contains(t, "failed, every topic deleted", mount(t, l), "Older topics could not be loaded: The server cannot be reached.", "Show older topics")
	lacks(t, "failed, every topic deleted", l, "No topics yet")
}

func TestEmptyAndLoading(t *testing.T) {
	contains(t, "empty", mount(t, list()), "No topics yet. Be the first to post.")
	contains(t, "loading", mount(t, &TopicList{}), "Loading…")
}

func TestQueuedWritesShowAsWaitingOrFailed(t *testing.T) {
	l := list(topic(3, "ann", "mine, edited"), topic(1, "cy", "old"))
	l.View.Topics[0].State = "saving"
	l.View.Posts = []sync.Op{
		{Key: "d", Kind: sync.OpPost, Board: "lobby", Author: "ann", Comment: "too long", Failed: "The comment is too long."},
		{Key: "a", Kind: sync.OpPost, Board: "lobby", Author: "", Comment: "queued first"},
	}
	l.View.Status = sync.Status{Mode: sync.Reconnecting}
	mount(t, l)
	h := html(l)
	order := []string{`id="op-d"`, `id="op-a"`, `id="topic-3"`, `id="topic-1"`}
	for i := 1; i < len(order); i++ {
		if strings.Index(h, order[i-1]) > strings.Index(h, order[i]) {
			t.Fatalf("%s after %s:\n%s", order[i-1], order[i], h)
		}
	}
	contains(t, "queue", l, "The comment is too long.", "not posted", "waiting to send", "anonymous", `class="topic saving"`, ">Discard<")
	live := list(topic(1, "cy", "old"))
	live.View.Posts, live.View.Status = l.View.Posts[1:], sync.Status{Mode: sync.Live}
	contains(t, "live", mount(t, live), "sending…")
}

func TestModeratorDeletesWhatOthersPosted(t *testing.T) {
	mine := topic(1, "ann", "mine")
	mine.Owned = true
	l := list(topic(2, "bob", "theirs"), mine)
	l.View.Moderation = board.ModOn
	mount(t, l)
	contains(t, "moderating", l, "Delete as moderator", `id="edit-button-1"`)
	if n := strings.Count(html(l), "Delete as moderator"); n != 1 {
		t.Errorf("%d moderator deletes, want one (the other topic is the person's own)", n)
	}
	bar := mount(t, &ModeratorBar{State: board.ModOn})
	contains(t, "bar", bar, `id="moderation"`, `role="status"`, "Moderator mode: you can delete any topic.", "Stop moderating")
}

func TestModerationStatesAreSaid(t *testing.T) {
	for state, want := range map[board.Moderation]string{
		board.ModChecking:   "Checking the moderator token…",
		board.ModUnverified: "will be checked when the server can be reached",
		board.ModRefused:    "That is not the moderator token, so nothing can be deleted with it.",
	} {
		bar := mount(t, &ModeratorBar{State: state})
		contains(t, string(state), bar, want, `data-state="`+string(state)+`"`)
		if state == board.ModRefused {
			contains(t, "refused", bar, `role="alert"`, "moderation refused", ">Dismiss<")
		}
	}
}

func TestModerateIsOfferedDiscreetlyInTheFootLandmark(t *testing.T) {
	f := mount(t, &ModeratorForm{})
	contains(t, "closed", f, `id="moderate"`)
	f = mount(t, &ModeratorForm{open: true})
	contains(t, "open", f, `id="moderator-token"`, `type="password"`, `aria-label="Moderator token"`, `autocomplete="off"`)
}

func TestRefusedEditsAndDeletesShowOnTheirTopic(t *testing.T) {
	mine := topic(2, "ann", "also mine")
	mine.Owned = true
	mine.Failed = sync.Op{Key: "d", Kind: sync.OpDelete, TopicID: 2, Failed: "The moderator token was not accepted, so this topic was not deleted."}
	it := mount(t, &TopicItem{T: mine, Now: t0})
	contains(t, "refused delete", it, "Not deleted: The moderator token was not accepted", ">Discard<", `class="topic failed"`)
}

func TestPostFormCountsAndSaysWhatIsWrong(t *testing.T) {
	f := &PostForm{Author: "ann"}
	f.draft, f.drafted, f.err = strings.Repeat("é", shared.MaxCommentChars+1), true, "The comment is too long."
	mount(t, f)
	contains(t, "form", f, "2001/2000", `class="count over"`, `id="error"`, `role="alert"`, `value="ann"`,
		`aria-keyshortcuts="Control+Enter Meta+Enter"`)
}

func TestBoardFromPath(t *testing.T) {
	for path, want := range map[string]string{"/": "lobby", "/b/night-shift": "night-shift", "/b/": "", "/b/Bad": "Bad"} {
		if got := boardFromPath(path); got != want {
			t.Errorf("boardFromPath(%q) = %q, want %q", path, got, want)
		}
	}
}

func TestInvalidBoard(t *testing.T) {
	p := mount(t, &BoardPage{Board: "Bad", Invalid: "not a board"})
	contains(t, "invalid", p, "not a board")
	lacks(t, "invalid", p, `id="post-form"`, `id="status"`)
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
		if got := english.ago(now, now.Add(-tc.d)); got != tc.want {
			t.Errorf("Ago(-%v) = %q, want %q", tc.d, got, tc.want)
		}
	}
	if got := english.ago(now, now.AddDate(0, 0, -10)); got != now.AddDate(0, 0, -10).Local().Format("2 Jan") {
		t.Errorf("Ago(10 days) = %q", got)
	}
	if got := english.ago(now, now.AddDate(-2, 0, 0)); !strings.HasSuffix(got, "2024") {
		t.Errorf("Ago(2 years) = %q", got)
	}
}

func TestStatusText(t *testing.T) {
	now := t0
	for _, tc := range []struct {
		s       sync.Status
		online  bool
		waiting int
		want    string
	}{
		{sync.Status{Mode: sync.Live, Transport: sync.SSE}, true, 0, "live"},
		{sync.Status{Mode: sync.Live, Transport: sync.Polling}, true, 0, "live"},
		{sync.Status{Mode: sync.Live}, true, 2, "live · 2 waiting to send"},
		{sync.Status{Mode: sync.Connecting}, true, 0, "connecting…"},
		{sync.Status{Mode: sync.Reconnecting, RetryAt: now.Add(2500 * time.Millisecond)}, true, 0, "reconnecting in 3 s"},
		{sync.Status{Mode: sync.Reconnecting, RetryAt: now.Add(-time.Second)}, true, 1, "reconnecting… · 1 waiting to send"},
		{sync.Status{Mode: sync.Unreachable, RetryAt: now.Add(4 * time.Second)}, true, 0, "can't reach the server · retrying in 4 s"},
		{sync.Status{Mode: sync.Offline}, false, 0, "you are offline"},
		{sync.Status{Mode: sync.Live}, false, 3, "you are offline · 3 waiting to send"}, // the device knows first
	} {
		if got := StatusText(tc.s, tc.online, tc.waiting, now, english); got != tc.want {
			t.Errorf("StatusText(%+v, online %v, %d) = %q, want %q", tc.s, tc.online, tc.waiting, got, tc.want)
		}
	}
}

// The pill's colours and words meet WCAG AA on the bar (see app.css); its
// data attributes carry the mode and transport for tests and styles.
func TestStatusPill(t *testing.T) {
	p := mount(t, &StatusPill{Status: sync.Status{Mode: sync.Unreachable, LastLive: t0.Add(-3 * time.Minute)}, Online: true, Now: t0})
	contains(t, "pill", p, `data-mode="unreachable"`, `class="status offline"`, `title="Last live 3 min ago"`, `role="status"`)
	p = mount(t, &StatusPill{Status: sync.Status{Mode: sync.Live, Transport: sync.Polling}, Online: true, Now: t0, Leader: true})
	contains(t, "live", p, `data-mode="live"`, `data-transport="polling"`, `data-tab="leader"`, `class="status live"`)
}

func TestBoardNamesAsPeopleTypeThem(t *testing.T) {
	for typed, want := range map[string]string{
		"Night Shift": "night-shift", "  lobby ": "lobby", "night_shift": "night-shift",
		"a -- b": "a-b", "-x-": "x", "ÉCOLE": "école", "": "",
	} {
		if got := boardName(typed); got != want {
			t.Errorf("boardName(%q) = %q, want %q", typed, got, want)
		}
	}
}

func TestPostFormStartsWithTheDraft(t *testing.T) {
	f := mount(t, &PostForm{Draft: "half a thought"})
	contains(t, "draft", f, `value="half a thought"`, "14/2000")
}

func TestJapanese(t *testing.T) {
	now := t0
	for _, tc := range []struct {
		s       sync.Status
		waiting int
		want    string
	}{
		{sync.Status{Mode: sync.Live}, 0, "ライブ"},
		{sync.Status{Mode: sync.Reconnecting, RetryAt: now.Add(3 * time.Second)}, 2, "再接続まで 3 秒 · 送信待ち 2 件"},
		{sync.Status{Mode: sync.Unreachable, RetryAt: now.Add(time.Second)}, 0, "サーバーに接続できません · 再試行まで 1 秒"},
	} {
		if got := StatusText(tc.s, true, tc.waiting, now, japanese); got != tc.want {
			t.Errorf("StatusText(%+v) = %q, want %q", tc.s, got, tc.want)
		}
	}
	for d, want := range map[time.Duration]string{10 * time.Second: "たった今", 2 * time.Minute: "2分前", 3 * time.Hour: "3時間前", 30 * time.Hour: "昨日"} {
		if got := japanese.ago(now, now.Add(-d)); got != want {
			t.Errorf("ago(-%v) = %q, want %q", d, got, want)
		}
	}
	l := list(topic(1, "ann", "first"))
	l.W = japanese
	l.View.Complete = false
	contains(t, "a list in Japanese", mount(t, l), "古いトピックを表示", "59分前")
	f := mount(t, &PostForm{W: japanese})
	contains(t, "a form in Japanese", f, "トピックを書く…", ">投稿<")
	if got := japanese.errorText(&shared.Error{Code: shared.CodeInvalidComment, Message: "The comment is empty."}); !strings.Contains(got, "本文") {
		t.Errorf("a refusal in Japanese: %q", got)
	}
	if got := english.errorText(&shared.Error{Code: shared.CodeInvalidComment, Message: "The comment is empty."}); got != "The comment is empty." {
		t.Errorf("a refusal in English: %q", got)
	}
}

// Every Japanese string is set: a missing one would show as nothing.
func TestEveryWordHasBothLanguages(t *testing.T) {
	for _, w := range []*words{english, japanese} {
		v := reflect.ValueOf(*w)
		for i := range v.NumField() {
			f := v.Field(i)
			if (f.Kind() == reflect.String && f.String() == "") || (f.Kind() == reflect.Func && f.IsNil()) {
				t.Errorf("%s: %s is not set", w.Lang, v.Type().Field(i).Name)
			}
		}
	}
}
