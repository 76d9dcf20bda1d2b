package shared

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// CreateTopic is the body of POST /api/boards/{board}/topics.
type CreateTopic struct {
	Author  string `json:"author"`
	Comment string `json:"comment"`
	// ImageID attaches a picture uploaded to the same board and not yet
	// used by a post; empty for none.
	ImageID string `json:"image_id,omitempty"`
}

// Normalize trims both fields, fills in the anonymous author and validates
// the result. It returns an *Error with a code of the wire contract. With
// a picture the comment may be empty (a photo says enough), but not made
// only of invisible characters, which would look like a caption that
// failed to show.
func (r *CreateTopic) Normalize() error {
	author, err := NormalizeAuthor(r.Author)
	if err != nil {
		return err
	}
	if r.ImageID != "" {
		if err := ValidateImageID(r.ImageID); err != nil {
			return err
		}
	}
	comment, err := normalizeComment(r.Comment, r.ImageID != "")
	if err != nil {
		return err
	}
	r.Author, r.Comment = author, comment
	return nil
}

// EditTopic is the body of PATCH /api/boards/{board}/topics/{id}.
type EditTopic struct {
	Comment string `json:"comment"`
}

// Normalize trims and validates the comment.
func (r *EditTopic) Normalize() error {
	comment, err := NormalizeComment(r.Comment)
	if err != nil {
		return err
	}
	r.Comment = comment
	return nil
}

// NormalizeComment returns the comment as it is stored: surrounding white
// space trimmed and Windows line ends turned into "\n" (a pasted CRLF text is
// not hostile, a bare carriage return is a control character).
func NormalizeComment(s string) (string, error) { return normalizeComment(s, false) }

// normalizeComment is NormalizeComment that takes an empty comment when
// mayBeEmpty (a post with a picture).
func normalizeComment(s string, mayBeEmpty bool) (string, error) {
	if !utf8.ValidString(s) {
		return "", Errorf(CodeInvalidComment, "The comment is not valid UTF-8 text.")
	}
	s = strings.TrimSpace(strings.ReplaceAll(s, "\r\n", "\n"))
	n := utf8.RuneCountInString(s)
	switch {
	case n == 0 && mayBeEmpty:
		return "", nil
	case n == 0:
		return "", Errorf(CodeInvalidComment, "The comment is empty; write something first.")
	case n > MaxCommentChars:
		return "", Errorf(CodeInvalidComment, fmt.Sprintf(
			"The comment is %d characters long; shorten it to at most %d.", n, MaxCommentChars))
	}
	if i := strings.IndexFunc(s, func(r rune) bool { return unicode.IsControl(r) && r != '\n' && r != '\t' }); i >= 0 {
		return "", Errorf(CodeInvalidComment, fmt.Sprintf(
			"The comment contains the control character %U; only new lines and tabs are allowed.", []rune(s[i:])[0]))
	}
	if !hasVisible(s) {
		return "", Errorf(CodeInvalidComment, "The comment has no visible character (only spaces or invisible marks); write something first.")
	}
	if i := tooManyMarks(s); i >= 0 {
		return "", Errorf(CodeInvalidComment, fmt.Sprintf(
			"A character in the comment carries more than %d combining marks, which would draw outside the text; remove the extra marks.", MaxCombiningMarks))
	}
	return s, nil
}

// NormalizeAuthor returns the author as it is stored: trimmed, and
// AnonymousAuthor when empty.
func NormalizeAuthor(s string) (string, error) {
	if !utf8.ValidString(s) {
		return "", Errorf(CodeInvalidAuthor, "The author name is not valid UTF-8 text.")
	}
	s = strings.TrimSpace(s)
	if n := utf8.RuneCountInString(s); n > MaxAuthorChars {
		return "", Errorf(CodeInvalidAuthor, fmt.Sprintf(
			"The author name is %d characters long; shorten it to at most %d.", n, MaxAuthorChars))
	}
	if strings.IndexFunc(s, unicode.IsControl) >= 0 {
		return "", Errorf(CodeInvalidAuthor, "The author name contains a control character such as a new line; use a single line of text.")
	}
	if problem := nameCharProblem(s); problem != "" {
		return "", Errorf(CodeInvalidAuthor, "The author name "+problem+".")
	}
	if s != "" && !hasVisible(s) {
		return "", Errorf(CodeInvalidAuthor, "The author name has no visible character; write a name, or leave it empty to post as "+AnonymousAuthor+".")
	}
	if tooManyMarks(s) >= 0 {
		return "", Errorf(CodeInvalidAuthor, fmt.Sprintf(
			"A character in the author name carries more than %d combining marks, which would draw outside the name; remove the extra marks.", MaxCombiningMarks))
	}
	if s == "" {
		s = AnonymousAuthor
	}
	return s, nil
}

// ValidateBoard checks a board slug: ^[a-z0-9][a-z0-9-]{0,63}$.
func ValidateBoard(slug string) error {
	if len(slug) == 0 || len(slug) > 64 {
		return Errorf(CodeInvalidBoard, "A board name has 1 to 64 characters: lower-case letters, digits and dashes, starting with a letter or digit.")
	}
	for i := 0; i < len(slug); i++ {
		c := slug[i]
		ok := c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' && i > 0
		if !ok {
			// %q may turn one byte into four ("\xff"), so quote at most 40
			// bytes to keep the message under 300 bytes.
			return Errorf(CodeInvalidBoard, fmt.Sprintf(
				"%q is not a board name: use lower-case letters, digits and dashes, starting with a letter or digit.", clip(slug, 40)))
		}
	}
	return nil
}

// ValidateIdempotencyKey checks an Idempotency-Key header: 22–64 of
// [A-Za-z0-9_-]. A key is as good as a password for the post it names (a
// retry with it gets the post's owner token back), so it must be long
// enough to hold 128 random bits: 22 characters of base64url do.
func ValidateIdempotencyKey(key string) error {
	ok := len(key) >= MinIdempotencyKey && len(key) <= MaxIdempotencyKey
	for i := 0; ok && i < len(key); i++ {
		c := key[i]
		ok = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
	}
	if !ok {
		return Errorf(CodeInvalidIdempotencyKey, fmt.Sprintf(
			"The Idempotency-Key header must be %d to %d characters of letters, digits, '_' and '-', chosen at random (128 bits or more) for each post.",
			MinIdempotencyKey, MaxIdempotencyKey))
	}
	return nil
}

// clip shortens s for quoting in a message, so a hostile 1 MB input does not
// come back in the error.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "…"
}
