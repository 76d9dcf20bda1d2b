//go:build !wasm

package client

// Natively there is no page to leave: requests end with their contexts.

// LeavePage does nothing outside the browser.
func LeavePage() {}

// ReturnToPage does nothing outside the browser.
func ReturnToPage() {}
