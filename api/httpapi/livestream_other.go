//go:build !linux

package httpapi

import (
	"log/slog"
	"net"
	"net/http"

	"github.com/kairan/kairan/api/hub"
)

// Off Linux there is no hang-up loop: detached streams keep their
// goroutines (detach.go).
type (
	liveStreams struct{}
	runQueue    struct{}
)

func (q *runQueue) configure(bool, *slog.Logger) {}

func (a *api) detachLive(*http.Request, net.Conn, []byte, *hub.Subscription, func(), framing) bool {
	return false
}
