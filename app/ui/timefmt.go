package ui

import "time"

// Ago renders t relative to now in English: "just now", "2 min ago",
// "3 h ago", "yesterday", then a date (words.go has every language).
func Ago(now, t time.Time) string { return english.ago(now, t) }
