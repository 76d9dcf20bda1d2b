package sync

import (
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"slices"
	"strconv"
	"testing"

	"github.com/kairan/kairan/shared"
)

func keysOf(o Outbox) []string {
	keys := []string{}
	for _, op := range o.Ops {
		keys = append(keys, op.Key)
	}
	return keys
}

func TestOutboxAddKeepsOrderAndNextIsTheFirst(t *testing.T) {
	var o Outbox
	if op, ok := o.Next(); ok {
		t.Fatalf("empty outbox: Next = %+v, true", op)
	}
	o.Add(Op{Key: "a", Kind: OpPost, Board: "lobby", Comment: "first"})
	o.Add(Op{Key: "b", Kind: OpEdit, Board: "lobby", TopicID: 7, Comment: "second"})
	o.Add(Op{Key: "c", Kind: OpDelete, Board: "lobby", TopicID: 7})
	if got := keysOf(o); !slices.Equal(got, []string{"a", "b", "c"}) {
		t.Fatalf("ops = %v, want a,b,c", got)
	}
	op, ok := o.Next()
	if !ok || op.Key != "a" || op.Comment != "first" {
		t.Fatalf("Next = %+v, %v; want a", op, ok)
	}
	// Next only looks: asking again gives the same op.
	if again, _ := o.Next(); again.Key != "a" || len(o.Ops) != 3 {
		t.Fatalf("second Next = %+v with %d ops; Next must not consume", again, len(o.Ops))
	}
}

func TestOutboxAddIgnoresAKeyAlreadyQueued(t *testing.T) {
	var o Outbox
	o.Add(Op{Key: "a", Kind: OpPost, Comment: "first"})
	o.Add(Op{Key: "b", Kind: OpPost, Comment: "second"})
	o.Add(Op{Key: "a", Kind: OpPost, Comment: "resent by another tab"})
	if got := keysOf(o); !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("ops = %v, want a,b once each", got)
	}
	if o.Ops[0].Comment != "first" {
		t.Fatalf("the resent op replaced the queued one: %+v", o.Ops[0])
	}
	// A failed op is still queued: the same key does not revive it.
	o.Fail("b", "refused", "blocked")
	o.Add(Op{Key: "b", Kind: OpPost, Comment: "again"})
	if got := keysOf(o); !slices.Equal(got, []string{"a", "b"}) || o.Ops[1].Failed != "refused" {
		t.Fatalf("after re-adding failed b: %+v", o.Ops)
	}
}

func TestOutboxNextSkipsFailedOpsInOrder(t *testing.T) {
	var o Outbox
	for _, k := range []string{"a", "b", "c", "d"} {
		o.Add(Op{Key: k, Kind: OpPost, Board: "lobby", Comment: k})
	}
	o.Fail("a", "too long", "blocked")
	o.Fail("c", "blocked", "blocked")
	var sent []string
	for {
		op, ok := o.Next()
		if !ok {
			break
		}
		sent = append(sent, op.Key)
		o.Remove(op.Key)
	}
	if !slices.Equal(sent, []string{"b", "d"}) {
		t.Fatalf("Next gave %v, want b then d (a and c failed)", sent)
	}
	// The failed ops stay, in order, for the person to see.
	if got := keysOf(o); !slices.Equal(got, []string{"a", "c"}) {
		t.Fatalf("left = %v, want the failed a,c", got)
	}
	if op, ok := o.Next(); ok {
		t.Fatalf("only failed ops left: Next = %+v, true", op)
	}
}

func TestOutboxRemoveDropsOnlyThatKey(t *testing.T) {
	var o Outbox
	for _, k := range []string{"a", "b", "c"} {
		o.Add(Op{Key: k, Kind: OpPost})
	}
	o.Remove("b")
	if got := keysOf(o); !slices.Equal(got, []string{"a", "c"}) {
		t.Fatalf("after Remove(b): %v, want a,c", got)
	}
	o.Remove("nope") // unknown key: nothing happens
	if got := keysOf(o); !slices.Equal(got, []string{"a", "c"}) {
		t.Fatalf("after Remove(nope): %v, want a,c", got)
	}
	o.Remove("a")
	o.Remove("c")
	if len(o.Ops) != 0 {
		t.Fatalf("after removing all: %v", keysOf(o))
	}
	if _, ok := o.Next(); ok {
		t.Fatal("Next on an emptied outbox reports an op")
	}
}

func TestOutboxFailMarksOnlyThatKey(t *testing.T) {
	var o Outbox
	for _, k := range []string{"a", "b", "c"} {
		o.Add(Op{Key: k, Kind: OpPost})
	}
	o.Fail("b", "The comment is too long.", "blocked")
	for _, op := range o.Ops {
		want := ""
		if op.Key == "b" {
			want = "The comment is too long."
		}
		if op.Failed != want {
			t.Errorf("op %s: Failed = %q, want %q", op.Key, op.Failed, want)
		}
	}
	o.Fail("nope", "whatever", "blocked") // unknown key: nothing happens
	for _, op := range o.Ops {
		if op.Key != "b" && op.Failed != "" {
			t.Errorf("Fail(nope) marked %s", op.Key)
		}
	}
	if got := keysOf(o); !slices.Equal(got, []string{"a", "b", "c"}) {
		t.Fatalf("Fail changed the queue: %v", got)
	}
}

