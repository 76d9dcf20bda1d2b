package nginxtest

import (
	"bufio"
	"io"
	"strings"
	"sync"
)

// lines collects nginx's log and lets a test wait for a line: every new
// line closes the channel handed to the waiters, so nobody polls.
type lines struct {
	mu      sync.Mutex
	all     []string
	changed chan struct{}
}

func newLines() *lines { return &lines{changed: make(chan struct{})} }

// read appends r's lines until it ends.
func (l *lines) read(r io.Reader) {
	s := bufio.NewScanner(r)
	for s.Scan() {
		l.mu.Lock()
		l.all = append(l.all, s.Text())
		close(l.changed)
		l.changed = make(chan struct{})
		l.mu.Unlock()
	}
}

func (l *lines) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.all)
}

// find tells whether a line after the first `from` holds text, and gives
// the channel closed by the next line.
func (l *lines) find(from int, text string) (bool, <-chan struct{}) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, line := range l.all[min(from, len(l.all)):] {
		if strings.Contains(line, text) {
			return true, l.changed
		}
	}
	return false, l.changed
}

func (l *lines) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.all, "\n")
}
