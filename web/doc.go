// Package web serves fjord's web console: a single-page application of plain
// ES modules, embedded in the binary with go:embed so it works offline.
//
// Routes (none shadows the REST API):
//
//	GET /                      index.html, never cached
//	GET /ui/{version}/{file}   static assets; cached for a year when {version}
//	                           is the current build's, revalidated otherwise
//
// {version} is a hash of every embedded file, computed once at start, so a
// new binary changes every asset URL and browsers never run a stale mix of
// modules. Text assets are gzipped in memory once and sent compressed to
// clients that accept it.
//
// The console talks to the broker only through the public REST and /ws API
// (see the contract, API.md). Views live under static/js/views; the vendored
// libraries under static/vendor (fetched by vendor.sh from the npm registry,
// with their licenses). The console is tested end to end in headless
// Chromium by the scripts under e2e/.
package web
