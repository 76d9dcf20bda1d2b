package limit

import "sync"

// Streams caps the open streams (SSE connections and held long polls): at
// most max overall and perClient per client; zero means no cap. An idle
// stream costs little, but not nothing, and one address opening thousands
// would take the file descriptors everyone else needs.
type Streams struct {
	max, perClient int

	mu     sync.Mutex
	total  int
	counts map[string]int
}

// NewStreams returns the caps; both zero returns nil, which caps nothing.
func NewStreams(max, perClient int) *Streams {
	if max <= 0 && perClient <= 0 {
		return nil
	}
	return &Streams{max: max, perClient: perClient, counts: map[string]int{}}
}

// Why a stream was refused.
const (
	Full       = "full"   // the server holds max streams
	ClientFull = "client" // this client holds perClient streams
)

// Acquire takes a stream slot for the client. It returns a release
// function to call when the stream ends, or the reason it was refused.
func (s *Streams) Acquire(client string) (release func(), refused string) {
	if s == nil {
		return func() {}, ""
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.max > 0 && s.total >= s.max {
		return nil, Full
	}
	if s.perClient > 0 && s.counts[client] >= s.perClient {
		return nil, ClientFull
	}
	s.total++
	s.counts[client]++
	var once sync.Once
	return func() { once.Do(func() { s.release(client) }) }, ""
}

func (s *Streams) release(client string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.total--
	if s.counts[client]--; s.counts[client] <= 0 {
		delete(s.counts, client)
	}
}

// Open is how many streams are held.
func (s *Streams) Open() int {
	if s == nil {
		return 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.total
}
