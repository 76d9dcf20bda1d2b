package httpapi_test

import (
	"net/http"
	"testing"

	"github.com/kairan/kairan/api/httpapi"
)

// An origin allowed by configuration gets real CORS answers, so a page
// served from it can call the API; any other origin gets none.
func TestAllowedOriginGetsCORS(t *testing.T) {
	const allowed = "https://board.example"
	e := newEnv(t, func(c *httpapi.Config) { c.AllowedOrigins = []string{allowed} })

	pre := e.do(t, http.MethodOptions, "/api/boards/lobby/topics", "", hdr(
		"Origin", allowed, "Access-Control-Request-Method", "POST",
		"Access-Control-Request-Headers", "content-type,idempotency-key"))
	if pre.status != http.StatusNoContent || pre.header.Get("Access-Control-Allow-Origin") != allowed ||
		pre.header.Get("Access-Control-Allow-Methods") == "" || pre.header.Get("Access-Control-Allow-Headers") == "" {
		t.Fatalf("preflight from an allowed origin: %v", pre)
	}
	post := e.do(t, http.MethodPost, "/api/boards/lobby/topics", `{"comment":"from afar"}`, jsonHdr("Origin", allowed))
	wantStatus(t, post, http.StatusCreated)
	if post.header.Get("Access-Control-Allow-Origin") != allowed {
		t.Fatalf("POST from an allowed origin lacks Access-Control-Allow-Origin: %v", post.header)
	}

	other := e.do(t, http.MethodOptions, "/api/boards/lobby/topics", "", hdr(
		"Origin", "https://evil.example", "Access-Control-Request-Method", "POST"))
	if other.header.Get("Access-Control-Allow-Origin") != "" || other.status == http.StatusNoContent {
		t.Fatalf("preflight from a foreign origin: %v", other)
	}
	get := e.do(t, http.MethodGet, "/api/boards/lobby", "", hdr("Origin", "https://evil.example"))
	if get.header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatal("a foreign origin may read the board cross-origin")
	}
}
