// Package config is kairan's one configuration struct: defaults, loading
// from environment variables and flags (flags win), and validation.
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/kairan/kairan/api/blocklist"
	"github.com/kairan/kairan/api/limit"
	"github.com/kairan/kairan/api/store"
	"github.com/kairan/kairan/shared"
)

// Config is everything `kairan serve` can be told.
type Config struct {
	// Addr is the TCP address to listen on.
	Addr string
	// DB is a SQLite file path, "sqlite:PATH", or a postgres:// URL.
	DB string
	// ModeratorTokenFile names a file holding the moderator's token.
	ModeratorTokenFile string
	// AllowedOrigins may write cross-origin (scheme://host[:port]); the
	// server's own origin is always allowed.
	AllowedOrigins []string
	// PublicURL is where people reach kairan (https://host[:port]), for
	// the absolute URLs of link previews; "" leaves them out.
	PublicURL string
	// ShutdownTimeout bounds how long in-flight requests may finish after
	// SIGINT or SIGTERM.
	ShutdownTimeout time.Duration
	// LogLevel is debug, info, warn or error.
	LogLevel string
	// LogFormat is text (logfmt-like lines for a person) or json (one
	// object per line for a log collector).
	LogFormat string
	// History is how many change-log rows are kept; clients whose cursor
	// is older start over from a snapshot (a reset).
	History int64
	// HistoryAge also prunes changes older than this (0 keeps them by
	// count only).
	HistoryAge time.Duration
	// IdempotencyTTL is how long an Idempotency-Key is remembered: a
	// retry within it replays the first answer, a later one posts again.
	IdempotencyTTL time.Duration

	// ModeratorTokenEnv is the moderator token given in the environment
	// (KAIRAN_MODERATOR_TOKEN) rather than a file. There is no flag: a
	// command line is visible to every user of the machine.
	ModeratorTokenEnv string
	// RateLimit is how many writes (posts, edits, deletes) a client may
	// make per minute, after a burst of limit.WriteBurst; 0 turns it off.
	RateLimit int
	// MaxStreams caps the open streams (SSE and held long polls) overall,
	// MaxStreamsPerClient per client address; 0 turns a cap off.
	MaxStreams          int
	MaxStreamsPerClient int
	// MaxTopicsPerBoard caps a board: each post beyond it deletes the
	// board's oldest topics (as ordinary delete changes); 0 turns it off.
	MaxTopicsPerBoard int
	// MaxTopics caps the topics of all boards together and MaxBoards the
	// boards holding topics: posts beyond either are refused; 0 turns a
	// cap off.
	MaxTopics int
	MaxBoards int
	// BlocklistFile names a file of words and phrases posts may not hold.
	BlocklistFile string
	// TrustProxy are the reverse proxies whose X-Forwarded-For names the
	// client, and whose X-Forwarded-Proto and -Host name the origin it
	// asked for; without it the connection says both.
	TrustProxy limit.Proxies
	// ReadTimeout bounds reading a request's headers, and its body
	// separately, so clients that trickle bytes are cut off.
	ReadTimeout time.Duration
	// PprofAddr, when set, serves Go's profiler on this loopback address
	// (never on the public listener).
	PprofAddr string
	// MetricsAddr, when set, serves /metrics on this address instead of
	// the public listener (which then answers /metrics as an unknown page).
	MetricsAddr string

	// MaxImageBytes bounds a picture upload's body.
	MaxImageBytes int64
	// MaxImagePixels refuses an upload whose header claims more pixels,
	// before it is decoded.
	MaxImagePixels int64
	// MaxImageSide is the longest side of a kept picture (larger ones are
	// shrunk).
	MaxImageSide int
	// ImageBytesPerHour is each client's budget of uploaded picture
	// bytes an hour (0 = no budget; the write rate still applies).
	ImageBytesPerHour int64
	// MaxUnusedImageBytes caps the bytes of uploads no post has used yet,
	// all clients together (0 = no cap).
	MaxUnusedImageBytes int64
	// IOURing lets the live streams hand a fan-out's writes to the kernel
	// in batches through io_uring (Linux, where the kernel allows it;
	// elsewhere, or when false, one write(2) per stream).
	IOURing bool
}

