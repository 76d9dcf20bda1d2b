package store

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
)

// Owner tokens let the author of a topic edit and delete it. Only their
// SHA-256 is stored: a token is 256 random bits, so a fast hash suffices.
//
// A post with an Idempotency-Key must answer a retry with the same token,
// yet the token is not stored. So its token is derived: HMAC of the board
// and key under a secret that never leaves the database. Only the client
// that chose the key can ask for it again.

func newOwnerToken() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func (s *Store) idempotentOwnerToken(board, key string) string {
	m := hmac.New(sha256.New, s.secret)
	m.Write([]byte("owner-token\x00" + board + "\x00" + key))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// tokenMatches compares in constant time, so response timing says nothing
// about how much of a guessed token was right.
func tokenMatches(token, storedHash string) bool {
	if token == "" {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(hashToken(token)), []byte(storedHash)) == 1
}
