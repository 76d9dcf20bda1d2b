package main

import (
	_ "embed"
	"net/url"
	"strconv"

	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

// workerJS is kairan's own service worker; see the comments in worker.js
// for how it differs from go-app's default.
//
//go:embed worker.js
var workerJS string

// description says what kairan is, by language: the page's meta
// description is go-app's (English); the manifest is said in the
// person's language by pages.go.
var description = map[string]string{
	"en": "A live topic board: post, edit and see every change at once.",
	"ja": "ライブ掲示板: 投稿・編集し、すべての変更をその場で見られます。",
}

// newPWA configures go-app's handler: the page shell, manifest, service
// worker and generated scripts. Pages come from ui.Routes, registered by
// the caller.
func newPWA(web *assets, version, publicURL string) *app.Handler {
	// Link previews need absolute URLs: go-app builds them from Domain;
	// without a public URL pages.go takes out the host-less ones.
	domain, image := "", ""
	if u, err := url.Parse(publicURL); err == nil && publicURL != "" {
		domain, image = u.Host, "/web/icons/icon-512.png"
	}
	return &app.Handler{
		Domain:          domain,
		Image:           image,
		Name:            "kairan",
		ShortName:       "kairan",
		Title:           "kairan",
		Description:     description["en"],
		Lang:            "en",
		ThemeColor:      "#1f6f5c",
		BackgroundColor: "#f4ecd8",
		LoadingLabel:    "kairan {progress}%",
		Icon: app.Icon{
			Default:  "/web/icons/icon-192.png",
			Large:    "/web/icons/icon-512.png",
			Maskable: "/web/icons/icon-maskable-512.png",
			SVG:      "/web/icons/icon.svg",
		},
		Styles: []string{"/web/app.css"},
		// Picture work (shrinking, the drawing pad, kept bytes) runs in the
		// browser's own APIs; see web/pics.js.
		Scripts: []string{"/web/pics.js defer"},
		// go-app does not cache the SVG icon by itself (notes/go-app-v10.md).
		CacheableResources:    []string{"/web/icons/icon.svg"},
		Resources:             web,
		ServiceWorkerTemplate: workerJS,
		Version:               version,
		// app.wasm travels compressed, so its Content-Length is not the
		// size the loader counts; give it the raw size for the progress bar.
		WasmContentLength: strconv.Itoa(web.rawLen),
	}
}