// boolText is a boolean flag held as text until Load checks it: bare
// (--io-uring) it means true, and only --name=value sets it otherwise, as
// for the flag package's own booleans.
type boolText struct{ p *string }

func (b boolText) String() string {
	if b.p == nil {
		return ""
	}
	return *b.p
}
func (b boolText) Set(v string) error { *b.p = v; return nil }
func (b boolText) IsBoolFlag() bool   { return true }

// Default returns the configuration `go tool task run` uses.
func Default() Config {
	return Config{
		Addr:            "127.0.0.1:8080",
		DB:              "kairan.db",
		ShutdownTimeout: 10 * time.Second,
		LogLevel:        "info",
		LogFormat:       "text",
		History:         10000,
		HistoryAge:      7 * 24 * time.Hour,
		IdempotencyTTL:  store.DefaultIdempotencyTTL,

		RateLimit:           60,
		MaxStreams:          20000,
		MaxStreamsPerClient: 100,
		MaxTopicsPerBoard:   1000,
		// A 1 GB VPS: posts of 2,000 four-byte characters take ~8.7 KB
		// each on SQLite, so 30,000 of them ~260 MB, plus the history
		// (~130 MB at --history 10000); ordinary posts take under 1 KB. Boards cost only their topics; 1,000 is
		// room for any community and bounds the count a new board makes.
		MaxTopics:   30000,
		MaxBoards:   1000,
		ReadTimeout: 10 * time.Second,

		MaxImageBytes:  shared.MaxImageBytes,
		MaxImagePixels: shared.MaxImagePixels,
		MaxImageSide:   shared.MaxImageSide,
		// Eight full-size uploads, or ~60 photos as phones send them
		// shrunk (~1 MB), at once; the same again each hour.
		ImageBytesPerHour: 64 << 20,
		// Uploads wait unused only until their post; far more than people
		// posting need, far less than a disk.
		MaxUnusedImageBytes: 256 << 20,
		IOURing:             true,
	}
}

