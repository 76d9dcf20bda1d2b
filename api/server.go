package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"net/netip"
	"net/url"
	"sync"
	"time"

	"github.com/kairan/kairan/api/config"
	"github.com/kairan/kairan/api/httpapi"
	"github.com/kairan/kairan/api/hub"
	"github.com/kairan/kairan/api/hub/pgnotify"
	"github.com/kairan/kairan/api/limit"
	"github.com/kairan/kairan/api/picture"
	"github.com/kairan/kairan/api/store"
	"github.com/kairan/kairan/app/ui"
	"github.com/kairan/kairan/shared"
	"github.com/kairan/kairan/web"
)

// Main is the running server: it owns the store, the listener and the HTTP
// server, and closes them in order.
type Main struct {
	Config config.Config
	Logger *slog.Logger

	store   *store.Store
	hub     *hub.Hub
	handler *httpapi.Handler
	ln      net.Listener
	server  *http.Server
	served  chan error

	// version overrides the build's version (a hash of app.wasm); tests
	// use it to play a new release.
	version string
	// heartbeat overrides the hub's keep-alive tick (7 s); tests shorten it
	// to watch clients tell a silent connection from a quiet board.
	heartbeat time.Duration

	stopPruning   func()
	stopListening func()
	stopPprof     func()
	stopMetrics   func()
	metricsLn     net.Listener
	pprofLn       net.Listener
	stopBoards    func()
	closeOnce     sync.Once
	closeErr      error
}

var registerRoutes sync.Once

// Open opens the database, listens (so a taken port fails here, at once)
// and starts serving in the background.
func (m *Main) Open(ctx context.Context) error {
	dialect, target, err := m.Config.Database()
	if err != nil {
		return err
	}
	modToken, err := m.Config.ModeratorToken()
	if err != nil {
		return err
	}
	blocked, err := m.Config.Blocklist()
	if err != nil {
		return err
	}
	m.store, err = store.Open(ctx, store.Options{Dialect: dialect, Target: target, Logger: m.Logger,
		MaxTopicsPerBoard: m.Config.MaxTopicsPerBoard, MaxTopics: m.Config.MaxTopics, MaxBoards: m.Config.MaxBoards,
		MaxUnusedImageBytes: m.Config.MaxUnusedImageBytes})
	if err != nil {
		return err
	}
	assets := newAssets(web.FS)
	if assets.rawLen == 0 {
		m.Logger.Warn("web/app.wasm is not built: the API works but the page cannot start; run `go tool task build`")
	}
	// The version hashes app.wasm (7.6 MB): once per start.
	version := cmp.Or(m.version, assets.version())
	metrics := httpapi.NewMetrics()
	m.hub, err = hub.New(ctx, hub.Config{Log: m.store, Logger: m.Logger, Metrics: metrics.Hub(), Heartbeat: m.heartbeat})
	if err != nil {
		m.store.Close()
		return err
	}
	registerRoutes.Do(ui.Routes)
	m.handler = httpapi.New(httpapi.Config{
		Store: m.store, Feed: m.hub, Metrics: metrics, Logger: m.Logger, ModeratorToken: modToken,
		AllowedOrigins: m.Config.AllowedOrigins, Hosts: m.Config.Hosts(), App: pages(newPWA(assets, version, m.Config.PublicURL), m.Config.PublicURL),
		Writes:         limit.NewWrites(m.Config.RateLimit),
		Streams:        limit.NewStreams(m.Config.MaxStreams, m.Config.MaxStreamsPerClient),
		Proxies:        m.Config.TrustProxy,
		PrivateMetrics: m.Config.MetricsAddr != "",
		Blocklist:      blocked,
		BodyTimeout:    m.Config.ReadTimeout,
		Images: httpapi.Images{MaxBytes: m.Config.MaxImageBytes, Limits: picture.Limits{
			MaxPixels: m.Config.MaxImagePixels, MaxSide: m.Config.MaxImageSide, PreviewSide: shared.PreviewSide}},
		ImageBytes:    limit.NewBytes(m.Config.ImageBytesPerHour),
		WriteOneByOne: !m.Config.IOURing,
	})
	// The profiler's port first: a bad --pprof-addr fails before the
	// public listener ever answers.
	if m.stopPprof, err = m.servePprof(); err != nil {
		m.hub.Close()
		m.store.Close()
		return err
	}
	if m.stopMetrics, err = m.serveMetrics(metrics); err != nil {
		m.stopPprof()
		m.hub.Close()
		m.store.Close()
		return err
	}
	m.ln, err = net.Listen("tcp", m.Config.Addr)
	if err != nil {
		m.stopMetrics()
		m.stopPprof()
		m.hub.Close()
		m.store.Close()
		return fmt.Errorf("listen on %s: %w", m.Config.Addr, err)
	}
	// Prerendered pages show their board's newest topics (app/ui).
	m.stopBoards = ui.ServeBoards(func(ctx context.Context, board string) (shared.Snapshot, error) {
		return m.store.Snapshot(ctx, board, shared.DefaultSnapshotLen)
	})
	m.server = &http.Server{
		Handler: m.handler,
		// Only headers get a server-wide read deadline: a server-wide
		// ReadTimeout or WriteTimeout would also cut long-lived streams.
		// Bodies get their own deadline in the handlers that read them.
		ReadHeaderTimeout: m.Config.ReadTimeout,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    32 << 10,
		ErrorLog:          slog.NewLogLogger(m.Logger.Handler(), slog.LevelWarn),
	}
	// Streams never end by themselves: when shutdown begins, the hub ends
	// them so clients reconnect (elsewhere, or here after the restart).
	m.server.RegisterOnShutdown(m.hub.Close)
	m.served = make(chan error, 1)
	go func() { m.served <- m.server.Serve(m.ln) }()
	m.stopPruning = m.pruneHistory()
	m.stopListening = func() {}
	if dialect == store.Postgres {
		// Other replicas write too: their commits reach this hub through
		// LISTEN/NOTIFY (with a safety poll), as this one's reach theirs.
		lctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); pgnotify.Listen(lctx, target, m.hub, m.Logger) }()
		m.stopListening = func() { cancel(); <-done }
	}
	m.Logger.Info("kairan serving", "url", m.URL(), "db", string(dialect)+":"+redact(target),
		"epoch", m.store.Epoch(), "version", version, "moderation", modToken != "",
		"blocklist", blocked.Len(), "rate_limit", m.Config.RateLimit, "max_topics_per_board", m.Config.MaxTopicsPerBoard,
		"max_topics", m.Config.MaxTopics, "max_boards", m.Config.MaxBoards)
	m.warnIfFull(ctx)
	return nil
}

