package ui

import (
	"fmt"
	"time"
)

// Ago renders t relative to now the way people say it: "just now",
// "2 min ago", "3 h ago", "yesterday", then a date.
func Ago(now, t time.Time) string {
	d := now.Sub(t)
	switch {
	case d < 45*time.Second:
		return "just now"
	case d < time.Hour:
		return fmt.Sprintf("%d min ago", int(d.Round(time.Minute)/time.Minute))
	case d < 24*time.Hour:
		return fmt.Sprintf("%d h ago", int(d/time.Hour))
	case d < 48*time.Hour:
		return "yesterday"
	case now.Year() == t.Year():
		return t.Local().Format("2 Jan")
	default:
		return t.Local().Format("2 Jan 2006")
	}
}