// Load reads environment variables (KAIRAN_ADDR, …) over the defaults, then
// flags over those, and validates the result.
func Load(args []string, getenv func(string) string, usage io.Writer) (Config, error) {
	c := Default()
	fs := flag.NewFlagSet("kairan serve", flag.ContinueOnError)
	fs.SetOutput(usage)
	var origins string
	str := func(p *string, name, env, help string) {
		if v := getenv(env); v != "" {
			*p = v
		}
		fs.StringVar(p, name, *p, help+" (env "+env+")")
	}
	str(&c.Addr, "addr", "KAIRAN_ADDR", "address to listen on")
	str(&c.DB, "db", "KAIRAN_DB", "database: a SQLite file path, sqlite:PATH, or postgres://…")
	str(&c.ModeratorTokenFile, "moderator-token-file", "KAIRAN_MODERATOR_TOKEN_FILE", "file holding the moderator token")
	str(&origins, "allow-origin", "KAIRAN_ALLOW_ORIGIN", "comma-separated origins that may write cross-origin")
	str(&c.PublicURL, "public-url", "KAIRAN_PUBLIC_URL", "where people reach kairan, e.g. https://board.example.org (for link previews)")
	str(&c.LogLevel, "log-level", "KAIRAN_LOG_LEVEL", "debug, info, warn or error")
	str(&c.LogFormat, "log-format", "KAIRAN_LOG_FORMAT", "text or json (one JSON object per line)")
	shutdown := c.ShutdownTimeout.String()
	str(&shutdown, "shutdown-timeout", "KAIRAN_SHUTDOWN_TIMEOUT", "time in-flight requests get to finish on shutdown")
	history := strconv.FormatInt(c.History, 10)
	str(&history, "history", "KAIRAN_HISTORY", "change-log rows kept for clients to resume from")
	historyAge := c.HistoryAge.String()
	str(&historyAge, "history-age", "KAIRAN_HISTORY_AGE", "also prune changes older than this (0 = by count only)")
	idemTTL := c.IdempotencyTTL.String()
	str(&idemTTL, "idempotency-ttl", "KAIRAN_IDEMPOTENCY_TTL", "how long an Idempotency-Key is remembered (at least 1h)")
	c.ModeratorTokenEnv = getenv("KAIRAN_MODERATOR_TOKEN")
	var ints []func() error
	num := func(p *int, name, env, help string) {
		text := strconv.Itoa(*p)
		str(&text, name, env, help)
		ints = append(ints, func() error {
			n, err := strconv.Atoi(strings.TrimSpace(text))
			if err != nil || n < 0 {
				return fmt.Errorf("--%s %q must be a whole number, 0 or more (0 turns it off)", name, text)
			}
			*p = n
			return nil
		})
	}
	num(&c.RateLimit, "rate-limit", "KAIRAN_RATE_LIMIT", "writes per minute per client (0 = off)")
	num(&c.MaxStreams, "max-streams", "KAIRAN_MAX_STREAMS", "open streams overall (0 = no cap)")
	num(&c.MaxStreamsPerClient, "max-streams-per-client", "KAIRAN_MAX_STREAMS_PER_CLIENT", "open streams per client address (0 = no cap)")
	num(&c.MaxTopicsPerBoard, "max-topics-per-board", "KAIRAN_MAX_TOPICS_PER_BOARD", "topics kept per board; older ones are deleted (0 = no cap)")
	num(&c.MaxTopics, "max-topics", "KAIRAN_MAX_TOPICS", "topics on all boards together; new posts beyond it are refused (0 = no cap)")
	num(&c.MaxBoards, "max-boards", "KAIRAN_MAX_BOARDS", "boards with topics; a post starting one more is refused (0 = no cap)")
	str(&c.BlocklistFile, "blocklist-file", "KAIRAN_BLOCKLIST_FILE", "file of words and phrases posts may not hold, one per line")
	var proxies string
	str(&proxies, "trust-proxy", "KAIRAN_TRUST_PROXY", "comma-separated proxy addresses or CIDRs whose X-Forwarded-For, -Proto and -Host are believed")
	str(&c.PprofAddr, "pprof-addr", "KAIRAN_PPROF_ADDR", "serve /debug/pprof/ on this loopback address, e.g. 127.0.0.1:6060 (off when empty)")
	str(&c.MetricsAddr, "metrics-addr", "KAIRAN_METRICS_ADDR", "serve /metrics on this host:port instead of the public address, e.g. 127.0.0.1:9090")
	num64 := func(p *int64, name, env string, least int64, help string) {
		text := strconv.FormatInt(*p, 10)
		str(&text, name, env, help)
		ints = append(ints, func() error {
			n, err := strconv.ParseInt(strings.TrimSpace(text), 10, 64)
			if err != nil || n < least {
				return fmt.Errorf("--%s %q must be a whole number of at least %d", name, text, least)
			}
			*p = n
			return nil
		})
	}
	num64(&c.MaxImageBytes, "max-image-bytes", "KAIRAN_MAX_IMAGE_BYTES", 64<<10, "largest picture upload in bytes")
	num64(&c.MaxImagePixels, "max-image-pixels", "KAIRAN_MAX_IMAGE_PIXELS", 1_000_000, "pixels an upload may claim, checked before decoding")
	num(&c.MaxImageSide, "max-image-side", "KAIRAN_MAX_IMAGE_SIDE", "longest side of a kept picture in pixels (480 to 8192)")
	num64(&c.ImageBytesPerHour, "image-bytes-per-hour", "KAIRAN_IMAGE_BYTES_PER_HOUR", 0, "picture bytes a client may upload an hour (0 = no budget)")
	num64(&c.MaxUnusedImageBytes, "max-unused-image-bytes", "KAIRAN_MAX_UNUSED_IMAGE_BYTES", 0, "bytes of uploaded pictures no post uses yet, all clients together (0 = no cap)")
	ioURing := strconv.FormatBool(c.IOURing)
	if v := getenv("KAIRAN_IO_URING"); v != "" {
		ioURing = v
	}
	fs.Var(boolText{&ioURing}, "io-uring", "write to live streams in batches through io_uring where the kernel allows it; --io-uring=false writes one by one (env KAIRAN_IO_URING)")
	readTimeout := c.ReadTimeout.String()
	str(&readTimeout, "read-timeout", "KAIRAN_READ_TIMEOUT", "time a client gets to send a request's headers, and again its body")
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	for _, parse := range ints {
		if err := parse(); err != nil {
			return Config{}, err
		}
	}
	var err error
	if c.IOURing, err = strconv.ParseBool(strings.TrimSpace(ioURing)); err != nil {
		return Config{}, fmt.Errorf("--io-uring %q must be true or false", ioURing)
	}
	if c.TrustProxy, err = limit.ParseProxies(proxies); err != nil {
		return Config{}, err
	}
	if c.ReadTimeout, err = time.ParseDuration(readTimeout); err != nil || c.ReadTimeout <= 0 {
		return Config{}, fmt.Errorf("--read-timeout %q is not a positive duration such as 10s", readTimeout)
	}
	n, err := strconv.ParseInt(history, 10, 64)
	if err != nil || n < 100 {
		return Config{}, fmt.Errorf("--history %q must be a whole number of at least 100", history)
	}
	c.History = n
	if c.HistoryAge, err = time.ParseDuration(historyAge); err != nil || c.HistoryAge < 0 {
		return Config{}, fmt.Errorf("--history-age %q is not a duration such as 168h (or 0)", historyAge)
	}
	if c.IdempotencyTTL, err = time.ParseDuration(idemTTL); err != nil || c.IdempotencyTTL < time.Hour {
		return Config{}, fmt.Errorf("--idempotency-ttl %q is not a duration of at least 1h such as 168h: a phone's outbox may wait that long to send", idemTTL)
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("unexpected argument %q; every setting is a --flag", fs.Arg(0))
	}
	d, err := time.ParseDuration(shutdown)
	if err != nil {
		return Config{}, fmt.Errorf("--shutdown-timeout %q is not a duration such as 10s", shutdown)
	}
	c.ShutdownTimeout = d
	for _, o := range strings.Split(origins, ",") {
		if o = strings.TrimSpace(o); o != "" {
			c.AllowedOrigins = append(c.AllowedOrigins, strings.TrimRight(o, "/"))
		}
	}
	c.PublicURL = strings.TrimRight(strings.TrimSpace(c.PublicURL), "/")
	return c, c.Validate()
}

