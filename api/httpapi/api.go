// Package httpapi is kairan's HTTP surface: one route table, the JSON
// helpers and error mapping, and the REST handlers of the wire contract
// (DESIGN.md section 3).
package httpapi

import (
	"cmp"
	"context"
	"crypto/subtle"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kairan/kairan/api/blocklist"
	"github.com/kairan/kairan/api/limit"
	"github.com/kairan/kairan/api/picture"
	"github.com/kairan/kairan/api/store"
	"github.com/kairan/kairan/shared"
)

// Store is what the handlers need of the database.
type Store interface {
	Snapshot(ctx context.Context, board string, limit int) (shared.Snapshot, error)
	Older(ctx context.Context, board string, before int64, limit int) (shared.Snapshot, error)
	CreateTopic(ctx context.Context, in store.NewTopic) (store.Created, error)
	EditTopic(ctx context.Context, board string, id int64, comment string, who store.Actor) (shared.Topic, shared.Change, error)
	DeleteTopic(ctx context.Context, board string, id int64, who store.Actor) (shared.Change, error)
	CreateImage(ctx context.Context, in store.NewImage) (store.CreatedImage, error)
	ReadImage(ctx context.Context, id string, preview bool) (store.ImageFile, error)
	Ping(ctx context.Context) error
}

// Config wires the API.
type Config struct {
	Store Store
	// Feed follows boards for the SSE and long-poll endpoints, and is
	// woken after every write.
	Feed    Feed
	Metrics *Metrics
	Logger  *slog.Logger
	// ModeratorToken may delete any topic; empty disables moderation.
	ModeratorToken string
	// AllowedOrigins may write cross-origin besides the server's own.
	AllowedOrigins []string
	// Hosts, when not nil, are the only names answered in Host (any port)
	// besides loopback addresses; others get 421 unknown_host.
	Hosts []string
	// App serves everything outside /api/ and /healthz: the PWA. It gets
	// GET and HEAD only; other methods are answered 405 before it.
	App http.Handler
	// PrivateMetrics leaves /metrics off this handler: the operator serves
	// Metrics.Handler on a listener of its own (--metrics-addr).
	PrivateMetrics bool

	// Writes limits each client's write rate (nil: no limit).
	Writes *limit.Writes
	// Streams caps open streams (nil: no cap).
	Streams *limit.Streams
	// Proxies are trusted to name the client in X-Forwarded-For.
	Proxies limit.Proxies
	// Blocklist refuses posts and edits holding its words (nil: none).
	Blocklist *blocklist.List
	// BodyTimeout bounds reading a write's body (default 10 s), so a
	// client trickling it cannot hold a handler.
	BodyTimeout time.Duration
	// Images configures picture uploads (images.go).
	Images Images
	// ImageBytes is each client's budget of picture bytes (nil: none).
	ImageBytes *limit.Writes
	// WriteOneByOne makes the live streams' workers write with one
	// write(2) per stream instead of handing each batch to the kernel at
	// once through io_uring (Linux; livestream.go).
	WriteOneByOne bool
}

type api struct {
	store          Store
	feed           Feed
	metrics        *Metrics
	log            *slog.Logger
	moderatorToken string
	allowedOrigins map[string]bool
	hosts          map[string]bool // nil: every name (origin.go)
	writes         *limit.Writes
	modGuesses     *limit.Writes // wrong moderator tokens (moderator.go)
	streams        *limit.Streams
	proxies        limit.Proxies
	blocklist      atomic.Pointer[blocklist.List] // swapped by SetBlocklist
	bodyTimeout    time.Duration
	images         Images
	imageBytes     *limit.Writes
	decodes        chan struct{} // a slot per upload being decoded
	// detached counts the detached streams that have not ended (detach.go).
	detached sync.WaitGroup
	hangups  hangups     // notices detached streams' clients hanging up
	live     liveStreams // detached streams once caught up (livestream.go)
	runq     runQueue    // live streams waiting for a worker
}

// Handler is the API's HTTP handler. Wait returns once every detached
// stream has ended; the hub ends them when it closes.
type Handler struct {
	http.Handler
	api *api
}

// Wait waits for the detached streams to end. The goroutines that served
// them (workers, the hang-up and heartbeat loops) have been told to stop
// by then and end on their own a moment later.
func (h *Handler) Wait() { h.api.detached.Wait() }

// SetBlocklist replaces the blocklist for the writes that follow (the
// operator edited the file and sent SIGHUP).
func (h *Handler) SetBlocklist(l *blocklist.List) { h.api.blocklist.Store(l) }