func TestOutboxCloneSharesNothing(t *testing.T) {
	var o Outbox
	o.Add(Op{Key: "a", Kind: OpPost, Comment: "original"})
	o.Add(Op{Key: "b", Kind: OpPost, Comment: "original"})
	c := o.Clone()

	// Changes to the original do not show in the clone...
	o.Ops[0].Comment = "changed"
	o.Fail("b", "refused", "blocked")
	o.Add(Op{Key: "c", Kind: OpPost})
	o.Remove("a")
	if got := keysOf(c); !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("clone's ops = %v, want a,b", got)
	}
	if c.Ops[0].Comment != "original" || c.Ops[1].Failed != "" {
		t.Fatalf("clone changed with the original: %+v", c.Ops)
	}

	// ...and changes to the clone do not show in the original, even when
	// the clone's slice had spare capacity to append into.
	o = Outbox{Ops: make([]Op, 0, 8)}
	o.Add(Op{Key: "a", Kind: OpPost, Comment: "original"})
	c = o.Clone()
	c.Ops[0].Comment = "changed"
	c.Add(Op{Key: "x"})
	c.Fail("a", "refused", "blocked")
	if len(o.Ops) != 1 || o.Ops[0].Comment != "original" || o.Ops[0].Failed != "" {
		t.Fatalf("original changed with the clone: %+v", o.Ops)
	}
	if s := o.Ops[:cap(o.Ops)]; len(s) > 1 && s[1].Key == "x" {
		t.Fatal("the clone appended into the original's backing array")
	}

	// An empty outbox clones to an empty one.
	if e := (Outbox{}).Clone(); len(e.Ops) != 0 {
		t.Fatalf("clone of empty = %+v", e)
	}
}

func TestTransientClassifiesEveryErrorCode(t *testing.T) {
	transient := map[shared.Code]bool{
		shared.CodeNetwork:     true,
		shared.CodeUnavailable: true,
		shared.CodeRateLimited: true,
		shared.CodeInternal:    true,

		shared.CodeInvalidJSON:           false,
		shared.CodeInvalidComment:        false,
		shared.CodeInvalidAuthor:         false,
		shared.CodeInvalidBoard:          false,
		shared.CodeInvalidLimit:          false,
		shared.CodeInvalidBefore:         false,
		shared.CodeInvalidWait:           false,
		shared.CodeInvalidIdempotencyKey: false,
		shared.CodeUnauthorized:          false,
		shared.CodeForbidden:             false,
		shared.CodeNotFound:              false,
		shared.CodeBodyTooLarge:          false,
		shared.CodeUnsupportedMediaType:  false,
		shared.CodeIdempotencyMismatch:   false,
		shared.CodeInvalidImage:          false,
		// Not retried as it is: the outbox uploads its picture again and
		// posts with the new id (DESIGN.md section 3).
		shared.CodeImageUnavailable: false,
		shared.CodeBlocked:          false,
		shared.CodeMethodNotAllowed: false,
		shared.CodeUnknownHost:      false,
		shared.CodeTooManyBoards:    false,
		shared.CodeTooManyTopics:    false,
		shared.CodeInvalidVersion:   false, // a client bug: asking again will not help
	}
	// Every code the wire contract declares is classified here: a new code
	// must be decided on, not fall to "not transient" by accident.
	for _, code := range declaredCodes(t) {
		if _, ok := transient[code]; !ok {
			t.Errorf("shared declares %q; add it to this table", code)
		}
	}
	for code, want := range transient {
		err := shared.Errorf(code, "a message")
		if got := Transient(err); got != want {
			t.Errorf("Transient(%s) = %v, want %v", code, got, want)
		}
		// Wrapped, as a caller adding context would.
		if got := Transient(fmt.Errorf("sending: %w", err)); got != want {
			t.Errorf("Transient(wrapped %s) = %v, want %v", code, got, want)
		}
	}
	// A code the client does not know is not retried forever.
	if Transient(shared.Errorf("from_the_future", "?")) {
		t.Error("an unknown code counts as transient")
	}
	// An error that is not the wire's is treated as the server's fault (internal).
	if !Transient(errors.New("boom")) {
		t.Error("a plain error is not transient; ErrorCode maps it to internal")
	}
}

// declaredCodes reads the Code constants from shared/error.go.
func declaredCodes(t *testing.T) []shared.Code {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), "../../shared/error.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var codes []shared.Code
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, s := range g.Specs {
			v := s.(*ast.ValueSpec)
			if id, ok := v.Type.(*ast.Ident); !ok || id.Name != "Code" {
				continue
			}
			for _, val := range v.Values {
				if lit, ok := val.(*ast.BasicLit); ok && lit.Kind == token.STRING {
					s, _ := strconv.Unquote(lit.Value)
					codes = append(codes, shared.Code(s))
				}
			}
		}
	}
	if len(codes) < 10 {
		t.Fatalf("found only %d codes in shared/error.go: %v", len(codes), codes)
	}
	return codes
}
