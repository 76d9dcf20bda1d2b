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
