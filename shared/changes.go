package shared

// ChangesPage is the answer of the long-poll endpoint: either the changes
// after the asked cursor (possibly none, when the wait passed) or a reset.
// Cursor is where the client stands after applying it.
type ChangesPage struct {
	Cursor  string    `json:"cursor"`
	Changes []Change  `json:"changes,omitempty"`
	Reset   *Snapshot `json:"reset,omitempty"`
}