// URL is where the server listens, e.g. http://127.0.0.1:8080.
func (m *Main) URL() string { return "http://" + m.ln.Addr().String() }

// Close stops accepting, ends the streams, lets in-flight requests finish
// within the shutdown timeout, then closes the database. Later calls
// return the first call's result.
func (m *Main) Close() error {
	m.closeOnce.Do(func() { m.closeErr = m.close() })
	return m.closeErr
}

func (m *Main) close() error {
	ctx, cancel := context.WithTimeout(context.Background(), m.Config.ShutdownTimeout)
	defer cancel()
	shutdownErr := m.server.Shutdown(ctx)
	if errors.Is(shutdownErr, context.DeadlineExceeded) {
		m.Logger.Warn("in-flight requests did not finish in time; closing them", "timeout", m.Config.ShutdownTimeout)
		shutdownErr = m.server.Close()
	}
	if err := <-m.served; !errors.Is(err, http.ErrServerClosed) {
		shutdownErr = errors.Join(shutdownErr, err)
	}
	m.stopListening()
	m.hub.Close()
	m.handler.Wait() // detached streams end once the hub has closed
	m.stopPruning()
	m.stopBoards()
	m.stopPprof()
	m.stopMetrics()
	return errors.Join(shutdownErr, m.store.Close())
}

