package config

import (
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kairan/kairan/api/store"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestDefaults(t *testing.T) {
	c, err := Load(nil, env(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:8080" || c.DB != "kairan.db" || c.ShutdownTimeout != 10*time.Second || c.LogLevel != "info" {
		t.Fatalf("defaults = %+v", c)
	}
}

func TestFlagsWinOverEnvWinOverDefaults(t *testing.T) {
	e := env(map[string]string{"KAIRAN_ADDR": "127.0.0.1:9000", "KAIRAN_DB": "env.db", "KAIRAN_ALLOW_ORIGIN": "https://a.example, https://b.example/"})
	c, err := Load([]string{"--db", "flag.db", "--shutdown-timeout", "3s"}, e, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:9000" || c.DB != "flag.db" || c.ShutdownTimeout != 3*time.Second {
		t.Fatalf("config = %+v", c)
	}
	if strings.Join(c.AllowedOrigins, " ") != "https://a.example https://b.example" {
		t.Fatalf("origins = %q", c.AllowedOrigins)
	}
}

func TestDatabase(t *testing.T) {
	for _, tc := range []struct {
		db, target string
		dialect    store.Dialect
		err        string
	}{
		{db: "kairan.db", dialect: store.SQLite, target: "kairan.db"},
		{db: "sqlite:/var/lib/k.db", dialect: store.SQLite, target: "/var/lib/k.db"},
		{db: "sqlite:", err: "needs a file path"},
		{db: "", err: "empty"},
		{db: "postgres://u@h/db", dialect: store.Postgres, target: "postgres://u@h/db"},
		{db: "mysql://x", err: "unknown scheme"},
	} {
		d, target, err := Config{DB: tc.db}.Database()
		switch {
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%q: err = %v, want %q", tc.db, err, tc.err)
		case tc.err == "" && (err != nil || d != tc.dialect || target != tc.target):
			t.Errorf("%q: %s %q %v", tc.db, d, target, err)
		}
	}
}

func TestModeratorToken(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good", "  s3cret-moderator-token-xyz\n")
	c, err := Load([]string{"--moderator-token-file", good}, env(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if tok, err := c.ModeratorToken(); err != nil || tok != "s3cret-moderator-token-xyz" {
		t.Fatalf("token = %q, %v", tok, err)
	}
	for name, content := range map[string]string{"short": "short\n", "empty": "\n", "two words": "one-long-word-here two-long-word-here"} {
		p := write(strings.ReplaceAll(name, " ", "_"), content)
		if _, err := Load([]string{"--moderator-token-file", p}, env(nil), io.Discard); err == nil {
			t.Errorf("a %s token file was accepted", name)
		}
	}
	if _, err := Load(nil, env(map[string]string{"KAIRAN_MODERATOR_TOKEN_FILE": filepath.Join(dir, "missing")}), io.Discard); err == nil {
		t.Error("a missing token file was accepted")
	}
}

func TestInvalidSettingsSayWhatToDo(t *testing.T) {
	for _, args := range [][]string{
		{"--addr", "8080"},
		{"--shutdown-timeout", "soon"},
		{"--shutdown-timeout", "-1s"},
		{"--allow-origin", "example.org"},
		{"--public-url", "board.example.org"},
		{"--public-url", "https://"},
		{"--public-url", "https://board.example.org/b/lobby"},
		{"--public-url", "ftp://board.example.org"},
		{"--public-url", "https://user@board.example.org"},
		{"--log-level", "loud"},
		{"extra"},
		{"--no-such-flag"},
	} {
		_, err := Load(args, env(nil), io.Discard)
		if err == nil || len(err.Error()) < 10 {
			t.Errorf("%v: err = %v", args, err)
		}
	}
	if _, err := Load([]string{"-h"}, env(nil), io.Discard); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("-h: err = %v, want flag.ErrHelp", err)
	}
}

func TestPublicURL(t *testing.T) {
	c, err := Load([]string{"--public-url", "https://board.example.org/"}, env(nil), io.Discard)
	if err != nil || c.PublicURL != "https://board.example.org" {
		t.Fatalf("PublicURL %q, %v", c.PublicURL, err)
	}
	c, err = Load(nil, env(map[string]string{"KAIRAN_PUBLIC_URL": "http://127.0.0.1:8080"}), io.Discard)
	if err != nil || c.PublicURL != "http://127.0.0.1:8080" {
		t.Fatalf("from the environment: %q, %v", c.PublicURL, err)
	}
}

func TestGuardDefaults(t *testing.T) {
	c, err := Load(nil, env(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.RateLimit != 60 || c.MaxStreams != 20000 || c.MaxStreamsPerClient != 100 || c.MaxTopicsPerBoard != 1000 ||
		c.MaxTopics != 30000 || c.MaxBoards != 1000 || c.ReadTimeout != 10*time.Second || len(c.TrustProxy) != 0 || c.BlocklistFile != "" || c.ModeratorTokenEnv != "" {
		t.Fatalf("defaults = %+v", c)
	}
	if d := Default(); d.RateLimit != c.RateLimit || d.MaxStreams != c.MaxStreams ||
		d.MaxStreamsPerClient != c.MaxStreamsPerClient || d.MaxTopicsPerBoard != c.MaxTopicsPerBoard || d.ReadTimeout != c.ReadTimeout ||
		d.MaxTopics != c.MaxTopics || d.MaxBoards != c.MaxBoards {
		t.Fatalf("Load without settings %+v differs from Default %+v", c, d)
	}
}

func TestNumericLimits(t *testing.T) {
	for _, f := range []struct {
		flag, env string
		get       func(Config) int
	}{
		{"rate-limit", "KAIRAN_RATE_LIMIT", func(c Config) int { return c.RateLimit }},
		{"max-streams", "KAIRAN_MAX_STREAMS", func(c Config) int { return c.MaxStreams }},
		{"max-streams-per-client", "KAIRAN_MAX_STREAMS_PER_CLIENT", func(c Config) int { return c.MaxStreamsPerClient }},
		{"max-topics-per-board", "KAIRAN_MAX_TOPICS_PER_BOARD", func(c Config) int { return c.MaxTopicsPerBoard }},
		{"max-topics", "KAIRAN_MAX_TOPICS", func(c Config) int { return c.MaxTopics }},
		{"max-boards", "KAIRAN_MAX_BOARDS", func(c Config) int { return c.MaxBoards }},
	} {
		t.Run(f.flag, func(t *testing.T) {
			for _, tc := range []struct {
				name string
				args []string
				env  map[string]string
				want int
			}{
				{name: "flag", args: []string{"--" + f.flag, "7"}, want: 7},
				{name: "flag with =", args: []string{"--" + f.flag + "=12345"}, want: 12345},
				{name: "single dash", args: []string{"-" + f.flag, "3"}, want: 3},
				{name: "env", env: map[string]string{f.env: "9"}, want: 9},
				{name: "env with spaces", env: map[string]string{f.env: " 11 "}, want: 11},
				{name: "flag wins over env", args: []string{"--" + f.flag, "5"}, env: map[string]string{f.env: "9"}, want: 5},
				{name: "flag 0 wins over env", args: []string{"--" + f.flag, "0"}, env: map[string]string{f.env: "9"}, want: 0},
				{name: "zero turns it off", args: []string{"--" + f.flag, "0"}, want: 0},
				{name: "env zero", env: map[string]string{f.env: "0"}, want: 0},
				{name: "good flag over bad env", args: []string{"--" + f.flag, "4"}, env: map[string]string{f.env: "lots"}, want: 4},
			} {
				c, err := Load(tc.args, env(tc.env), io.Discard)
				if err != nil {
					t.Errorf("%s: %v", tc.name, err)
					continue
				}
				if got := f.get(c); got != tc.want {
					t.Errorf("%s: %s = %d, want %d", tc.name, f.flag, got, tc.want)
				}
			}

			for _, tc := range []struct {
				name string
				args []string
				env  map[string]string
				bad  string
			}{
				{name: "negative", args: []string{"--" + f.flag, "-1"}, bad: "-1"},
				{name: "word", args: []string{"--" + f.flag, "lots"}, bad: "lots"},
				{name: "fraction", args: []string{"--" + f.flag, "1.5"}, bad: "1.5"},
				{name: "empty", args: []string{"--" + f.flag + "="}, bad: ""},
				{name: "with unit", args: []string{"--" + f.flag, "10/min"}, bad: "10/min"},
				{name: "too big", args: []string{"--" + f.flag, "99999999999999999999999"}, bad: "99999999999999999999999"},
				{name: "env negative", env: map[string]string{f.env: "-5"}, bad: "-5"},
				{name: "env word", env: map[string]string{f.env: "many"}, bad: "many"},
				{name: "bad flag over good env", args: []string{"--" + f.flag, "x"}, env: map[string]string{f.env: "3"}, bad: "x"},
			} {
				_, err := Load(tc.args, env(tc.env), io.Discard)
				if err == nil {
					t.Errorf("%s: accepted", tc.name)
					continue
				}
				if !strings.Contains(err.Error(), "--"+f.flag+" ") || !strings.Contains(err.Error(), `"`+tc.bad+`"`) ||
					!strings.Contains(err.Error(), "0 or more") {
					t.Errorf("%s: error %q does not name --%s, the value %q and what is allowed", tc.name, err, f.flag, tc.bad)
				}
			}
		})
	}
}

func TestTrustProxySetting(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{name: "none", want: ""},
		{name: "flag", args: []string{"--trust-proxy", "10.0.0.0/8, 127.0.0.1"}, want: "10.0.0.0/8 127.0.0.1/32"},
		{name: "env", env: map[string]string{"KAIRAN_TRUST_PROXY": "fd00::/8"}, want: "fd00::/8"},
		{name: "flag wins", args: []string{"--trust-proxy", "192.168.0.0/16"},
			env: map[string]string{"KAIRAN_TRUST_PROXY": "10.0.0.0/8"}, want: "192.168.0.0/16"},
		{name: "empty flag clears env", args: []string{"--trust-proxy="},
			env: map[string]string{"KAIRAN_TRUST_PROXY": "10.0.0.0/8"}, want: ""},
		{name: "good flag over bad env", args: []string{"--trust-proxy", "::1"},
			env: map[string]string{"KAIRAN_TRUST_PROXY": "nonsense"}, want: "::1/128"},
	} {
		c, err := Load(tc.args, env(tc.env), io.Discard)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		var got []string
		for _, p := range c.TrustProxy {
			got = append(got, p.String())
		}
		if strings.Join(got, " ") != tc.want {
			t.Errorf("%s: TrustProxy = %q, want %q", tc.name, got, tc.want)
		}
	}

	for _, tc := range []struct {
		args []string
		env  map[string]string
		bad  string
	}{
		{args: []string{"--trust-proxy", "proxy.internal"}, bad: "proxy.internal"},
		{args: []string{"--trust-proxy", "10.0.0.0/33"}, bad: "10.0.0.0/33"},
		{args: []string{"--trust-proxy", "10.0.0.0/8,nope"}, bad: "nope"},
		{env: map[string]string{"KAIRAN_TRUST_PROXY": "10.0.0.1:80"}, bad: "10.0.0.1:80"},
	} {
		_, err := Load(tc.args, env(tc.env), io.Discard)
		if err == nil || !strings.Contains(err.Error(), "--trust-proxy") || !strings.Contains(err.Error(), tc.bad) {
			t.Errorf("%v %v: err = %v, want one naming --trust-proxy and %q", tc.args, tc.env, err, tc.bad)
		}
	}
}

func TestReadTimeoutSetting(t *testing.T) {
	for _, tc := range []struct {
		args []string
		env  map[string]string
		want time.Duration
	}{
		{want: 10 * time.Second},
		{args: []string{"--read-timeout", "30s"}, want: 30 * time.Second},
		{args: []string{"--read-timeout=1m30s"}, want: 90 * time.Second},
		{args: []string{"--read-timeout", "1ns"}, want: time.Nanosecond},
		{env: map[string]string{"KAIRAN_READ_TIMEOUT": "2m"}, want: 2 * time.Minute},
		{args: []string{"--read-timeout", "5s"}, env: map[string]string{"KAIRAN_READ_TIMEOUT": "2m"}, want: 5 * time.Second},
		{args: []string{"--read-timeout", "5s"}, env: map[string]string{"KAIRAN_READ_TIMEOUT": "never"}, want: 5 * time.Second},
	} {
		c, err := Load(tc.args, env(tc.env), io.Discard)
		if err != nil {
			t.Errorf("%v %v: %v", tc.args, tc.env, err)
			continue
		}
		if c.ReadTimeout != tc.want {
			t.Errorf("%v %v: ReadTimeout = %v, want %v", tc.args, tc.env, c.ReadTimeout, tc.want)
		}
	}

	for _, tc := range []struct {
		args []string
		env  map[string]string
	}{
		{args: []string{"--read-timeout", "0"}},
		{args: []string{"--read-timeout", "0s"}},
		{args: []string{"--read-timeout", "-1s"}},
		{args: []string{"--read-timeout", "10"}},
		{args: []string{"--read-timeout", "soon"}},
		{args: []string{"--read-timeout="}},
		{env: map[string]string{"KAIRAN_READ_TIMEOUT": "0"}},
		{env: map[string]string{"KAIRAN_READ_TIMEOUT": "ten seconds"}},
	} {
		_, err := Load(tc.args, env(tc.env), io.Discard)
		if err == nil || !strings.Contains(err.Error(), "--read-timeout") || !strings.Contains(err.Error(), "positive") {
			t.Errorf("%v %v: err = %v, want one naming --read-timeout and asking for a positive duration", tc.args, tc.env, err)
		}
	}
}

func TestModeratorTokenFromEnv(t *testing.T) {
	const good = "s3cret-moderator-token-xyz"
	for _, tc := range []struct {
		value string
		want  string // "" for an error
	}{
		{value: good, want: good},
		{value: "  " + good + "\n", want: good},
		{value: "0123456789abcdef", want: "0123456789abcdef"},   // exactly MinModeratorToken
		{value: "ключ-модератора-1", want: "ключ-модератора-1"}, // counted in characters
		{value: "0123456789abcde"},                              // one short
		{value: "short"},
		{value: "   "},
		{value: "one-long-word-here two-long-word-here"},
		{value: "one-long-word-here\ttab"},
		{value: "control-char\x00-in-the-token"},
	} {
		c, err := Load(nil, env(map[string]string{"KAIRAN_MODERATOR_TOKEN": tc.value}), io.Discard)
		if tc.want == "" {
			if err == nil || !strings.Contains(err.Error(), "KAIRAN_MODERATOR_TOKEN") || !strings.Contains(err.Error(), "16") {
				t.Errorf("KAIRAN_MODERATOR_TOKEN=%q: err = %v, want one naming the variable and the minimum length", tc.value, err)
			}
			if err == nil {
				if tok, _ := c.ModeratorToken(); tok != "" {
					t.Errorf("KAIRAN_MODERATOR_TOKEN=%q: token %q", tc.value, tok)
				}
			}
			continue
		}
		if err != nil {
			t.Errorf("KAIRAN_MODERATOR_TOKEN=%q: %v", tc.value, err)
			continue
		}
		if tok, err := c.ModeratorToken(); err != nil || tok != tc.want {
			t.Errorf("KAIRAN_MODERATOR_TOKEN=%q: token = %q, %v; want %q", tc.value, tok, err, tc.want)
		}
	}

	// The token is never taken from the command line.
	if _, err := Load([]string{"--moderator-token", good}, env(nil), io.Discard); err == nil {
		t.Error("--moderator-token was accepted; a token on the command line is visible to every user")
	}

	// Neither: no token, no error.
	c, err := Load(nil, env(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if tok, err := c.ModeratorToken(); tok != "" || err != nil {
		t.Errorf("no token set: ModeratorToken = %q, %v", tok, err)
	}
}

func TestModeratorTokenFromBothSources(t *testing.T) {
	file := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(file, []byte("file-moderator-token-123\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		env  map[string]string
	}{
		{args: []string{"--moderator-token-file", file}, env: map[string]string{"KAIRAN_MODERATOR_TOKEN": "env-moderator-token-456"}},
		{env: map[string]string{"KAIRAN_MODERATOR_TOKEN_FILE": file, "KAIRAN_MODERATOR_TOKEN": "env-moderator-token-456"}},
		// Which one is wrong does not matter: both set is the mistake.
		{args: []string{"--moderator-token-file", filepath.Join(t.TempDir(), "missing")},
			env: map[string]string{"KAIRAN_MODERATOR_TOKEN": "env-moderator-token-456"}},
		{args: []string{"--moderator-token-file", file}, env: map[string]string{"KAIRAN_MODERATOR_TOKEN": "short"}},
	} {
		_, err := Load(tc.args, env(tc.env), io.Discard)
		if err == nil || !strings.Contains(err.Error(), "--moderator-token-file") || !strings.Contains(err.Error(), "KAIRAN_MODERATOR_TOKEN") {
			t.Errorf("%v %v: err = %v, want one naming both sources", tc.args, tc.env, err)
		}
	}
	// The file alone still works.
	c, err := Load([]string{"--moderator-token-file", file}, env(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if tok, err := c.ModeratorToken(); err != nil || tok != "file-moderator-token-123" {
		t.Errorf("token = %q, %v", tok, err)
	}
}

func TestBlocklistSetting(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "blocklist.txt")
	if err := os.WriteFile(good, []byte("# words\nspam\nbuy now\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.txt")
	if err := os.WriteFile(bad, []byte("spam\n!!!\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.txt")

	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
	}{
		{name: "flag", args: []string{"--blocklist-file", good}},
		{name: "env", env: map[string]string{"KAIRAN_BLOCKLIST_FILE": good}},
		{name: "flag wins", args: []string{"--blocklist-file", good}, env: map[string]string{"KAIRAN_BLOCKLIST_FILE": missing}},
	} {
		c, err := Load(tc.args, env(tc.env), io.Discard)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if c.BlocklistFile != good {
			t.Errorf("%s: BlocklistFile = %q, want %q", tc.name, c.BlocklistFile, good)
		}
		l, err := c.Blocklist()
		if err != nil {
			t.Errorf("%s: Blocklist: %v", tc.name, err)
			continue
		}
		if l.Len() != 2 {
			t.Errorf("%s: %d entries, want 2", tc.name, l.Len())
		}
		if e, found := l.Match("alice", "BUY NOW!"); !found || e != "buy now" {
			t.Errorf("%s: Match = %q, %v", tc.name, e, found)
		}
	}

	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		want []string
	}{
		{name: "missing file", args: []string{"--blocklist-file", missing}, want: []string{"--blocklist-file", "missing.txt"}},
		{name: "missing file from env", env: map[string]string{"KAIRAN_BLOCKLIST_FILE": missing}, want: []string{"--blocklist-file", "missing.txt"}},
		{name: "a directory", args: []string{"--blocklist-file", dir}, want: []string{"--blocklist-file"}},
		{name: "a line with no word", args: []string{"--blocklist-file", bad}, want: []string{"--blocklist-file", "bad.txt", "line 2"}},
	} {
		_, err := Load(tc.args, env(tc.env), io.Discard)
		if err == nil {
			t.Errorf("%s: accepted", tc.name)
			continue
		}
		for _, want := range tc.want {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("%s: error %q does not mention %q", tc.name, err, want)
			}
		}
	}

	// No file: an empty list that blocks nothing.
	c, err := Load(nil, env(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	l, err := c.Blocklist()
	if err != nil || l == nil || l.Len() != 0 {
		t.Fatalf("no file: Blocklist = %v, %v; want an empty list", l, err)
	}
	if _, found := l.Match("spam"); found {
		t.Error("the empty list blocked spam")
	}
}

func TestGuardSettingsTogether(t *testing.T) {
	c, err := Load([]string{
		"--rate-limit", "0", "--max-streams", "0", "--max-streams-per-client", "0", "--max-topics-per-board", "0",
		"--trust-proxy", "127.0.0.1", "--read-timeout", "3s",
	}, env(map[string]string{"KAIRAN_RATE_LIMIT": "30", "KAIRAN_MAX_STREAMS": "10", "KAIRAN_READ_TIMEOUT": "1h"}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.RateLimit != 0 || c.MaxStreams != 0 || c.MaxStreamsPerClient != 0 || c.MaxTopicsPerBoard != 0 ||
		len(c.TrustProxy) != 1 || c.ReadTimeout != 3*time.Second {
		t.Fatalf("config = %+v", c)
	}
	// The usage text lists every new flag with its environment twin.
	var usage strings.Builder
	if _, err := Load([]string{"-h"}, env(nil), &usage); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("-h: %v", err)
	}
	for _, want := range []string{
		"-rate-limit", "KAIRAN_RATE_LIMIT", "-max-streams", "KAIRAN_MAX_STREAMS",
		"-max-streams-per-client", "KAIRAN_MAX_STREAMS_PER_CLIENT", "-max-topics-per-board", "KAIRAN_MAX_TOPICS_PER_BOARD",
		"-max-topics", "KAIRAN_MAX_TOPICS", "-max-boards", "KAIRAN_MAX_BOARDS",
		"-blocklist-file", "KAIRAN_BLOCKLIST_FILE", "-trust-proxy", "KAIRAN_TRUST_PROXY", "-read-timeout", "KAIRAN_READ_TIMEOUT",
	} {
		if !strings.Contains(usage.String(), want) {
			t.Errorf("usage does not mention %s", want)
		}
	}
}

// TestPprofAddrLoopbackOnly: the profiler exposes the server's memory, so
// it may only listen on loopback.
func TestPprofAddrLoopbackOnly(t *testing.T) {
	for _, ok := range []string{"127.0.0.1:6060", "[::1]:6060", "localhost:0", "127.0.0.2:6060"} {
		if c, err := Load([]string{"--pprof-addr", ok}, env(nil), io.Discard); err != nil || c.PprofAddr != ok {
			t.Errorf("--pprof-addr %s: %v", ok, err)
		}
	}
	for _, bad := range []string{"0.0.0.0:6060", ":6060", "10.0.0.1:6060", "example.org:6060", "6060"} {
		if _, err := Load(nil, env(map[string]string{"KAIRAN_PPROF_ADDR": bad}), io.Discard); err == nil || !strings.Contains(err.Error(), "loopback") {
			t.Errorf("--pprof-addr %s: err = %v, want a loopback error", bad, err)
		}
	}
}

// The settings of issue 13: each takes its flag and its variable, and a
// bad value is refused with the flag's name.
func TestOperatorSettings(t *testing.T) {
	c, err := Load([]string{"--idempotency-ttl", "72h", "--metrics-addr", "127.0.0.1:9090", "--log-format", "json"}, env(nil), io.Discard)
	if err != nil || c.IdempotencyTTL != 72*time.Hour || c.MetricsAddr != "127.0.0.1:9090" || c.LogFormat != "json" {
		t.Fatalf("flags: %+v, %v", c, err)
	}
	c, err = Load(nil, env(map[string]string{"KAIRAN_IDEMPOTENCY_TTL": "240h", "KAIRAN_METRICS_ADDR": "10.0.0.5:9090", "KAIRAN_LOG_FORMAT": "text"}), io.Discard)
	if err != nil || c.IdempotencyTTL != 240*time.Hour || c.MetricsAddr != "10.0.0.5:9090" || c.LogFormat != "text" {
		t.Fatalf("environment: %+v, %v", c, err)
	}
	if d := Default(); d.IdempotencyTTL != 7*24*time.Hour || d.MetricsAddr != "" || d.LogFormat != "text" {
		t.Fatalf("defaults: %+v", d)
	}
	for _, bad := range [][]string{
		{"--idempotency-ttl", "30m"}, {"--idempotency-ttl", "week"}, {"--idempotency-ttl", "-1h"},
		{"--metrics-addr", "9090"}, {"--metrics-addr", "127.0.0.1:8080"},
		{"--log-format", "xml"}, {"--log-format", ""},
	} {
		if _, err := Load(bad, env(nil), io.Discard); err == nil || !strings.Contains(err.Error(), bad[0]) {
			t.Errorf("%v: err = %v, want one naming %s", bad, err, bad[0])
		}
	}
}

// On a loopback --addr kairan answers only for localhost (loopback
// addresses are checked by the API) and the --public-url host; anywhere
// else it answers every name.
func TestHostsOnLoopbackOnly(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{args: nil, want: "localhost"},
		{args: []string{"--addr", "[::1]:8080", "--public-url", "https://board.example.org:8443"}, want: "localhost board.example.org"},
		{args: []string{"--addr", "localhost:8080"}, want: "localhost"},
		{args: []string{"--addr", "127.0.0.2:8080"}, want: "localhost"},
		{args: []string{"--addr", ":8080", "--public-url", "https://board.example.org"}, want: "<nil>"},
		{args: []string{"--addr", "0.0.0.0:8080"}, want: "<nil>"},
		{args: []string{"--addr", "10.1.2.3:8080"}, want: "<nil>"},
	} {
		c, err := Load(tc.args, env(nil), io.Discard)
		if err != nil {
			t.Fatalf("%q: %v", tc.args, err)
		}
		got := strings.Join(c.Hosts(), " ")
		if c.Hosts() == nil {
			got = "<nil>"
		}
		if got != tc.want {
			t.Errorf("%q: Hosts() = %s, want %s", tc.args, got, tc.want)
		}
	}
}

func TestPictureSettings(t *testing.T) {
	c, err := Load(nil, env(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.MaxImageBytes != 8<<20 || c.MaxImagePixels != 40_000_000 || c.MaxImageSide != 2048 || c.ImageBytesPerHour != 64<<20 ||
		c.MaxUnusedImageBytes != 256<<20 {
		t.Fatalf("picture defaults = %d %d %d %d", c.MaxImageBytes, c.MaxImagePixels, c.MaxImageSide, c.ImageBytesPerHour)
	}
	c, err = Load([]string{"--max-image-bytes", "1048576", "--max-image-side", "1024", "--image-bytes-per-hour", "0", "--max-unused-image-bytes", "0"},
		env(map[string]string{"KAIRAN_MAX_IMAGE_PIXELS": "12000000"}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.MaxImageBytes != 1<<20 || c.MaxImagePixels != 12_000_000 || c.MaxImageSide != 1024 || c.ImageBytesPerHour != 0 || c.MaxUnusedImageBytes != 0 {
		t.Fatalf("picture settings = %d %d %d %d", c.MaxImageBytes, c.MaxImagePixels, c.MaxImageSide, c.ImageBytesPerHour)
	}
	for _, tc := range []struct {
		args []string
		says string
	}{
		{[]string{"--max-image-bytes", "100"}, "--max-image-bytes"},
		{[]string{"--max-image-pixels", "-1"}, "--max-image-pixels"},
		{[]string{"--max-image-side", "100"}, "480"},
		{[]string{"--max-image-side", "9000"}, "8192"},
		{[]string{"--image-bytes-per-hour", "lots"}, "--image-bytes-per-hour"},
	} {
		if _, err := Load(tc.args, env(nil), io.Discard); err == nil || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("%q: err = %v, want it to say %q", tc.args, err, tc.says)
		}
	}
}

func TestIOURingSetting(t *testing.T) {
	for _, tc := range []struct {
		args []string
		env  map[string]string
		want bool
	}{
		{want: true},
		{args: []string{"--io-uring=false"}, want: false},
		{args: []string{"--io-uring"}, env: map[string]string{"KAIRAN_IO_URING": "false"}, want: true},
		{args: []string{"--io-uring=0"}, want: false},
		{env: map[string]string{"KAIRAN_IO_URING": "false"}, want: false},
		{args: []string{"--io-uring=true"}, env: map[string]string{"KAIRAN_IO_URING": "false"}, want: true},
	} {
		c, err := Load(tc.args, env(tc.env), io.Discard)
		if err != nil {
			t.Errorf("%v %v: %v", tc.args, tc.env, err)
			continue
		}
		if c.IOURing != tc.want {
			t.Errorf("%v %v: IOURing = %v, want %v", tc.args, tc.env, c.IOURing, tc.want)
		}
	}
	for _, bad := range []string{"", "yes please", "2"} {
		_, err := Load([]string{"--io-uring=" + bad}, env(nil), io.Discard)
		if err == nil || !strings.Contains(err.Error(), "--io-uring") || !strings.Contains(err.Error(), "true or false") {
			t.Errorf("--io-uring=%q: err = %v, want one naming the flag and what it takes", bad, err)
		}
	}
}
