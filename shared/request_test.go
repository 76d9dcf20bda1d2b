package shared

import (
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// maxMessageBytes bounds every error message: a hostile input must never be
// echoed back at length.
const maxMessageBytes = 300

// checkError asserts that err is an *Error (possibly wrapped) with the given
// code and a non-empty, short message.
func checkError(t *testing.T, err error, code Code) *Error {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want code %q", code)
	}
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not a *shared.Error", err, err)
	}
	if e.Code != code {
		t.Errorf("code = %q, want %q (message %q)", e.Code, code, e.Message)
	}
	if strings.TrimSpace(e.Message) == "" {
		t.Errorf("code %q has an empty message", e.Code)
	}
	if len(e.Message) >= maxMessageBytes {
		t.Errorf("message is %d bytes, want under %d: %.120q…", len(e.Message), maxMessageBytes, e.Message)
	}
	if !utf8.ValidString(e.Message) {
		t.Errorf("message is not valid UTF-8: %q", e.Message)
	}
	return e
}

var (
	boardPattern          = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,63}$`)
	idempotencyKeyPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{22,64}$`)
)

func TestValidateBoard(t *testing.T) {
	tests := []struct {
		name string
		in   string
		ok   bool
	}{
		{"single letter", "a", true},
		{"single digit", "0", true},
		{"word", "news", true},
		{"dash inside", "kairan-dev", true},
		{"double dash", "a--b", true},
		{"trailing dash", "a-", true},
		{"digits and dashes", "2024-10-01", true},
		{"64 chars", strings.Repeat("a", 64), true},
		{"letter then 63 dashes", "a" + strings.Repeat("-", 63), true},

		{"empty", "", false},
		{"65 chars", strings.Repeat("a", 65), false},
		{"leading dash", "-news", false},
		{"only dash", "-", false},
		{"upper case", "News", false},
		{"all upper case", "NEWS", false},
		{"underscore", "a_b", false},
		{"dot", "a.b", false},
		{"slash", "a/b", false},
		{"dot dot", "..", false},
		{"space inside", "a b", false},
		{"leading space", " news", false},
		{"trailing space", "news ", false},
		{"trailing newline", "news\n", false},
		{"NUL", "news\x00", false},
		{"DEL", "news\x7f", false},
		{"invalid UTF-8", "news\xff", false},
		{"accented letter", "café", false},
		{"arabic-indic digit", "\u0661", false},
		{"fullwidth letter", "ａ", false},
		{"percent-encoded", "a%2Fb", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := boardPattern.MatchString(tt.in); got != tt.ok {
				t.Fatalf("test table disagrees with the contract regexp for %q: regexp says %v", tt.in, got)
			}
			err := ValidateBoard(tt.in)
			if tt.ok {
				if err != nil {
					t.Fatalf("ValidateBoard(%q) = %v, want nil", tt.in, err)
				}
				return
			}
			checkError(t, err, CodeInvalidBoard)
		})
	}
}

func TestValidateIdempotencyKey(t *testing.T) {
	tests := []struct {
		name string
		in   string
		ok   bool
	}{
		{"22 chars (128 bits of base64url)", strings.Repeat("a", 22), true},
		{"crypto/rand.Text (26 chars)", "JBSWY3DPEHPK3PXPJBSWY3DPEH", true},
		{"dashes and underscores", "-_-_-_-_-_-_-_-_-_-_-_", true},
		{"uuid", "3f2504e0-4f89-11d3-9a0c-0305e82c3301", true},
		{"mixed case", "AbC_dEf-123-AbC_dEf-123", true},
		{"64 chars", strings.Repeat("K", 64), true},

		{"single char", "a", false},
		{"short word", "AbC_dEf-123", false},
		{"21 chars", strings.Repeat("a", 21), false},

		{"empty", "", false},
		{"65 chars", strings.Repeat("K", 65), false},
		{"space", "a b", false},
		{"leading space", " a", false},
		{"trailing space", "a ", false},
		{"dot", "a.b", false},
		{"plus", "a+b", false},
		{"slash", "a/b", false},
		{"equals (base64 padding)", "YWJj=", false},
		{"colon", "a:b", false},
		{"NUL", "a\x00", false},
		{"newline", "a\n", false},
		{"invalid UTF-8", "a\xff", false},
		{"accented letter", "é", false},
		{"unicode digit", "\u0661", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := idempotencyKeyPattern.MatchString(tt.in); got != tt.ok {
				t.Fatalf("test table disagrees with the contract regexp for %q: regexp says %v", tt.in, got)
			}
			err := ValidateIdempotencyKey(tt.in)
			if tt.ok {
				if err != nil {
					t.Fatalf("ValidateIdempotencyKey(%q) = %v, want nil", tt.in, err)
				}
				return
			}
			checkError(t, err, CodeInvalidIdempotencyKey)
		})
	}
}