// pruneHistory trims the change log, forgets expired idempotency keys and
// removes pictures no post attached within a day, now and every minute,
// until the returned stop function is called (it waits for the goroutine
// to end).
func (m *Main) pruneHistory() (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(time.Minute)
		defer tick.Stop()
		for {
			// During a storage outage (a 503 error) pruning waits: the
			// outage is logged once where it is found, not every minute.
			if through, err := m.store.PruneHistory(ctx, m.Config.History, m.Config.HistoryAge); err != nil && ctx.Err() == nil {
				m.Logger.Log(ctx, pruneLevel(err), "prune change log", "err", err)
			} else if err == nil {
				m.Logger.Debug("change log pruned", "through", through)
			}
			if n, err := m.store.PruneIdempotency(ctx, m.Config.IdempotencyTTL); err != nil && ctx.Err() == nil {
				m.Logger.Log(ctx, pruneLevel(err), "prune idempotency keys", "err", err)
			} else if n > 0 {
				m.Logger.Debug("idempotency keys expired", "count", n)
			}
			if n, err := m.store.PruneImages(ctx, store.UnusedImageTTL); err != nil && ctx.Err() == nil {
				m.Logger.Log(ctx, pruneLevel(err), "prune unused pictures", "err", err)
			} else if n > 0 {
				m.Logger.Debug("unused pictures removed", "count", n)
			}
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
	return func() { cancel(); <-done }
}

// warnIfFull says at start when the database already holds what a cap
// allows (an upgrade to a release with caps, or a cap lowered): posts, or
// new boards, are refused from the first request.
func (m *Main) warnIfFull(ctx context.Context) {
	topics, boards, err := m.store.Usage(ctx)
	if err != nil {
		return
	}
	if m.Config.MaxTopics > 0 && topics >= int64(m.Config.MaxTopics) {
		m.Logger.Warn("the database holds --max-topics topics already: every new post is refused (too_many_topics) until topics are deleted or the cap is raised",
			"topics", topics, "max_topics", m.Config.MaxTopics)
	}
	if m.Config.MaxBoards > 0 && boards >= int64(m.Config.MaxBoards) {
		m.Logger.Warn("the database holds --max-boards boards already: a post that would start a new board is refused (too_many_boards)",
			"boards", boards, "max_boards", m.Config.MaxBoards)
	}
}

// pruneLevel is warn for a failure, debug for a storage outage.
func pruneLevel(err error) slog.Level {
	if shared.ErrorCode(err) == shared.CodeUnavailable {
		return slog.LevelDebug
	}
	return slog.LevelWarn
}

// redact hides the password of a postgres:// URL for the log.
func redact(target string) string {
	u, err := url.Parse(target)
	if err != nil || u.User == nil {
		return target
	}
	return u.Redacted()
}

// servePprof serves Go's profiler on Config.PprofAddr (a loopback address,
// checked by config), on a mux of its own: never on the public listener.
func (m *Main) servePprof() (stop func(), err error) {
	if m.Config.PprofAddr == "" {
		return func() {}, nil
	}
	ln, err := net.Listen("tcp", m.Config.PprofAddr)
	if err != nil {
		return nil, fmt.Errorf("--pprof-addr: %w", err)
	}
	m.pprofLn = ln
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: httpapi.LoopbackOnly(mux), ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() { defer close(done); srv.Serve(ln) }()
	m.Logger.Info("profiler serving", "url", "http://"+ln.Addr().String()+"/debug/pprof/")
	return func() { srv.Close(); <-done }, nil
}

// serveMetrics serves /metrics on Config.MetricsAddr, a listener of its
// own that a firewall can keep private, when one is set.
func (m *Main) serveMetrics(metrics *httpapi.Metrics) (stop func(), err error) {
	if m.Config.MetricsAddr == "" {
		return func() {}, nil
	}
	ln, err := net.Listen("tcp", m.Config.MetricsAddr)
	if err != nil {
		return nil, fmt.Errorf("--metrics-addr: %w", err)
	}
	m.metricsLn = ln
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", metrics.Handler())
	var h http.Handler = mux
	if ap, err := netip.ParseAddrPort(ln.Addr().String()); err == nil && ap.Addr().IsLoopback() {
		h = httpapi.LoopbackOnly(mux)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() { defer close(done); srv.Serve(ln) }()
	m.Logger.Info("metrics serving", "url", "http://"+ln.Addr().String()+"/metrics")
	return func() { srv.Close(); <-done }, nil
}

// metricsAddr is where --metrics-addr listens ("" when it is not set).
func (m *Main) metricsAddr() string {
	if m.metricsLn == nil {
		return ""
	}
	return m.metricsLn.Addr().String()
}

// pprofURL is where --pprof-addr listens ("" when it is not set).
func (m *Main) pprofURL() string {
	if m.pprofLn == nil {
		return ""
	}
	return "http://" + m.pprofLn.Addr().String()
}

// Reload re-reads what may change while serving: the blocklist file. On an
// error the list in use stays, and the error says why.
func (m *Main) Reload() error {
	l, err := m.Config.Blocklist()
	if err != nil {
		m.Logger.Warn("reload: blocklist kept as it was", "err", err)
		return err
	}
	m.handler.SetBlocklist(l)
	m.Logger.Info("reloaded", "blocklist", l.Len())
	return nil
}
