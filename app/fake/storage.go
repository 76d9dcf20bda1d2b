package fake

import (
	"encoding/json"
	"errors"
	gosync "sync"
)

// Storage is the twin of a browser origin's local storage, shared by the
// tabs of a test: values are kept as JSON, and Full makes every write fail
// the way a full or blocked storage does.
type Storage struct {
	mu    gosync.Mutex
	items map[string][]byte
	full  bool
}

// NewStorage returns an empty storage.
func NewStorage() *Storage { return &Storage{items: map[string][]byte{}} }

// ErrFull is what writes return while the storage is full.
var ErrFull = errors.New("fake storage: quota exceeded")

// Full makes writes fail (true) or succeed again (false).
func (s *Storage) Full(full bool) {
	s.mu.Lock()
	s.full = full
	s.mu.Unlock()
}

// Get decodes the value at key into v; found is false when there is none.
func (s *Storage) Get(key string, v any) (found bool, err error) {
	s.mu.Lock()
	b, ok := s.items[key]
	s.mu.Unlock()
	if !ok {
		return false, nil
	}
	return true, json.Unmarshal(b, v)
}

// Set stores v at key as JSON.
func (s *Storage) Set(key string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.full {
		return ErrFull
	}
	s.items[key] = b
	return nil
}

// Del removes key.
func (s *Storage) Del(key string) {
	s.mu.Lock()
	delete(s.items, key)
	s.mu.Unlock()
}

// Keys lists the stored keys.
func (s *Storage) Keys() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	keys := make([]string, 0, len(s.items))
	for k := range s.items {
		keys = append(keys, k)
	}
	return keys
}