// Validate reports the first setting that cannot work, in words that say
// how to fix it.
func (c Config) Validate() error {
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		return fmt.Errorf("--addr %q is not host:port, for example 127.0.0.1:8080", c.Addr)
	}
	if _, _, err := c.Database(); err != nil {
		return err
	}
	if c.ShutdownTimeout <= 0 {
		return errors.New("--shutdown-timeout must be positive")
	}
	for _, o := range c.AllowedOrigins {
		if !strings.HasPrefix(o, "http://") && !strings.HasPrefix(o, "https://") {
			return fmt.Errorf("--allow-origin %q must look like https://example.org", o)
		}
	}
	if c.PublicURL != "" {
		u, err := url.Parse(c.PublicURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || strings.Trim(u.Path, "/") != "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
			return fmt.Errorf("--public-url %q must look like https://board.example.org (scheme and host, no path)", c.PublicURL)
		}
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		return fmt.Errorf("--log-level %q is not one of debug, info, warn, error", c.LogLevel)
	}
	switch c.LogFormat {
	case "text", "json":
	default:
		return fmt.Errorf("--log-format %q is not one of text, json", c.LogFormat)
	}
	if _, err := c.ModeratorToken(); err != nil {
		return err
	}
	if c.PprofAddr != "" {
		host, _, err := net.SplitHostPort(c.PprofAddr)
		ip := net.ParseIP(host)
		if err != nil || (host != "localhost" && (ip == nil || !ip.IsLoopback())) {
			return fmt.Errorf("--pprof-addr %q must be a loopback host:port such as 127.0.0.1:6060: profiles expose the server's memory", c.PprofAddr)
		}
	}
	if c.MetricsAddr != "" {
		_, port, err := net.SplitHostPort(c.MetricsAddr)
		if err != nil {
			return fmt.Errorf("--metrics-addr %q is not host:port, for example 127.0.0.1:9090", c.MetricsAddr)
		}
		if port != "0" && (c.MetricsAddr == c.Addr || c.MetricsAddr == c.PprofAddr) {
			return fmt.Errorf("--metrics-addr %q is already taken by --addr or --pprof-addr; give metrics a port of their own", c.MetricsAddr)
		}
	}
	if c.MaxImageSide < shared.PreviewSide || c.MaxImageSide > 8192 {
		return fmt.Errorf("--max-image-side %d must be from %d (the preview's size) to 8192", c.MaxImageSide, shared.PreviewSide)
	}
	if c.BlocklistFile != "" {
		if _, err := c.Blocklist(); err != nil {
			return err
		}
	}
	return nil
}

