package limit

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
)

func TestNewStreamsOff(t *testing.T) {
	for _, tc := range []struct{ max, perClient int }{{0, 0}, {-1, 0}, {0, -1}, {-5, -5}} {
		s := NewStreams(tc.max, tc.perClient)
		if s != nil {
			t.Errorf("NewStreams(%d, %d) = %+v, want nil", tc.max, tc.perClient, s)
		}
		for range 1000 {
			release, refused := s.Acquire(cl("a"))
			if refused != "" || release == nil {
				t.Fatalf("nil Streams: Acquire = (release nil: %v), %q", release == nil, refused)
			}
			release()
		}
		if n := s.Open(); n != 0 {
			t.Errorf("nil Streams: Open = %d", n)
		}
	}
}

// step is one call in a scripted run: acquire for a client (want the
// refusal, "" for none) or release the nth slot taken.
type step struct {
	acquire string
	want    string
	release int // index into the slots taken so far, when acquire == ""
	open    int // Open() after the step
}

func TestStreamsCaps(t *testing.T) {
	for _, tc := range []struct {
		name           string
		max, perClient int
		steps          []step
	}{
		{name: "per client", max: 0, perClient: 2, steps: []step{
			{acquire: "a", open: 1},
			{acquire: "a", open: 2},
			{acquire: "a", want: ClientFull, open: 2},
			{acquire: "b", open: 3}, // a's cap is a's alone
			{acquire: "b", open: 4},
			{acquire: "b", want: ClientFull, open: 4},
			{release: 0, open: 3}, // one of a's
			{acquire: "b", want: ClientFull, open: 3},
			{acquire: "a", open: 4},
			{acquire: "a", want: ClientFull, open: 4},
		}},
		{name: "overall", max: 3, perClient: 0, steps: []step{
			{acquire: "a", open: 1},
			{acquire: "a", open: 2},
			{acquire: "b", open: 3},
			{acquire: "c", want: Full, open: 3},
			{acquire: "a", want: Full, open: 3},
			{release: 2, open: 2}, // b's
			{acquire: "c", open: 3},
			{acquire: "b", want: Full, open: 3},
		}},
		{name: "both", max: 4, perClient: 2, steps: []step{
			{acquire: "a", open: 1},
			{acquire: "a", open: 2},
			{acquire: "a", want: ClientFull, open: 2},
			{acquire: "b", open: 3},
			{acquire: "c", open: 4},
			{acquire: "d", want: Full, open: 4},
			{acquire: "a", want: Full, open: 4}, // both apply: the server is full
			{release: 3, open: 3},               // b's
			{acquire: "a", want: ClientFull, open: 3},
			{acquire: "d", open: 4},
		}},
		{name: "cap of one", max: 1, perClient: 1, steps: []step{
			{acquire: "a", open: 1},
			{acquire: "a", want: Full, open: 1},
			{release: 0, open: 0},
			{acquire: "a", open: 1},
			{release: 1, open: 0},
			{acquire: "b", open: 1},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := NewStreams(tc.max, tc.perClient)
			var slots []func()
			for i, st := range tc.steps {
				if st.acquire != "" {
					release, refused := s.Acquire(cl(st.acquire))
					if refused != st.want {
						t.Fatalf("step %d: Acquire(%q) refused %q, want %q", i, st.acquire, refused, st.want)
					}
					if refused == "" {
						if release == nil {
							t.Fatalf("step %d: Acquire(%q) passed with a nil release", i, st.acquire)
						}
						slots = append(slots, release)
					}
				} else {
					slots[st.release]()
				}
				if n := s.Open(); n != st.open {
					t.Fatalf("step %d: Open = %d, want %d", i, n, st.open)
				}
			}
		})
	}
}

func TestStreamsReleaseTwice(t *testing.T) {
	s := NewStreams(2, 1)
	r1, refused := s.Acquire(cl("a"))
	if refused != "" {
		t.Fatal(refused)
	}
	r2, refused := s.Acquire(cl("b"))
	if refused != "" {
		t.Fatal(refused)
	}
	for range 5 {
		r1()
	}
	if n := s.Open(); n != 1 {
		t.Fatalf("after releasing one slot five times Open = %d, want 1", n)
	}
	// a's count went to zero, not below: a gets exactly one slot again.
	if _, refused := s.Acquire(cl("a")); refused != "" {
		t.Fatalf("a refused %q after its release", refused)
	}
	if _, refused := s.Acquire(cl("a")); refused == "" {
		t.Fatal("a got a second slot: a repeated release counted twice")
	}
	// b's slot still counts toward the overall cap.
	if _, refused := s.Acquire(cl("c")); refused != Full {
		t.Fatalf("c: refused %q, want %q", refused, Full)
	}
	r2()
	r2()
	if n := s.Open(); n != 1 {
		t.Fatalf("Open = %d, want 1", n)
	}
}

func TestStreamsConcurrent(t *testing.T) {
	const max, perClient, clients = 40, 5, 12
	s := NewStreams(max, perClient)
	var held [clients]atomic.Int64
	var over atomic.Int64
	var wg sync.WaitGroup
	for g := range 32 {
		wg.Go(func() {
			for i := range 500 {
				c := (g*7 + i) % clients
				release, refused := s.Acquire(cl(fmt.Sprint("c", c)))
				switch refused {
				case "":
				case Full, ClientFull:
					continue
				default:
					t.Errorf("refused %q", refused)
					return
				}
				if n := held[c].Add(1); n > perClient {
					over.Add(1)
				}
				if n := s.Open(); n > max || n < 1 {
					t.Errorf("Open = %d while holding a slot (max %d)", n, max)
				}
				held[c].Add(-1)
				release()
				if i%3 == 0 {
					release() // a second release must change nothing
				}
			}
		})
	}
	wg.Wait()
	if n := over.Load(); n > 0 {
		t.Errorf("a client held more than %d slots %d times", perClient, n)
	}
	if n := s.Open(); n != 0 {
		t.Fatalf("Open = %d after every release, want 0", n)
	}
	// Every slot is free again: the full overall cap can be taken.
	for i := range max {
		if _, refused := s.Acquire(cl(fmt.Sprint("c", i%(max/perClient)))); refused != "" {
			t.Fatalf("slot %d refused %q after the concurrent run", i, refused)
		}
	}
	if _, refused := s.Acquire(cl("late")); refused != Full {
		t.Fatalf("slot %d: refused %q, want %q", max+1, refused, Full)
	}
}
