package shared

import (
	"strings"
	"testing"
)

func TestAuthorCharacters(t *testing.T) {
	for _, tt := range []struct {
		name, in string
		ok       bool
	}{
		{"Japanese", "相沢 愛子", true},
		{"Arabic (right to left, no controls)", "ليلى", true},
		{"emoji ZWJ sequence", "👩‍💻 Aiko", true},
		{"family emoji", "👨‍👩‍👧‍👦", true},
		{"skin tone then joiner", "🧑🏽‍🚒", true},
		{"rainbow flag with VS16", "🏳️‍🌈", true},
		{"Scotland subdivision flag", "🏴\U000E0067\U000E0062\U000E0073\U000E0063\U000E0074\U000E007F", true},
		{"keycap", "1️⃣", true},
		{"Vietnamese decomposed (2 marks)", "Nguye\u0302\u0303n", true},
		{"four marks", "a\u0301\u0302\u0303\u0304", true},

		{"right-to-left override", "admin\u202Etxt.exe", false},
		{"left-to-right mark", "Aiko\u200E", false},
		{"right-to-left mark", "\u200FAiko", false},
		{"isolate", "\u2066Aiko\u2069", false},
		{"Arabic letter mark", "Aiko\u061C", false},
		{"zero-width space", "Ai\u200Bko", false},
		{"zero-width joiner between letters", "Ai\u200Dko", false},
		{"joiner at the end of an emoji", "👩\u200D", false},
		{"zero-width non-joiner", "Ai\u200Cko", false},
		{"word joiner", "Ai\u2060ko", false},
		{"byte order mark", "\uFEFFAiko", false},
		{"soft hyphen", "Ai\u00ADko", false},
		{"tag outside a flag", "Aiko\U000E0041", false},
		{"only zero-width spaces", "\u200B\u200B", false},
		{"only a Hangul filler", "\u3164", false},
		{"five marks", "a\u0301\u0302\u0303\u0304\u0305", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := NormalizeAuthor(tt.in)
			if tt.ok {
				if err != nil || got != tt.in {
					t.Fatalf("NormalizeAuthor(%q) = %q, %v; want it kept", tt.in, got, err)
				}
				return
			}
			e := checkError(t, err, CodeInvalidAuthor)
			if !strings.Contains(e.Message, "U+") && !strings.Contains(e.Message, "visible") && !strings.Contains(e.Message, "marks") {
				t.Errorf("message does not say what to remove: %q", e.Message)
			}
		})
	}
}

func TestCommentCharacters(t *testing.T) {
	for _, tt := range []struct {
		name, in string
		ok       bool
	}{
		{"Hebrew with a right-to-left mark (allowed in comments)", "שלום\u200F!", true},
		{"Japanese with a zero-width space", "これは\u200Bテスト", true},
		{"one emoji", "👍", true},
		{"one dot", ".", true},
		{"Thai with tone marks", "ก่ำ", true},
		{"pointed Hebrew (3 marks)", "שָּׁ", true},

		{"zero-width spaces only", "\u200B\u200B\u200B", false},
		{"joiners and a BOM only", "\u200D\uFEFF\u2060", false},
		{"Hangul fillers only", "\u3164\u3164", false},
		{"blank Braille only", "\u2800", false},
		{"combining marks only", "\u0301\u0302", false},
		{"ideographic spaces and a ZWSP", "\u3000\u200B\u3000", false},
		{"direction marks only", "\u200E\u200F", false},
		{"Zalgo", "H" + strings.Repeat("\u0336\u0334", 1000), false},
		{"five marks on one letter", "e\u0301\u0301\u0301\u0301\u0301", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := NormalizeComment(tt.in)
			if tt.ok {
				if err != nil || got != tt.in {
					t.Fatalf("NormalizeComment(%q) = %q, %v; want it kept", tt.in, got, err)
				}
				return
			}
			checkError(t, err, CodeInvalidComment)
		})
	}
}
