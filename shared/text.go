package shared

import (
	"fmt"
	"unicode"
)

// Text that draws where it should not. A name is shown inline, next to
// the time and the buttons, so a direction control in it reorders what
// follows ("admin\u202Etxt.exe" reads "adminexe.txt"), and an invisible
// character makes two names look alike. A comment has its own box, but
// one made only of invisible characters looks like an empty post, and a
// letter under hundreds of combining marks draws over the header.

// MaxCombiningMarks is how many combining marks may follow one character.
// Vietnamese and Thai stack two, pointed Hebrew three or four; a keycap
// emoji (1️⃣) has two. More is "Zalgo" text, drawn far outside its line.
const MaxCombiningMarks = 4

// isBidiControl reports the invisible marks that change the direction of
// the text around them: the marks (LRM, RLM, ALM), embeddings and
// overrides (U+202A–202E) and isolates (U+2066–2069).
func isBidiControl(r rune) bool {
	return r == 0x200E || r == 0x200F || r == 0x061C || r >= 0x202A && r <= 0x202E || r >= 0x2066 && r <= 0x2069
}

// isCombining reports a combining mark: drawn on the character before it.
func isCombining(r rune) bool { return unicode.In(r, unicode.Mn, unicode.Me) }

// isPictographic approximates Unicode's Extended_Pictographic (which Go's
// unicode package lacks) by the blocks where emoji live: enough to tell a
// zero-width joiner inside 👩‍💻 from one between letters.
func isPictographic(r rune) bool {
	return r == 0x00A9 || r == 0x00AE || r == 0x203C || r == 0x2049 || r == 0x2122 || r == 0x2139 ||
		r >= 0x2194 && r <= 0x21AA || r >= 0x231A && r <= 0x23FF || r >= 0x24C2 && r <= 0x25FF ||
		r >= 0x2600 && r <= 0x27BF || r >= 0x2934 && r <= 0x2935 || r >= 0x2B05 && r <= 0x2B55 ||
		r == 0x3030 || r == 0x303D || r == 0x3297 || r == 0x3299 || r >= 0x1F000 && r <= 0x1FAFF
}

// emojiTail is what may follow an emoji before a joiner: a variation
// selector (U+FE0E/F) or a skin tone (U+1F3FB–1F3FF).
func emojiTail(r rune) bool { return r == 0xFE0E || r == 0xFE0F || r >= 0x1F3FB && r <= 0x1F3FF }

// isTag reports the tag characters of subdivision flags (🏴 + tags).
func isTag(r rune) bool { return r >= 0xE0020 && r <= 0xE007F }

// isVisible reports whether r leaves ink: not a space, not a format
// character, not a mark alone, not one of the letters that draw nothing
// (the Hangul fillers, the blank Braille pattern).
func isVisible(r rune) bool {
	switch r {
	case 0x115F, 0x1160, 0x3164, 0xFFA0, 0x2800, 0x17B4, 0x17B5, 0x034F:
		return false
	}
	return unicode.IsGraphic(r) && !unicode.IsSpace(r) && !isCombining(r) && !unicode.Is(unicode.Cf, r)
}

// hasVisible reports whether s has at least one character that leaves ink.
func hasVisible(s string) bool {
	for _, r := range s {
		if isVisible(r) {
			return true
		}
	}
	return false
}

// tooManyMarks returns the first character followed by more than
// MaxCombiningMarks combining marks, or -1.
func tooManyMarks(s string) int {
	run, start := 0, 0
	for i, r := range s {
		if !isCombining(r) {
			run, start = 0, i
			continue
		}
		if run++; run > MaxCombiningMarks {
			return start
		}
	}
	return -1
}

// nameCharProblem describes the first character a name may not hold
// (direction controls anywhere; invisible format characters unless they
// join an emoji sequence), or "" when there is none.
func nameCharProblem(s string) string {
	rs := []rune(s)
	for i, r := range rs {
		switch {
		case isBidiControl(r):
			return fmt.Sprintf("contains the direction control %U, which would reorder the text around the name; remove it", r)
		case r == 0x200D && joinsEmoji(rs, i):
		case isTag(r) && inFlag(rs, i):
		case unicode.Is(unicode.Cf, r) || isTag(r):
			return fmt.Sprintf("contains the invisible character %U; remove it (it is allowed only inside an emoji such as 👩‍💻)", r)
		}
	}
	return ""
}

// joinsEmoji reports whether the joiner at rs[i] sits between two emoji.
func joinsEmoji(rs []rune, i int) bool {
	j := i - 1
	for j >= 0 && emojiTail(rs[j]) {
		j--
	}
	return j >= 0 && i+1 < len(rs) && isPictographic(rs[j]) && isPictographic(rs[i+1])
}

// inFlag reports whether the tag at rs[i] follows a black flag (🏴) and
// only tags since.
func inFlag(rs []rune, i int) bool {
	j := i - 1
	for j >= 0 && isTag(rs[j]) {
		j--
	}
	return j >= 0 && rs[j] == 0x1F3F4
}
