// Package blocklist refuses posts that hold words a board's operator does
// not allow. Text and list are compared after Unicode compatibility
// folding (NFKC: full-width "ＳＰＡＭ" is "SPAM", ligatures split) and case
// folding, word by word, so "Spam" and "ｓｐａｍ" match "spam" while
// "spammer" and "antispam" do not, unless the entry is "spam*".
package blocklist

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// List is a loaded blocklist. The zero List and a nil *List block nothing.
type List struct {
	entries []entry
}

// entry is one line of the file: a word or a phrase of several words. When
// prefix is set its last word matches any word that begins with it.
type entry struct {
	words  []string
	prefix bool
}

// Load reads a blocklist file: one word or phrase per line; blank lines and
// lines starting with # are ignored; a trailing * matches word beginnings.
func Load(path string) (*List, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("--blocklist-file: %w", err)
	}
	defer f.Close()
	l, err := Parse(f)
	if err != nil {
		return nil, fmt.Errorf("--blocklist-file %s: %w", path, err)
	}
	return l, nil
}

// maxLine bounds one line of the file.
const maxLine = 64 << 10

// Parse reads a blocklist from r (the format of Load).
func Parse(r io.Reader) (*List, error) {
	l := &List{}
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, maxLine)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if n == 1 {
			// Some editors start a UTF-8 file with a byte order mark.
			line = strings.TrimSpace(strings.TrimPrefix(line, "\uFEFF"))
		}
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		e := entry{}
		text, prefix := strings.CutSuffix(line, "*")
		e.prefix = prefix
		e.words = words(text)
		if len(e.words) == 0 {
			return nil, fmt.Errorf("line %d (%q) has no letters or digits to match", n, line)
		}
		l.entries = append(l.entries, e)
	}
	if errors.Is(sc.Err(), bufio.ErrTooLong) {
		return nil, fmt.Errorf("line %d is longer than %d KiB; put one word or phrase on each line", n+1, maxLine>>10)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return l, nil
}

// Len is the number of entries.
func (l *List) Len() int {
	if l == nil {
		return 0
	}
	return len(l.entries)
}

// Match reports the first entry any of texts holds, as written in the
// list's folded form, and whether there was one.
func (l *List) Match(texts ...string) (string, bool) {
	if l.Len() == 0 {
		return "", false
	}
	for _, t := range texts {
		ws := words(t)
		for _, e := range l.entries {
			if e.in(ws) {
				return strings.Join(e.words, " "), true
			}
		}
	}
	return "", false
}

func (e entry) in(ws []string) bool {
	last := len(e.words) - 1
	for i := 0; i+last < len(ws); i++ {
		ok := true
		for j, w := range e.words {
			got := ws[i+j]
			if got != w && !(e.prefix && j == last && strings.HasPrefix(got, w)) {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

// fold maps s to the form the list is compared in. A cases.Caser keeps
// state, so each call makes its own; NFKC runs again after case folding
// because folding can leave text that is not in normal form.
func fold(s string) string {
	return norm.NFKC.String(cases.Fold().String(norm.NFKC.String(s)))
}

// words drops format characters, folds s and splits it into runs of letters, digits and combining
// marks; everything else separates words.
func words(s string) []string {
	// Invisible format characters (zero-width space, soft hyphen) are
	// dropped first: "s\u200bpam" must not slip past "spam".
	s = strings.Map(func(r rune) rune {
		if unicode.Is(unicode.Cf, r) {
			return -1
		}
		return r
	}, s)
	return strings.FieldsFunc(fold(s), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r) && !unicode.IsMark(r)
	})
}
