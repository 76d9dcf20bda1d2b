//go:build !wasm

package sync

import "context"

// Natively there are no other tabs: no channel, and the one tab leads.

// BrowserChannel returns nil outside the browser.
func BrowserChannel(board string) Channel { return nil }

// BrowserElector elects at once outside the browser.
func BrowserElector(ctx context.Context, name string) (func(), error) { return func() {}, nil }
