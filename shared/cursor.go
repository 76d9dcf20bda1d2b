package shared

import (
	"strconv"
	"strings"
)

// Cursor is a position in a database's change log: "<epoch>.<seq>". The
// epoch is a random id of the database, so a cursor from a wiped or restored
// database is recognised as foreign instead of silently meaning something
// else. Clients treat the string as opaque.
type Cursor struct {
	Epoch string
	Seq   int64
}

func (c Cursor) String() string { return c.Epoch + "." + strconv.FormatInt(c.Seq, 10) }

// ParseCursor parses "<epoch>.<seq>". ok is false for anything malformed;
// the server answers such a cursor with a reset, never with an error.
func ParseCursor(s string) (c Cursor, ok bool) {
	epoch, seqText, found := strings.Cut(s, ".")
	if !found || epoch == "" || len(epoch) > 64 || seqText == "" || len(seqText) > 19 {
		return Cursor{}, false
	}
	for i := 0; i < len(epoch); i++ {
		ch := epoch[i]
		if !(ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9') {
			return Cursor{}, false
		}
	}
	for i := 0; i < len(seqText); i++ {
		if seqText[i] < '0' || seqText[i] > '9' {
			return Cursor{}, false
		}
	}
	seq, err := strconv.ParseInt(seqText, 10, 64)
	if err != nil {
		return Cursor{}, false
	}
	return Cursor{Epoch: epoch, Seq: seq}, true
}
