package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

// defaultWorkerSHA256 is the hash of go-app v10.1.11's DefaultAppWorkerJS,
// which api/worker.js replaces. If go-app changes its worker, read the new
// one against worker.js (go-app's page script talks to the worker), then
// update this hash.
const defaultWorkerSHA256 = "fb64efe18fb6e1f389eb20f75b68828729f001324647548eaab24c5add47ab0d"

func TestGoAppsDefaultWorkerIsTheOneWeReplaced(t *testing.T) {
	sum := sha256.Sum256([]byte(app.DefaultAppWorkerJS))
	if got := hex.EncodeToString(sum[:]); got != defaultWorkerSHA256 {
		t.Fatalf("go-app's default service worker changed (sha256 %s): review api/worker.js against it", got)
	}
}

func TestServesOurWorkerAndAnInstallableManifest(t *testing.T) {
	m := startServer(t)
	get := func(path string) string {
		resp, err := http.Get(m.URL() + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s = %d", path, resp.StatusCode)
		}
		return string(b)
	}
	worker := get("/app-worker.js")
	for _, want := range []string{`url.pathname.startsWith("/api/")`, `request.method !== "GET"`, `cache.match("/")`, `cache.put(key.href`, `"/web/icons/icon.svg"`, `"/web/app.wasm"`, `"/web/pics.js"`, `const pictureCache = "kairan-pictures"`} {
		if !strings.Contains(worker, want) {
			t.Errorf("app-worker.js lacks %s", want)
		}
	}
	if strings.Contains(worker, "{{") {
		t.Error("app-worker.js has unfilled template fields")
	}

	var manifest struct {
		Name, ShortName, Description, StartURL, Scope, Display string
		BackgroundColor                                        string `json:"background_color"`
		ThemeColor                                             string `json:"theme_color"`
		Icons                                                  []struct{ Src, Sizes, Type, Purpose string }
	}
	raw := get("/manifest.webmanifest")
	if err := json.Unmarshal([]byte(raw), &manifest); err != nil {
		t.Fatal(err)
	}
	manifest.ShortName = jsonField(t, raw, "short_name")
	manifest.StartURL = jsonField(t, raw, "start_url")
	if manifest.Name != "kairan" || manifest.ShortName == "" || manifest.Description == "" ||
		manifest.Display != "standalone" || manifest.BackgroundColor == "" || manifest.ThemeColor == "" ||
		!strings.HasPrefix(manifest.StartURL, manifest.Scope) {
		t.Fatalf("manifest = %s", raw)
	}
	sizes := map[string]bool{}
	maskable := false
	for _, icon := range manifest.Icons {
		sizes[icon.Sizes] = true
		maskable = maskable || strings.Contains(icon.Purpose, "maskable")
		get(icon.Src) // every icon is served
		if !strings.Contains(worker, `"`+icon.Src+`"`) {
			t.Errorf("icon %s is not cached by the worker", icon.Src)
		}
	}
	if !sizes["192x192"] || !sizes["512x512"] || !sizes["any"] || !maskable {
		t.Errorf("manifest icons = %+v", manifest.Icons)
	}
}

func jsonField(t *testing.T, raw, key string) string {
	var m map[string]any
	if err := json.Unmarshal([]byte(raw), &m); err != nil {
		t.Fatal(err)
	}
	s, _ := m[key].(string)
	return s
}
