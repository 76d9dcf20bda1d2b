package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kairan/kairan/shared"
)

// requireJSON checks the Content-Type of a write: application/json, with
// no charset or utf-8.
func requireJSON(r *http.Request) error {
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err == nil && mt == "application/json" {
		if cs, ok := params["charset"]; !ok || strings.EqualFold(cs, "utf-8") {
			return nil
		}
	}
	return shared.Errorf(shared.CodeUnsupportedMediaType,
		"Send the body as JSON with 'Content-Type: application/json'.")
}

// defaultBodyTimeout is Config.BodyTimeout when unset.
const defaultBodyTimeout = 10 * time.Second

var errTooLarge = shared.Errorf(shared.CodeBodyTooLarge,
	fmt.Sprintf("The request body is larger than %d KiB; shorten the comment.", shared.MaxBodyBytes>>10))

// readBody reads at most shared.MaxBodyBytes.
func readBody(w http.ResponseWriter, r *http.Request, timeout time.Duration) ([]byte, error) {
	if r.ContentLength > shared.MaxBodyBytes {
		return nil, errTooLarge
	}
	// A body trickled in slowly must not hold a handler for ever; the
	// server has no global ReadTimeout because streams must live long.
	_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(timeout))
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, shared.MaxBodyBytes))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		return nil, errTooLarge
	case err != nil:
		return nil, shared.Errorf(shared.CodeInvalidJSON, "The request body could not be read completely; send it again.")
	}
	return body, nil
}

// fieldCodes says which error code invalid UTF-8 in a field earns. It is a
// list, not a map, so a body with several bad fields always earns the same
// code, in the order Normalize checks them (author, then comment).
var fieldCodes = []struct {
	name string
	code shared.Code
}{
	{"author", shared.CodeInvalidAuthor},
	{"comment", shared.CodeInvalidComment},
}

// decodeJSON decodes one JSON object into dst. Go's decoder would quietly
// turn invalid UTF-8 into U+FFFD, so invalid bytes are found first and
// blamed on the field that holds them.
func decodeJSON(body []byte, dst any) error {
	if !utf8.Valid(body) {
		var fields map[string]json.RawMessage
		if json.Unmarshal(body, &fields) == nil {
			for _, f := range fieldCodes {
				// Only a field the request has is blamed: an author in an
				// edit is unknown, and its bad bytes are just bad JSON.
				if raw, ok := fields[f.name]; ok && !utf8.Valid(raw) && hasField(dst, f.name) {
					return shared.Errorf(f.code, fmt.Sprintf("The %s is not valid UTF-8 text.", f.name))
				}
			}
		}
		return shared.Errorf(shared.CodeInvalidJSON, "The request body is not valid UTF-8 text.")
	}
	// Only JSON's own white space: bytes.TrimSpace would also accept
	// U+00A0 and U+3000, which JSON does not allow around a value.
	trimmed := bytes.Trim(body, " \t\r\n")
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return shared.Errorf(shared.CodeInvalidJSON, `The request body must be a JSON object such as {"comment":"hello"}.`)
	}
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	if err := dec.Decode(dst); err != nil {
		return shared.Errorf(shared.CodeInvalidJSON, describeJSONError(err))
	}
	if dec.More() || dec.InputOffset() != int64(len(trimmed)) {
		return shared.Errorf(shared.CodeInvalidJSON, "The request body has data after the JSON object; send one object.")
	}
	return nil
}

// hasField reports whether the struct dst points to has a field with the
// JSON name.
func hasField(dst any, name string) bool {
	t := reflect.TypeOf(dst)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return false
	}
	for f := range t.Fields() {
		tag, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if tag == name || (tag == "" && strings.EqualFold(f.Name, name)) {
			return true
		}
	}
	return false
}

func describeJSONError(err error) string {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr) && typeErr.Field != "":
		return fmt.Sprintf("The field %q must be a %s, not a JSON %s.", typeErr.Field, typeErr.Type, typeErr.Value)
	case errors.As(err, &syntaxErr):
		return fmt.Sprintf("The request body is not valid JSON (error at byte %d).", syntaxErr.Offset)
	default:
		return "The request body is not valid JSON."
	}
}
