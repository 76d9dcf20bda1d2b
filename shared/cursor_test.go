package shared

import (
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

func TestParseCursor(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Cursor
		ok   bool
	}{
		{name: "simple", in: "abc.1", want: Cursor{"abc", 1}, ok: true},
		{name: "zero seq", in: "e1.0", want: Cursor{"e1", 0}, ok: true},
		{name: "mixed case epoch", in: "AbC123xYz.42", want: Cursor{"AbC123xYz", 42}, ok: true},
		{name: "digit-only epoch", in: "0.0", want: Cursor{"0", 0}, ok: true},
		{name: "max int64", in: "e.9223372036854775807", want: Cursor{"e", math.MaxInt64}, ok: true},
		{name: "64-char epoch", in: strings.Repeat("Z", 64) + ".7", want: Cursor{strings.Repeat("Z", 64), 7}, ok: true},
		// As written: leading zeros are accepted and String() gives the
		// canonical form, so the round trip holds for the Cursor value.
		{name: "leading zeros", in: "e.007", want: Cursor{"e", 7}, ok: true},
		{name: "19 digits with leading zeros", in: "e.0000000000000000001", want: Cursor{"e", 1}, ok: true},

		{name: "empty", in: ""},
		{name: "only dot", in: "."},
		{name: "no dot", in: "abc"},
		{name: "no dot digits", in: "123"},
		{name: "empty epoch", in: ".1"},
		{name: "empty seq", in: "abc."},
		{name: "two dots", in: "a.1.2"},
		{name: "double dot", in: "a..1"},
		{name: "trailing dot", in: "a.1."},
		{name: "negative", in: "a.-1"},
		{name: "minus zero", in: "a.-0"},
		{name: "plus sign", in: "a.+1"},
		{name: "overflow max int64 + 1", in: "a.9223372036854775808"},
		{name: "overflow 20 digits", in: "a.99999999999999999999"},
		{name: "overflow many digits", in: "a." + strings.Repeat("9", 100)},
		{name: "20 digits with leading zeros", in: "a.00000000000000000001"},
		{name: "hex seq", in: "a.0x1F"},
		{name: "underscore in seq", in: "a.1_000"},
		{name: "exponent", in: "a.1e3"},
		{name: "fractional", in: "a.1.5"},
		{name: "space before", in: " a.1"},
		{name: "space after", in: "a.1 "},
		{name: "space inside seq", in: "a.1 2"},
		{name: "space after dot", in: "a. 1"},
		{name: "newline after", in: "a.1\n"},
		{name: "tab in epoch", in: "a\tb.1"},
		{name: "dash in epoch", in: "a-b.1"},
		{name: "underscore in epoch", in: "a_b.1"},
		{name: "65-char epoch", in: strings.Repeat("Z", 65) + ".7"},
		{name: "arabic-indic digit seq", in: "a.\u0661"},
		{name: "fullwidth digit seq", in: "a.１"},
		{name: "unicode digit epoch", in: "\u0661.1"},
		{name: "unicode letter epoch", in: "é.1"},
		{name: "NUL in seq", in: "a.1\x00"},
		{name: "invalid UTF-8", in: "\xff.1"},
		{name: "letter seq", in: "a.b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := ParseCursor(tt.in)
			if ok != tt.ok {
				t.Fatalf("ParseCursor(%q) ok = %v, want %v (cursor %+v)", tt.in, ok, tt.ok, got)
			}
			if !ok {
				if got != (Cursor{}) {
					t.Fatalf("ParseCursor(%q) = %+v with ok=false, want the zero Cursor", tt.in, got)
				}
				return
			}
			if got != tt.want {
				t.Fatalf("ParseCursor(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
			if back, ok := ParseCursor(got.String()); !ok || back != got {
				t.Fatalf("round trip of %q: ParseCursor(%q) = %+v, %v", tt.in, got.String(), back, ok)
			}
		})
	}
}

func TestCursorString(t *testing.T) {
	tests := []struct {
		c    Cursor
		want string
	}{
		{Cursor{"abc", 0}, "abc.0"},
		{Cursor{"abc", 1}, "abc.1"},
		{Cursor{"K9x", 1234567890}, "K9x.1234567890"},
		{Cursor{"e", math.MaxInt64}, "e.9223372036854775807"},
		{Cursor{strings.Repeat("a", 64), 5}, strings.Repeat("a", 64) + ".5"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := tt.c.String(); got != tt.want {
				t.Fatalf("String() = %q, want %q", got, tt.want)
			}
			back, ok := ParseCursor(tt.c.String())
			if !ok || back != tt.c {
				t.Fatalf("ParseCursor(%q) = %+v, %v; want %+v, true", tt.c.String(), back, ok, tt.c)
			}
		})
	}
}

// cursorPattern is the contract's form with the implementation's caps: at
// most 64 epoch bytes and 19 seq digits (an int64 never needs more, though
// that also rejects 20+ digits with leading zeros). The int64 range is
// checked separately.
var cursorPattern = regexp.MustCompile(`^[A-Za-z0-9]{1,64}\.[0-9]{1,19}$`)

func FuzzParseCursor(f *testing.F) {
	for _, seed := range []string{
		"", ".", "abc.1", "e.0", "a.1.2", "a.-1", "a.99999999999999999999",
		"e.9223372036854775807", "e.9223372036854775808", "e.007", "0." + strings.Repeat("0", 32), " a.1", "a.\u0661", "é.1",
		strings.Repeat("Z", 64) + ".1", strings.Repeat("Z", 65) + ".1",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, ok := ParseCursor(s)

		// Reference: the contract's grammar plus the int64 range.
		wantOK := cursorPattern.MatchString(s)
		if wantOK {
			_, seqText, _ := strings.Cut(s, ".")
			_, err := strconv.ParseInt(seqText, 10, 64)
			wantOK = err == nil
		}
		if ok != wantOK {
			t.Fatalf("ParseCursor(%q) ok = %v, reference says %v", s, ok, wantOK)
		}
		if !ok {
			if c != (Cursor{}) {
				t.Fatalf("ParseCursor(%q) = %+v with ok=false", s, c)
			}
			return
		}
		if c.Seq < 0 {
			t.Fatalf("ParseCursor(%q) gave negative seq %d", s, c.Seq)
		}
		back, ok := ParseCursor(c.String())
		if !ok || back != c {
			t.Fatalf("round trip: ParseCursor(%q) = %+v, %v; want %+v", c.String(), back, ok, c)
		}
		// Without leading zeros the string itself is canonical.
		if _, seqText, _ := strings.Cut(s, "."); seqText == "0" || seqText[0] != '0' {
			if c.String() != s {
				t.Fatalf("String() = %q, want the input %q back", c.String(), s)
			}
		}
	})
}
