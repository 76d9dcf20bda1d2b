package store

// Primary SQLite result codes (the low byte of an extended code), the same
// whichever driver sqliteshim picked.
const (
	sqliteReadOnly = 8  // SQLITE_READONLY and its extended codes
	sqliteFull     = 13 // SQLITE_FULL: the disk (or a size limit) is full
)

// sqliteReason is the Outage reason for a SQLite error, or "".
func sqliteReason(err error) Reason {
	code, ok := sqliteCode(err)
	if !ok {
		return ""
	}
	switch code & 0xff {
	case sqliteFull:
		return DiskFull
	case sqliteReadOnly:
		return ReadOnly
	}
	return ""
}