// New returns the whole HTTP handler: routes plus middleware.
func New(c Config) *Handler {
	a := &api{store: c.Store, feed: c.Feed, metrics: c.Metrics, log: c.Logger,
		moderatorToken: c.ModeratorToken, allowedOrigins: map[string]bool{},
		writes: c.Writes, modGuesses: newModGuesses(), streams: c.Streams, proxies: c.Proxies,
		bodyTimeout: cmp.Or(c.BodyTimeout, defaultBodyTimeout), images: c.Images, imageBytes: c.ImageBytes}
	a.images.MaxBytes = cmp.Or(a.images.MaxBytes, shared.MaxImageBytes)
	if a.images.Limits == (picture.Limits{}) {
		a.images.Limits = picture.DefaultLimits
	}
	a.decodes = make(chan struct{}, cmp.Or(a.images.Decodes, 2))
	if a.metrics == nil {
		a.metrics = NewMetrics()
	}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	a.blocklist.Store(c.Blocklist)
	a.runq.configure(c.WriteOneByOne, a.log)
	for _, o := range c.AllowedOrigins {
		a.allowedOrigins[o] = true
	}
	if c.Hosts != nil {
		a.hosts = map[string]bool{}
		for _, h := range c.Hosts {
			a.hosts[hostName(h)] = true
		}
	}
	return &Handler{Handler: a.routes(c.App, !c.PrivateMetrics), api: a}
}

// routes is the one route table.
func (a *api) routes(app http.Handler, publicMetrics bool) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/boards/{board}", a.getBoard)
	mux.HandleFunc("POST /api/boards/{board}/topics", a.createTopic)
	mux.HandleFunc("PATCH /api/boards/{board}/topics/{id}", a.editTopic)
	mux.HandleFunc("DELETE /api/boards/{board}/topics/{id}", a.deleteTopic)
	mux.HandleFunc("POST /api/boards/{board}/images", a.uploadImage)
	mux.HandleFunc("GET /api/images/{id}", a.serveImage(false))
	mux.HandleFunc("GET /api/images/{id}/preview", a.serveImage(true))
	mux.HandleFunc("GET /api/boards/{board}/events", a.capStreams(a.events))
	mux.HandleFunc("GET /api/boards/{board}/changes", a.capStreams(a.changes))
	mux.HandleFunc("GET /api/moderator", a.checkModerator)
	mux.HandleFunc("GET /healthz", a.health)
	if publicMetrics {
		mux.Handle("GET /metrics", a.metrics.Handler())
	}
	mux.HandleFunc("/api/", a.unknownRoute)
	mux.Handle("/", a.pages(app))
	return a.metrics.instrument(a.logRequests(a.recoverPanics(securityHeaders(a.bodyDeadline(a.knownHosts(a.sameOriginWrites(a.limitWrites(mux))))))))
}

// pages hands what is not an API call to app when it is read (GET or
// HEAD): pages are only read, whatever method token a client makes up.
// (A "GET /" pattern would conflict with "/api/" in the mux.)
func (a *api) pages(app http.Handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method != http.MethodGet && r.Method != http.MethodHead:
			w.Header().Set("Allow", "GET, HEAD")
			a.writeError(w, r, shared.Errorf(shared.CodeMethodNotAllowed,
				"Pages are only read (GET or HEAD); the API is under /api/, see the README."))
		case app == nil:
			a.writeError(w, r, shared.Errorf(shared.CodeNotFound, "There is no page at "+clip(r.URL.Path)+"."))
		default:
			app.ServeHTTP(w, r)
		}
	}
}

func (a *api) unknownRoute(w http.ResponseWriter, r *http.Request) {
	a.writeError(w, r, shared.Errorf(shared.CodeNotFound,
		"There is no API endpoint at "+r.Method+" "+clip(r.URL.Path)+"; see the README for the API."))
}

// health is GET /healthz: {"status":"ok"}, or 503 with the reason and the
// contract's error body, so both load balancers and people can read it.
func (a *api) health(w http.ResponseWriter, r *http.Request) {
	err := a.store.Ping(r.Context())
	if err == nil {
		a.writeJSON(w, r, http.StatusOK, map[string]string{"status": "ok"})
		return
	}
	reason := string(store.ReasonOf(err))
	if reason == "" {
		// Not storage trouble kairan knows: the log has the detail.
		a.log.WarnContext(r.Context(), "health check failed", "err", err)
		reason = "database_error"
		err = &shared.Error{Code: shared.CodeUnavailable, RetryAfter: 5 * time.Second,
			Message: "The database does not answer; the server's log says why."}
	}
	status, e := a.errorHeaders(w, r, err)
	a.writeJSON(w, r, status, unhealthy{Status: "unavailable", Reason: reason, Error: e})
}

// unhealthy is the /healthz body when the database cannot serve: the
// contract's error body with the status and reason beside it.
type unhealthy struct {
	Status string        `json:"status"`
	Reason string        `json:"reason"`
	Error  *shared.Error `json:"error"`
}

// isModerator compares in constant time.
func (a *api) isModerator(token string) bool {
	return a.moderatorToken != "" &&
		subtle.ConstantTimeCompare([]byte(token), []byte(a.moderatorToken)) == 1
}
