package blocklist

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func mustParse(t *testing.T, text string) *List {
	t.Helper()
	l, err := Parse(strings.NewReader(text))
	if err != nil {
		t.Fatalf("Parse(%q): %v", text, err)
	}
	return l
}

func TestMatch(t *testing.T) {
	for _, tc := range []struct {
		name  string
		list  string
		texts []string
		want  string // the entry reported; "" for no match
	}{
		// Case and compatibility folding.
		{name: "same", list: "spam", texts: []string{"spam"}, want: "spam"},
		{name: "upper", list: "spam", texts: []string{"SPAM"}, want: "spam"},
		{name: "title with punctuation", list: "spam", texts: []string{"Spam!"}, want: "spam"},
		{name: "full-width upper", list: "spam", texts: []string{"ＳＰＡＭ"}, want: "spam"},
		{name: "full-width lower", list: "spam", texts: []string{"ｓｐａｍ"}, want: "spam"},
		{name: "mathematical bold", list: "spam", texts: []string{"𝐒𝐏𝐀𝐌"}, want: "spam"},
		{name: "circled letters", list: "spam", texts: []string{"ⓢⓟⓐⓜ"}, want: "spam"},
		{name: "entry written in capitals", list: "SPAM", texts: []string{"spam"}, want: "spam"},
		{name: "entry written full-width", list: "ｓｐａｍ", texts: []string{"Spam"}, want: "spam"},
		{name: "ligature in text", list: "find", texts: []string{"ﬁnd"}, want: "find"},
		{name: "ligature in entry", list: "ﬁnd", texts: []string{"FIND"}, want: "find"},
		{name: "German sharp s entry, SS text", list: "straße", texts: []string{"STRASSE"}, want: "strasse"},
		{name: "German sharp s entry, ss text", list: "straße", texts: []string{"strasse"}, want: "strasse"},
		{name: "German SS entry, sharp s text", list: "strasse", texts: []string{"Straße"}, want: "strasse"},
		{name: "capital sharp s", list: "straße", texts: []string{"STRAẞE"}, want: "strasse"},
		{name: "Greek final sigma", list: "σοφοσ", texts: []string{"ΣΟΦΟΣ"}, want: "σοφοσ"},
		{name: "Greek final sigma in text", list: "σοφοσ", texts: []string{"σοφος"}, want: "σοφοσ"},
		{name: "precomposed and decomposed accents", list: "café", texts: []string{"CAFE\u0301"}, want: "café"},
		{name: "decomposed entry", list: "cafe\u0301", texts: []string{"Café"}, want: "café"},
		{name: "accent matters", list: "café", texts: []string{"cafe"}},
		{name: "Cyrillic", list: "спам", texts: []string{"СПАМ!"}, want: "спам"},
		{name: "full-width digits", list: "1312", texts: []string{"１３１２"}, want: "1312"},

		// Whole words.
		{name: "inside a sentence", list: "spam", texts: []string{"Please, no spam in here."}, want: "spam"},
		{name: "at the start", list: "spam", texts: []string{"spam, again"}, want: "spam"},
		{name: "between punctuation", list: "spam", texts: []string{"(spam)"}, want: "spam"},
		{name: "between underscores", list: "spam", texts: []string{"__spam__"}, want: "spam"},
		{name: "next to digits is one word", list: "spam", texts: []string{"spam4you"}},
		{name: "next to an emoji", list: "spam", texts: []string{"🥫spam🥫"}, want: "spam"},
		{name: "across lines", list: "spam", texts: []string{"hello\nSPAM\nbye"}, want: "spam"},
		{name: "a longer word", list: "spam", texts: []string{"spammer"}},
		{name: "a word ending in it", list: "spam", texts: []string{"antispam"}},
		{name: "a word containing it", list: "spam", texts: []string{"nospamplease"}},
		{name: "a shorter word", list: "spam", texts: []string{"spa"}},
		{name: "nothing", list: "spam", texts: []string{"ham and eggs"}},
		{name: "empty text", list: "spam", texts: []string{""}},
		{name: "no texts", list: "spam"},

		// Prefixes.
		{name: "prefix: the word", list: "spam*", texts: []string{"spam"}, want: "spam"},
		{name: "prefix: longer word", list: "spam*", texts: []string{"I am a spammer"}, want: "spam"},
		{name: "prefix: folded", list: "spam*", texts: []string{"ＳＰＡＭＭＥＲ"}, want: "spam"},
		{name: "prefix: not a suffix", list: "spam*", texts: []string{"antispam"}},
		{name: "prefix with space before the star", list: "spam *", texts: []string{"spamming"}, want: "spam"},
		{name: "prefix: last word of a phrase", list: "buy no*", texts: []string{"BUY NOW"}, want: "buy no"},
		{name: "prefix: only the last word", list: "buy no*", texts: []string{"buying now"}},

		// Phrases.
		{name: "phrase", list: "buy now", texts: []string{"buy now"}, want: "buy now"},
		{name: "phrase, spacing and case", list: "buy now", texts: []string{"Buy   NOW"}, want: "buy now"},
		{name: "phrase, hyphen", list: "buy now", texts: []string{"buy-now"}, want: "buy now"},
		{name: "phrase, across a line break", list: "buy now", texts: []string{"buy\nnow"}, want: "buy now"},
		{name: "phrase, punctuation", list: "buy now", texts: []string{"Buy... now!!!"}, want: "buy now"},
		{name: "phrase, in a sentence", list: "buy now", texts: []string{"Great deals, buy now while stocks last"}, want: "buy now"},
		{name: "phrase, full-width", list: "buy now", texts: []string{"ＢＵＹ　ＮＯＷ"}, want: "buy now"},
		{name: "phrase with a word between", list: "buy now", texts: []string{"buy it now"}},
		{name: "phrase reversed", list: "buy now", texts: []string{"now buy"}},
		{name: "phrase, one word only", list: "buy now", texts: []string{"buy"}},
		{name: "phrase, run together", list: "buy now", texts: []string{"buynow"}},
		{name: "phrase, part of a longer word", list: "buy now", texts: []string{"buy nowhere"}},
		{name: "phrase entry with a hyphen", list: "buy-now", texts: []string{"buy now"}, want: "buy now"},
		{name: "phrase entry spaced oddly", list: "  buy \t now  ", texts: []string{"buy now"}, want: "buy now"},
		{name: "phrase at the end", list: "buy now", texts: []string{"please buy now"}, want: "buy now"},

		// Several texts (author and comment).
		{name: "in the author", list: "spam", texts: []string{"Spammy McSPAM Spam", "a fine comment"}, want: "spam"},
		{name: "in the comment", list: "spam", texts: []string{"alice", "spam spam spam"}, want: "spam"},
		{name: "phrase not split over texts", list: "buy now", texts: []string{"buy", "now"}},
		{name: "in neither", list: "spam", texts: []string{"alice", "hello"}},
		{name: "empty author", list: "spam", texts: []string{"", "SPAM"}, want: "spam"},

		// Several entries.
		{name: "second entry", list: "spam\neggs", texts: []string{"green eggs"}, want: "eggs"},
		{name: "first entry holding it", list: "ham\nspam\neggs", texts: []string{"eggs and spam"}, want: "spam"},
		{name: "none of several", list: "ham\nspam\neggs", texts: []string{"toast"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := mustParse(t, tc.list)
			got, found := l.Match(tc.texts...)
			if found != (tc.want != "") || got != tc.want {
				t.Errorf("list %q, Match(%q) = %q, %v; want %q, %v", tc.list, tc.texts, got, found, tc.want, tc.want != "")
			}
		})
	}
}

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		name string
		text string
		n    int
	}{
		{name: "empty", text: "", n: 0},
		{name: "blank lines", text: "\n\n   \n\t\n", n: 0},
		{name: "comments only", text: "# a comment\n  # an indented comment\n#\n", n: 0},
		{name: "words", text: "spam\neggs\nham\n", n: 3},
		{name: "no final newline", text: "spam\neggs", n: 2},
		{name: "CRLF", text: "spam\r\neggs\r\n", n: 2},
		{name: "mixed", text: "# words\nspam\n\n  eggs  \n# phrases\nbuy now\nspam*\n", n: 4},
		{name: "a # inside a line is part of it", text: "c#\n", n: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if n := mustParse(t, tc.text).Len(); n != tc.n {
				t.Errorf("Parse(%q).Len() = %d, want %d", tc.text, n, tc.n)
			}
		})
	}

	// Comments are not entries.
	l := mustParse(t, "# spam\nham\n")
	if e, found := l.Match("spam"); found {
		t.Errorf("a commented-out word matched: %q", e)
	}
	if _, found := l.Match("ham"); !found {
		t.Error("ham did not match")
	}
	// CRLF does not glue a \r to the word.
	l = mustParse(t, "spam\r\n")
	if _, found := l.Match("SPAM"); !found {
		t.Error("an entry from a CRLF file did not match")
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		text string
		line string // "line N"
	}{
		{text: "!!!", line: "line 1"},
		{text: "*", line: "line 1"},
		{text: "spam\n---\n", line: "line 2"},
		{text: "# header\n\nspam\n  ... \neggs\n", line: "line 4"},
		{text: "spam\r\n\r\n😀\r\n", line: "line 3"},
		{text: "spam\n\n\n\n\n\n\n\n\n$$\n", line: "line 10"},
	} {
		l, err := Parse(strings.NewReader(tc.text))
		if err == nil {
			t.Errorf("Parse(%q) = %d entries, want an error", tc.text, l.Len())
			continue
		}
		msg := err.Error()
		if !strings.Contains(msg, tc.line+" ") || !strings.Contains(msg, "letters or digits") {
			t.Errorf("Parse(%q) error %q, want it to name %s and say it has no letters or digits", tc.text, msg, tc.line)
		}
	}
}