// Hosts are the names kairan answers to besides loopback addresses when
// --addr is a loopback address: localhost and the --public-url host (a
// proxy in front passes the public name in Host). Elsewhere it is nil,
// every name: the server is reachable from other machines by any name
// anyway, and DNS rebinding is an attack on what only this machine can
// reach.
func (c Config) Hosts() []string {
	host, _, err := net.SplitHostPort(c.Addr)
	if ip := net.ParseIP(host); err != nil || (host != "localhost" && (ip == nil || !ip.IsLoopback())) {
		return nil
	}
	hosts := []string{"localhost"}
	if u, err := url.Parse(c.PublicURL); err == nil && u.Hostname() != "" {
		hosts = append(hosts, u.Hostname())
	}
	return hosts
}

// Database picks the dialect from the --db value.
func (c Config) Database() (store.Dialect, string, error) {
	switch {
	case strings.HasPrefix(c.DB, "postgres://"), strings.HasPrefix(c.DB, "postgresql://"):
		return store.Postgres, c.DB, nil
	case strings.HasPrefix(c.DB, "sqlite:"):
		path := strings.TrimPrefix(c.DB, "sqlite:")
		if path == "" {
			return "", "", errors.New("--db sqlite: needs a file path, for example sqlite:kairan.db")
		}
		return store.SQLite, path, nil
	case strings.Contains(c.DB, "://"):
		return "", "", fmt.Errorf("--db %q: unknown scheme; use a SQLite file path or postgres://…", c.DB)
	case strings.TrimSpace(c.DB) == "":
		return "", "", errors.New("--db is empty; give a SQLite file path such as kairan.db")
	}
	return store.SQLite, c.DB, nil
}

// MinModeratorToken is the shortest moderator token accepted: a token is
// the only thing between the public and deleting every topic.
const MinModeratorToken = 16

// ModeratorToken reads the moderator token from its file, or else from
// KAIRAN_MODERATOR_TOKEN ("" when neither is set; both set is an error, as
// one would silently lose). Surrounding white space is ignored.
func (c Config) ModeratorToken() (string, error) {
	from, text := "KAIRAN_MODERATOR_TOKEN", c.ModeratorTokenEnv
	switch {
	case c.ModeratorTokenFile != "" && c.ModeratorTokenEnv != "":
		return "", errors.New("both --moderator-token-file and KAIRAN_MODERATOR_TOKEN are set; keep one")
	case c.ModeratorTokenFile != "":
		b, err := os.ReadFile(c.ModeratorTokenFile)
		if err != nil {
			return "", fmt.Errorf("--moderator-token-file: %w", err)
		}
		from, text = "--moderator-token-file "+c.ModeratorTokenFile, string(b)
	case text == "":
		return "", nil
	}
	token := strings.TrimSpace(text)
	if utf8.RuneCountInString(token) < MinModeratorToken || strings.IndexFunc(token, unicode.IsSpace) >= 0 ||
		strings.IndexFunc(token, unicode.IsControl) >= 0 {
		return "", fmt.Errorf("%s: the token must be one word of at least %d characters", from, MinModeratorToken)
	}
	return token, nil
}

// Blocklist loads the blocklist file (an empty list when none is set).
func (c Config) Blocklist() (*blocklist.List, error) {
	if c.BlocklistFile == "" {
		return &blocklist.List{}, nil
	}
	return blocklist.Load(c.BlocklistFile)
}
