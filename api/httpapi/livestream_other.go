//go:build !unix

package httpapi

import (
	"net"
	"net/http"

	"github.com/kairan/kairan/api/hub"
)

// Off Unix there are no raw socket writes: detached streams keep their
// goroutines (detach.go).
type (
	liveStreams struct{}
	runQueue    struct{}
)

func (a *api) detachLive(*http.Request, net.Conn, []byte, *hub.Subscription, func()) bool {
	return false
}