// A file saved with a UTF-8 byte order mark (as some Windows editors do)
// reads the same as one without: its first line may be a comment.
func TestParseByteOrderMark(t *testing.T) {
	l, err := Parse(strings.NewReader("\uFEFF# words this board does not allow\nspam\n"))
	if err != nil {
		t.Fatal(err)
	}
	if n := l.Len(); n != 1 {
		t.Errorf("Len = %d, want 1: the commented first line became an entry", n)
	}
	if e, found := l.Match("Are there words this board does not allow?"); found {
		t.Errorf("the comment on the first line blocks posts: matched %q", e)
	}
	if _, err := Parse(strings.NewReader("\uFEFF#\nspam\n")); err != nil {
		t.Errorf("a bare # after a byte order mark: %v", err)
	}
	// A BOM before a word is not part of the word.
	l, err = Parse(strings.NewReader("\uFEFFspam\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, found := l.Match("spam"); !found {
		t.Error("the first entry after a byte order mark does not match")
	}
}

func TestEmptyAndNilListsBlockNothing(t *testing.T) {
	var nilList *List
	for name, l := range map[string]*List{
		"nil":           nilList,
		"zero":          {},
		"parsed empty":  mustParse(t, ""),
		"comments only": mustParse(t, "# spam\n\n"),
	} {
		if n := l.Len(); n != 0 {
			t.Errorf("%s: Len = %d", name, n)
		}
		for _, texts := range [][]string{nil, {""}, {"spam"}, {"anything at all", "SPAM"}} {
			if e, found := l.Match(texts...); found || e != "" {
				t.Errorf("%s: Match(%q) = %q, %v", name, texts, e, found)
			}
		}
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.txt")
	if err := os.WriteFile(good, []byte("# list\nspam\nbuy now\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	l, err := Load(good)
	if err != nil {
		t.Fatal(err)
	}
	if l.Len() != 2 {
		t.Errorf("Len = %d, want 2", l.Len())
	}
	if e, found := l.Match("Buy NOW!"); !found || e != "buy now" {
		t.Errorf("Match = %q, %v", e, found)
	}

	missing := filepath.Join(dir, "missing.txt")
	if _, err := Load(missing); err == nil || !strings.Contains(err.Error(), "--blocklist-file") ||
		!strings.Contains(err.Error(), "missing.txt") {
		t.Errorf("Load(missing) error = %v, want one naming --blocklist-file and the file", err)
	}

	bad := filepath.Join(dir, "bad.txt")
	if err := os.WriteFile(bad, []byte("spam\n???\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = Load(bad)
	if err == nil {
		t.Fatal("Load(bad) passed")
	}
	for _, want := range []string{"--blocklist-file", bad, "line 2"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Load(bad) error %q does not mention %q", err, want)
		}
	}

	if _, err := Load(dir); err == nil {
		t.Error("Load(a directory) passed")
	}
}

func TestMatchConcurrent(t *testing.T) {
	l := mustParse(t, "spam\nbuy now\nstraße\n")
	done := make(chan bool)
	for range 8 {
		go func() {
			ok := true
			for range 200 {
				_, a := l.Match("ＳＰＡＭ")
				_, b := l.Match("Buy-Now")
				_, c := l.Match("STRASSE")
				_, d := l.Match("spammer")
				ok = ok && a && b && c && !d
			}
			done <- ok
		}()
	}
	for range 8 {
		if !<-done {
			t.Error("a concurrent Match gave a wrong answer")
		}
	}
}

// TestInvisibleCharactersDoNotHideWords: zero-width and other format
// characters inside a word are ignored, and an over-long line is refused
// with its number.
func TestInvisibleCharactersDoNotHideWords(t *testing.T) {
	l, err := Parse(strings.NewReader("spam\n"))
	if err != nil {
		t.Fatal(err)
	}
	for _, text := range []string{"s\u200bpam", "sp\u00adam", "\u2060spam\ufeff", "ｓ\u200dｐａｍ"} {
		if _, ok := l.Match(text); !ok {
			t.Errorf("%q slipped past the blocklist", text)
		}
	}
	_, err = Parse(strings.NewReader("ok\n" + strings.Repeat("x", 70<<10) + "\n"))
	if err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Fatalf("an over-long line gave %v, want an error naming line 2", err)
	}
}
