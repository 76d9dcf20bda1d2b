package board

import (
	"strconv"
	"strings"

	"github.com/kairan/kairan/app/sync"
)

// Storage keeps what outlives a tab: local storage in the browser
// (storage_wasm.go), shared by every tab of the origin.
type Storage interface {
	// Get decodes the value at key into v; found is false when there is none.
	Get(key string, v any) (found bool, err error)
	// Set stores v at key; an error means it was not stored (full, blocked).
	Set(key string, v any) error
	Del(key string)
}

// What is kept, by key. Owner tokens are apart from replicas, one key per
// board written only by that board's leader tab, so evicting a replica or
// a write by another board's tab can never take them along.
const (
	// AuthorKey holds the name the person last posted under.
	AuthorKey    = "kairan/author"
	moderatorKey = "kairan/moderator" // the moderator token, for all boards
	recentKey    = "kairan/recent"    // boards, most recently opened first
	legacyTokens = "kairan/tokens"    // before per-board keys: "board/id" → token
)

func replicaKey(board string) string { return "kairan/board/" + board }
func outboxKey(board string) string  { return "kairan/outbox/" + board }
func draftKey(board string) string   { return "kairan/draft/" + board }
func tokensKey(board string) string  { return "kairan/tokens/" + board }

// KeptReplicas is how many boards' replicas local storage keeps: the most
// recently opened. A full board is ~200 K characters and browsers give an
// origin ~5 M, so ten leave room for tokens, outboxes and other boards.
const KeptReplicas = 10

// What a failed write cost (View.Problem); the page says it in words a
// person can act on.
const (
	ProblemToken   = "token"   // an owner token: the topic may not be editable after a reload
	ProblemOutbox  = "outbox"  // unsent writes: keep the tab open until they are sent
	ProblemReplica = "replica" // the board for offline use
)

// remember records that board was opened now and evicts the replicas of
// boards beyond KeptReplicas. Outboxes are kept whatever their age: they
// hold writes not yet sent.
func remember(st Storage, board string) {
	var recent []string
	st.Get(recentKey, &recent)                              // a broken list starts anew
	list := append(make([]string, 0, len(recent)+1), board) // a loop, not slices: ~3 KB of app.wasm
	for _, b := range recent {
		if b != board {
			list = append(list, b)
		}
	}
	recent = list
	if len(recent) > KeptReplicas {
		for _, old := range recent[KeptReplicas:] {
			st.Del(replicaKey(old))
		}
		recent = recent[:KeptReplicas]
	}
	st.Set(recentKey, recent) // losing the list only delays an eviction
}

// loadTokens reads board's owner tokens, moving any the page kept in the
// legacy all-boards map to the board's own key first.
func loadTokens(st Storage, board string) (map[int64]string, error) {
	owned := map[int64]string{}
	st.Get(tokensKey(board), &owned)
	legacy := map[string]string{}
	if found, _ := st.Get(legacyTokens, &legacy); !found {
		return owned, nil
	}
	moved := false
	for k, tok := range legacy {
		rest, ok := strings.CutPrefix(k, board+"/")
		if !ok {
			continue
		}
		if id, err := strconv.ParseInt(rest, 10, 64); err == nil {
			owned[id] = tok
		}
		delete(legacy, k)
		moved = true
	}
	if !moved {
		return owned, nil
	}
	if err := st.Set(tokensKey(board), owned); err != nil {
		return owned, err // the legacy map still has them
	}
	if len(legacy) == 0 {
		st.Del(legacyTokens)
	} else {
		st.Set(legacyTokens, legacy)
	}
	return owned, nil
}

// loadOutbox reads board's saved outbox.
func loadOutbox(st Storage, board string) sync.Outbox {
	var o struct {
		sync.Outbox
		Value *sync.Outbox // as go-app's persisted state kept it, before sessions
	}
	st.Get(outboxKey(board), &o)
	if o.Value != nil {
		return *o.Value // writes not sent yet must survive the upgrade
	}
	return o.Outbox
}

// loadReplica reads board's saved replica.
func loadReplica(st Storage, board string) sync.Replica {
	var r sync.Replica
	if found, err := st.Get(replicaKey(board), &r); !found || err != nil || r.Board != board {
		return sync.Replica{Board: board}
	}
	return r
}

// The leader's writes to storage. A failed write is said to the person
// (View.Problem) instead of ignored, and cleared when a later one works.

func (s *Session) saveTokens() {
	s.tokenSaves++ // followers read them again (lead.go)
	s.stored(ProblemToken, s.cfg.Storage.Set(tokensKey(s.board), s.owned))
}

func (s *Session) saveOutbox() {
	o := s.queue.Outbox()
	var err error
	if len(o.Ops) == 0 {
		s.cfg.Storage.Del(outboxKey(s.board))
	} else {
		err = s.cfg.Storage.Set(outboxKey(s.board), o)
	}
	s.stored(ProblemOutbox, err)
}

func (s *Session) saveReplica() {
	if !s.replicaDirty {
		return
	}
	s.replicaDirty = false
	r := s.replica
	if len(r.Topics) > keptTopics { // older pages come back from the server
		r.Topics, r.Complete = r.Topics[:keptTopics], false
	}
	s.stored(ProblemReplica, s.cfg.Storage.Set(replicaKey(s.board), r))
}

// keptTopics bounds a saved replica: older pages the person fetched are
// not worth local storage (a topic is up to ~6 KB as JSON).
const keptTopics = 300

func (s *Session) stored(what string, err error) {
	if had := s.problems[what]; had != (err != nil) {
		s.dirty = true
	}
	if err != nil {
		s.problems[what] = true
	} else {
		delete(s.problems, what)
	}
}

// problem is the worst storage trouble.
func (s *Session) problem() string {
	for _, what := range []string{ProblemToken, ProblemOutbox, ProblemReplica} {
		if s.problems[what] {
			return what
		}
	}
	return ""
}