func TestNormalizeComment(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    string // when wantErr is false
		wantErr bool
		inMsg   string // when wantErr: a substring the message must contain
	}{
		{name: "plain", in: "hello", want: "hello"},
		{name: "single rune", in: "x", want: "x"},
		{name: "surrounding spaces trimmed", in: "  hello  ", want: "hello"},
		{name: "surrounding newlines and tabs trimmed", in: "\n\t hello \t\n", want: "hello"},
		{name: "unicode spaces trimmed", in: "\u00a0\u3000hello\u2003", want: "hello"},
		{name: "inner spaces kept", in: "a  b", want: "a  b"},
		{name: "tab inside allowed", in: "a\tb", want: "a\tb"},
		{name: "newline inside allowed", in: "line 1\nline 2", want: "line 1\nline 2"},
		{name: "blank lines inside kept", in: "a\n\n\nb", want: "a\n\n\nb"},
		{name: "CRLF normalised", in: "a\r\nb", want: "a\nb"},
		{name: "CRLF everywhere", in: "\r\n\r\nline 1\r\nline 2\r\n", want: "line 1\nline 2"},
		{name: "surrounding bare CR is white space and trimmed", in: "\rhello\r", want: "hello"},
		{name: "multi-byte text", in: "café 🙂 日本語", want: "café 🙂 日本語"},
		{name: "zero width space is not a control character", in: "a\u200bb", want: "a\u200bb"},

		{name: "empty", in: "", wantErr: true},
		{name: "only spaces", in: "   ", wantErr: true},
		{name: "only white space of all kinds", in: " \t\n\r\n\u00a0\u3000", wantErr: true},
		{name: "only CRLF", in: "\r\n\r\n", wantErr: true},
		{name: "invalid UTF-8", in: "hello \xff world", wantErr: true, inMsg: "UTF-8"},
		{name: "lone invalid byte", in: "\xff", wantErr: true, inMsg: "UTF-8"},
		{name: "truncated multi-byte rune", in: "caf\xc3", wantErr: true, inMsg: "UTF-8"},
		{name: "UTF-16 surrogate encoded in UTF-8", in: "a\xed\xa0\x80b", wantErr: true, inMsg: "UTF-8"},
		{name: "overlong encoding of slash", in: "a\xc0\xafb", wantErr: true, inMsg: "UTF-8"},
		{name: "NUL inside", in: "a\x00b", wantErr: true, inMsg: "U+0000"},
		{name: "NUL at the end", in: "hello\x00", wantErr: true, inMsg: "U+0000"},
		{name: "bare CR inside", in: "a\rb", wantErr: true, inMsg: "U+000D"},
		{name: "CR CR LF leaves a bare CR", in: "a\r\r\nb", wantErr: true, inMsg: "U+000D"},
		{name: "DEL", in: "a\x7fb", wantErr: true, inMsg: "U+007F"},
		{name: "ESC (terminal escape)", in: "a\x1b[31mred", wantErr: true, inMsg: "U+001B"},
		{name: "bell", in: "a\ab", wantErr: true, inMsg: "U+0007"},
		{name: "vertical tab inside", in: "a\vb", wantErr: true, inMsg: "U+000B"},
		{name: "form feed inside", in: "a\fb", wantErr: true, inMsg: "U+000C"},
		{name: "U+0085 (NEL) inside", in: "a\u0085b", wantErr: true, inMsg: "U+0085"},
		{name: "U+0080 inside", in: "a\u0080b", wantErr: true, inMsg: "U+0080"},
		{name: "U+009F inside", in: "a\u009fb", wantErr: true, inMsg: "U+009F"},
		{name: "control char after multi-byte text", in: "日本🙂\x01", wantErr: true, inMsg: "U+0001"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := NormalizeComment(tt.in)
			if tt.wantErr {
				e := checkError(t, err, CodeInvalidComment)
				if got != "" {
					t.Errorf("returned %q along with the error, want \"\"", got)
				}
				if tt.inMsg != "" && !strings.Contains(e.Message, tt.inMsg) {
					t.Errorf("message %q does not mention %q", e.Message, tt.inMsg)
				}
				return
			}
			if err != nil {
				t.Fatalf("NormalizeComment(%q) error %v, want %q", tt.in, err, tt.want)
			}
			if got != tt.want {
				t.Fatalf("NormalizeComment(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// TestNormalizeCommentLength shows that the limit counts code points, not
// bytes, and is applied after trimming and CRLF normalisation.
func TestNormalizeCommentLength(t *testing.T) {
	rep := strings.Repeat
	tests := []struct {
		name  string
		in    string
		runes int // expected rune count of the result; 0 means an error
	}{
		{"2000 ASCII", rep("a", 2000), 2000},
		{"2001 ASCII", rep("a", 2001), 0},
		{"2000 é (4000 bytes)", rep("é", 2000), 2000},
		{"2001 é", rep("é", 2001), 0},
		{"2000 🙂 (8000 bytes)", rep("🙂", 2000), 2000},
		{"2001 🙂", rep("🙂", 2001), 0},
		{"2000 mixed", rep("aé日🙂", 500), 2000},
		{"2001 mixed", rep("aé日🙂", 500) + "é", 0},
		{"2000 with surrounding white space", "  \n\t" + rep("🙂", 2000) + "\r\n  ", 2000},
		{"2001 inside surrounding white space", " " + rep("é", 2001) + " ", 0},
		{"CRLF counts as one character", rep("a", 1000) + "\r\n" + rep("a", 999), 2000},
		{"2000 newlines between letters", "a" + rep("\n", 1998) + "b", 2000},
		{"2000 with tabs inside", rep("a\t", 999) + "ab", 2000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := NormalizeComment(tt.in)
			if tt.runes == 0 {
				e := checkError(t, err, CodeInvalidComment)
				if !strings.Contains(e.Message, "2000") {
					t.Errorf("message %q does not name the limit", e.Message)
				}
				return
			}
			if err != nil {
				t.Fatalf("error %v, want success", err)
			}
			if n := utf8.RuneCountInString(got); n != tt.runes {
				t.Fatalf("result has %d runes, want %d", n, tt.runes)
			}
		})
	}
}

func TestNormalizeAuthor(t *testing.T) {
	rep := strings.Repeat
	tests := []struct {
		name    string
		in      string
		want    string
		wantErr bool
	}{
		{name: "empty becomes anonymous", in: "", want: AnonymousAuthor},
		{name: "spaces become anonymous", in: "   ", want: AnonymousAuthor},
		{name: "surrounding white space only becomes anonymous", in: " \t\n\r\n\u00a0", want: AnonymousAuthor},
		{name: "plain", in: "Ada", want: "Ada"},
		{name: "trimmed", in: "  Ada Lovelace \t", want: "Ada Lovelace"},
		{name: "surrounding newline trimmed", in: "\nAda\r\n", want: "Ada"},
		{name: "literal anonymous", in: "anonymous", want: "anonymous"},
		{name: "multi-byte", in: "Zoë 🙂", want: "Zoë 🙂"},
		{name: "40 ASCII", in: rep("a", 40), want: rep("a", 40)},
		{name: "40 é (80 bytes)", in: rep("é", 40), want: rep("é", 40)},
		{name: "40 🙂 (160 bytes)", in: rep("🙂", 40), want: rep("🙂", 40)},
		{name: "40 inside white space", in: "  " + rep("b", 40) + "  ", want: rep("b", 40)},

		{name: "41 ASCII", in: rep("a", 41), wantErr: true},
		{name: "41 é", in: rep("é", 41), wantErr: true},
		{name: "41 🙂", in: rep("🙂", 41), wantErr: true},
		{name: "tab inside", in: "Ada\tLovelace", wantErr: true},
		{name: "newline inside", in: "Ada\nLovelace", wantErr: true},
		{name: "CRLF inside", in: "Ada\r\nLovelace", wantErr: true},
		{name: "bare CR inside", in: "Ada\rLovelace", wantErr: true},
		{name: "NUL", in: "Ada\x00", wantErr: true},
		{name: "lone NUL", in: "\x00", wantErr: true},
		{name: "DEL", in: "Ada\x7f", wantErr: true},
		{name: "ESC", in: "\x1b[2JAda", wantErr: true},
		{name: "U+0085 inside", in: "Ada\u0085Lovelace", wantErr: true},
		{name: "U+009B (CSI) inside", in: "Ada\u009bLovelace", wantErr: true},
		{name: "invalid UTF-8", in: "Ada\xff", wantErr: true},
		{name: "lone invalid byte", in: "\xff", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := NormalizeAuthor(tt.in)
			if tt.wantErr {
				checkError(t, err, CodeInvalidAuthor)
				if got != "" {
					t.Errorf("returned %q along with the error, want \"\"", got)
				}
				return
			}
			if err != nil {
				t.Fatalf("NormalizeAuthor(%q) error %v, want %q", tt.in, err, tt.want)
			}
			if got != tt.want {
				t.Fatalf("NormalizeAuthor(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// TestErrorMessagesStayShort feeds hostile inputs to every validator: the
// message must not echo them back at length.
func TestErrorMessagesStayShort(t *testing.T) {
	const mb = 1 << 20
	rep := strings.Repeat
	tests := []struct {
		name string
		code Code
		call func() error
	}{
		{"comment 1 MB ASCII", CodeInvalidComment, func() error { _, err := NormalizeComment(rep("a", mb)); return err }},
		{"comment 1 MB of NUL", CodeInvalidComment, func() error { _, err := NormalizeComment(rep("\x00", mb)); return err }},
		{"comment 1 MB of invalid UTF-8", CodeInvalidComment, func() error { _, err := NormalizeComment(rep("\xff", mb)); return err }},
		{"comment 1 MB of bare CR", CodeInvalidComment, func() error { _, err := NormalizeComment("a" + rep("\r", mb) + "b"); return err }},
		{"comment 2000 runes then NUL", CodeInvalidComment, func() error { _, err := NormalizeComment(rep("🙂", 1999) + "\x00"); return err }},
		{"author 1 MB", CodeInvalidAuthor, func() error { _, err := NormalizeAuthor(rep("a", mb)); return err }},
		{"author 1 MB of newlines inside", CodeInvalidAuthor, func() error { _, err := NormalizeAuthor("a" + rep("\n", mb) + "b"); return err }},
		{"author 1 MB of invalid UTF-8", CodeInvalidAuthor, func() error { _, err := NormalizeAuthor(rep("\xff", mb)); return err }},
		{"board 1 MB", CodeInvalidBoard, func() error { return ValidateBoard(rep("A", mb)) }},
		{"board 64 invalid bytes", CodeInvalidBoard, func() error { return ValidateBoard(rep("\xff", 64)) }},
		{"board 64 NULs", CodeInvalidBoard, func() error { return ValidateBoard(rep("\x00", 64)) }},
		{"board letter then 63 invalid bytes", CodeInvalidBoard, func() error { return ValidateBoard("a" + rep("\xff", 63)) }},
		{"board 32 NELs", CodeInvalidBoard, func() error { return ValidateBoard(rep("\u0085", 32)) }},
		{"board 16 🙂", CodeInvalidBoard, func() error { return ValidateBoard(rep("🙂", 16)) }},
		{"board 64 quotes", CodeInvalidBoard, func() error { return ValidateBoard(rep(`"`, 64)) }},
		{"idempotency key 1 MB", CodeInvalidIdempotencyKey, func() error { return ValidateIdempotencyKey(rep("k", mb)) }},
		{"idempotency key 1 MB of NUL", CodeInvalidIdempotencyKey, func() error { return ValidateIdempotencyKey(rep("\x00", mb)) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkError(t, tt.call(), tt.code)
		})
	}
}

func TestCreateTopicNormalize(t *testing.T) {
	tests := []struct {
		name     string
		in       CreateTopic
		want     CreateTopic
		wantCode Code // empty means success
	}{
		{name: "both trimmed", in: CreateTopic{Author: " Ada ", Comment: "  hi\r\nthere  "}, want: CreateTopic{Author: "Ada", Comment: "hi\nthere"}},
		{name: "anonymous", in: CreateTopic{Comment: "hi"}, want: CreateTopic{Author: AnonymousAuthor, Comment: "hi"}},
		{name: "empty comment", in: CreateTopic{Author: "Ada", Comment: " \n "}, wantCode: CodeInvalidComment},
		{name: "long author", in: CreateTopic{Author: strings.Repeat("a", 41), Comment: "hi"}, wantCode: CodeInvalidAuthor},
		{name: "author with control char", in: CreateTopic{Author: "A\x00", Comment: "hi"}, wantCode: CodeInvalidAuthor},
		{name: "comment with control char", in: CreateTopic{Author: "Ada", Comment: "a\x00b"}, wantCode: CodeInvalidComment},
		{name: "picture without comment", in: CreateTopic{Author: "Aiko", Comment: " \n ", ImageID: "AbC_12-xyz"}, want: CreateTopic{Author: "Aiko", ImageID: "AbC_12-xyz"}},
		{name: "picture with comment", in: CreateTopic{Comment: " look ", ImageID: "abc"}, want: CreateTopic{Author: AnonymousAuthor, Comment: "look", ImageID: "abc"}},
		{name: "picture with invisible-only comment", in: CreateTopic{Comment: "\u3164\u200b", ImageID: "abc"}, wantCode: CodeInvalidComment},
		{name: "picture with long comment", in: CreateTopic{Comment: strings.Repeat("a", 2001), ImageID: "abc"}, wantCode: CodeInvalidComment},
		{name: "picture id with a slash", in: CreateTopic{Comment: "hi", ImageID: "../etc"}, wantCode: CodeImageUnavailable},
		{name: "picture id too long", in: CreateTopic{Comment: "hi", ImageID: strings.Repeat("a", 65)}, wantCode: CodeImageUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.in
			err := r.Normalize()
			if tt.wantCode != "" {
				checkError(t, err, tt.wantCode)
				if r != tt.in {
					t.Errorf("request changed on error: %+v, want %+v", r, tt.in)
				}
				return
			}
			if err != nil {
				t.Fatalf("Normalize error %v", err)
			}
			if r != tt.want {
				t.Fatalf("got %+v, want %+v", r, tt.want)
			}
		})
	}
}

func TestEditTopicNormalize(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    string
		wantErr bool
	}{
		{name: "trimmed", in: "\t edited \r\n", want: "edited"},
		{name: "CRLF inside", in: "a\r\nb", want: "a\nb"},
		{name: "empty", in: "", wantErr: true},
		{name: "too long", in: strings.Repeat("é", 2001), wantErr: true},
		{name: "invalid UTF-8", in: "\xff", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := EditTopic{Comment: tt.in}
			err := r.Normalize()
			if tt.wantErr {
				checkError(t, err, CodeInvalidComment)
				if r.Comment != tt.in {
					t.Errorf("comment changed on error: %q", r.Comment)
				}
				return
			}
			if err != nil {
				t.Fatalf("Normalize error %v", err)
			}
			if r.Comment != tt.want {
				t.Fatalf("got %q, want %q", r.Comment, tt.want)
			}
		})
	}
}

func TestErrorCode(t *testing.T) {
	base := Errorf(CodeRateLimited, "Slow down.")
	tests := []struct {
		name string
		err  error
		want Code
	}{
		{"direct", base, CodeRateLimited},
		{"wrapped", fmt.Errorf("posting: %w", base), CodeRateLimited},
		{"doubly wrapped", fmt.Errorf("a: %w", fmt.Errorf("b: %w", base)), CodeRateLimited},
		{"joined", errors.Join(io.EOF, base), CodeRateLimited},
		{"foreign error", io.EOF, CodeInternal},
		{"nil", nil, CodeInternal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ErrorCode(tt.err); got != tt.want {
				t.Fatalf("ErrorCode = %q, want %q", got, tt.want)
			}
		})
	}
	if got, want := base.Error(), "rate_limited: Slow down."; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func FuzzNormalizeComment(f *testing.F) {
	for _, seed := range []string{
		"", "hello", "  hi  ", "a\r\nb", "a\rb", "\r\r\n", "a\tb\nc", "\xff", "a\x00",
		"\u0085a\u0085", "a\u0085b", "\u00a0x\u3000", "🙂", strings.Repeat("é", 2000),
		strings.Repeat("🙂", 2001), " " + strings.Repeat("a", 2000) + "\r\n",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out, err := NormalizeComment(in)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Code != CodeInvalidComment || e.Message == "" || len(e.Message) >= maxMessageBytes {
				t.Fatalf("bad error for %q: %#v", in, err)
			}
			if out != "" {
				t.Fatalf("returned %q along with an error", out)
			}
			return
		}
		if !utf8.ValidString(out) {
			t.Fatalf("output %q is not valid UTF-8", out)
		}
		if strings.TrimSpace(out) != out {
			t.Fatalf("output %q is not trimmed", out)
		}
		if n := utf8.RuneCountInString(out); n < 1 || n > MaxCommentChars {
			t.Fatalf("output has %d runes", n)
		}
		for _, r := range out {
			if unicode.IsControl(r) && r != '\n' && r != '\t' {
				t.Fatalf("output %q contains control character %U", out, r)
			}
		}
		if again, err := NormalizeComment(out); err != nil || again != out {
			t.Fatalf("not idempotent: NormalizeComment(%q) = %q, %v", out, again, err)
		}
	})
}

// FuzzValidateBoard checks the validator against the contract's regexp and
// that the message quoting the input stays short whatever the input is.
func FuzzValidateBoard(f *testing.F) {
	for _, seed := range []string{"", "a", "news", "-a", "A", strings.Repeat("a", 64), strings.Repeat("\xff", 64), strings.Repeat("\x00", 64)} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, slug string) {
		err := ValidateBoard(slug)
		if want := boardPattern.MatchString(slug); (err == nil) != want {
			t.Fatalf("ValidateBoard(%q) = %v, contract regexp says valid=%v", slug, err, want)
		}
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Code != CodeInvalidBoard || e.Message == "" || len(e.Message) >= maxMessageBytes || !utf8.ValidString(e.Message) {
				t.Fatalf("bad error for %q: %#v", slug, err)
			}
		}
	})
}
