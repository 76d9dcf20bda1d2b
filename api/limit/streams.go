package limit

import "sync"

// Streams caps the open streams (SSE connections and held long polls): at
// most max overall and perClient per client, a few times that per IPv6
// network (see Client); zero means no cap. An idle stream costs little,
// but not nothing, and one address or network opening thousands would take
// the file descriptors everyone else needs.
type Streams struct {
	max, perClient int

	mu     sync.Mutex
	total  int
	counts map[string]int // by client and by network
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
	Full        = "full"    // the server holds max streams
	ClientFull  = "client"  // this client holds perClient streams
	NetworkFull = "network" // the client's /56 or /48 holds its share
)

// Acquire takes a stream slot for the client. It returns a release
// function to call when the stream ends, or the reason it was refused.
func (s *Streams) Acquire(c Client) (release func(), refused string) {
	if s == nil {
		return func() {}, ""
	}
	scopes := c.scopes()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.max > 0 && s.total >= s.max {
		return nil, Full
	}
	if s.perClient > 0 {
		for i, sc := range scopes {
			if s.counts[sc.key] >= s.perClient*sc.share {
				if i == 0 {
					return nil, ClientFull
				}
				return nil, NetworkFull
			}
		}
	}
	s.total++
	for _, sc := range scopes {
		s.counts[sc.key]++
	}
	var once sync.Once
	return func() { once.Do(func() { s.release(scopes) }) }, ""
}

func (s *Streams) release(scopes []scope) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.total--
	for _, sc := range scopes {
		if s.counts[sc.key]--; s.counts[sc.key] <= 0 {
			delete(s.counts, sc.key)
		}
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
