package web

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"path"
	"regexp"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
)

func newServer(t *testing.T) (*echo.Echo, *Console) {
	t.Helper()
	c, err := New()
	if err != nil {
		t.Fatal(err)
	}
	e := echo.New()
	c.Mount(e)
	return e, c
}

func get(e *echo.Echo, target string, header ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodGet, target, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	return rec
}

func TestServe(t *testing.T) {
	e, c := newServer(t)
	v := c.Version()
	tests := []struct {
		name, target, contentType, cache string
		status                           int
		header                           []string
	}{
		{name: "index", target: "/", status: 200, contentType: "text/html; charset=utf-8", cache: "no-cache"},
		{name: "module", target: "/ui/" + v + "/js/app.js", status: 200, contentType: "text/javascript; charset=utf-8", cache: "public, max-age=31536000, immutable"},
		{name: "stylesheet", target: "/ui/" + v + "/css/app.css", status: 200, contentType: "text/css; charset=utf-8", cache: "public, max-age=31536000, immutable"},
		{name: "icon", target: "/ui/" + v + "/favicon.svg", status: 200, contentType: "image/svg+xml", cache: "public, max-age=31536000, immutable"},
		{name: "vendored license", target: "/ui/" + v + "/vendor/uplot/LICENSE", status: 200, contentType: "text/plain; charset=utf-8"},
		{name: "older build's asset is revalidated", target: "/ui/0123456789ab/js/app.js", status: 200, contentType: "text/javascript; charset=utf-8", cache: "no-cache"},
		{name: "unknown file", target: "/ui/" + v + "/js/nope.js", status: 404},
		{name: "index is not an asset", target: "/ui/" + v + "/index.html", status: 404},
		{name: "no version", target: "/ui/app.js", status: 404},
		{name: "not modified", target: "/ui/" + v + "/js/app.js", status: 304, header: []string{"If-None-Match", `"` + v + `"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := get(e, tt.target, tt.header...)
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d", rec.Code, tt.status)
			}
			if tt.contentType != "" && rec.Header().Get("Content-Type") != tt.contentType {
				t.Errorf("Content-Type %q, want %q", rec.Header().Get("Content-Type"), tt.contentType)
			}
			if tt.cache != "" && rec.Header().Get("Cache-Control") != tt.cache {
				t.Errorf("Cache-Control %q, want %q", rec.Header().Get("Cache-Control"), tt.cache)
			}
			if rec.Code == 200 && rec.Header().Get("X-Content-Type-Options") != "nosniff" {
				t.Error("missing X-Content-Type-Options: nosniff")
			}
		})
	}
}

func TestIndexLinksVersionedAssets(t *testing.T) {
	e, c := newServer(t)
	rec := get(e, "/")
	body := rec.Body.String()
	if strings.Contains(body, "{{ASSETS}}") {
		t.Fatal("index still holds the {{ASSETS}} placeholder")
	}
	refs := regexp.MustCompile(`(?:href|src)="(/ui/[^"]+)"`).FindAllStringSubmatch(body, -1)
	if len(refs) < 4 {
		t.Fatalf("index links %d assets, want the icon, styles and modules", len(refs))
	}
	for _, m := range refs {
		if !strings.HasPrefix(m[1], "/ui/"+c.Version()+"/") {
			t.Errorf("%s is not under the current version", m[1])
		}
		if r := get(e, m[1]); r.Code != 200 {
			t.Errorf("GET %s: %d", m[1], r.Code)
		}
	}
	if csp := rec.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
		t.Errorf("Content-Security-Policy %q", csp)
	}
	if regexp.MustCompile(`https?://`).MatchString(body) {
		t.Error("index refers to an outside URL; the console must work offline")
	}
}

func TestGzip(t *testing.T) {
	e, c := newServer(t)
	target := "/ui/" + c.Version() + "/vendor/uplot/uPlot.esm.js"
	plain := get(e, target).Body.Bytes()
	rec := get(e, target, "Accept-Encoding", "br, gzip")
	if rec.Header().Get("Content-Encoding") != "gzip" {
		t.Fatalf("Content-Encoding %q, want gzip", rec.Header().Get("Content-Encoding"))
	}
	if !strings.Contains(rec.Header().Get("Vary"), "Accept-Encoding") {
		t.Error("missing Vary: Accept-Encoding")
	}
	zr, err := gzip.NewReader(rec.Body)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, plain) {
		t.Fatal("gzipped body differs from the plain one")
	}
	if rec := get(e, target, "Accept-Encoding", "gzip;q=0"); rec.Header().Get("Content-Encoding") != "" {
		t.Error("gzip sent although refused with q=0")
	}
}

func TestAcceptsGzip(t *testing.T) {
	tests := []struct {
		header string
		want   bool
	}{
		{"", false},
		{"gzip", true},
		{"deflate, gzip;q=0.5", true},
		{"GZIP", true},
		{"gzip;q=0", false},
		{"gzip; q=0.0", false},
		{"br", false},
		{"*", true},
		{"x-gzip", false},
	}
	for _, tt := range tests {
		if got := acceptsGzip(tt.header); got != tt.want {
			t.Errorf("acceptsGzip(%q) = %v, want %v", tt.header, got, tt.want)
		}
	}
}

// TestMountLeavesAPIRoutes checks the console adds only / and /ui/*, so it
// never shadows an API path.
func TestMountLeavesAPIRoutes(t *testing.T) {
	e := echo.New()
	if err := Mount(e); err != nil {
		t.Fatal(err)
	}
	for _, r := range e.Routes() {
		if r.Path != "/" && r.Path != AssetPrefix+"*" {
			t.Errorf("console mounted %s %s", r.Method, r.Path)
		}
	}
}

// TestEveryAssetHasAType keeps new file kinds from going out as
// application/octet-stream, which browsers refuse for modules and styles.
func TestEveryAssetHasAType(t *testing.T) {
	_, c := newServer(t)
	for p, a := range c.assets {
		if a.contentType == "application/octet-stream" {
			t.Errorf("%s has no content type; add %q to contentTypes", p, path.Ext(p))
		}
	}
}

// TestModuleImportsResolve checks every relative import in the console's
// modules names an embedded file, so a typo fails here and not only in a
// browser.
func TestModuleImportsResolve(t *testing.T) {
	_, c := newServer(t)
	imports := regexp.MustCompile(`(?:from\s+|import\()\s*'(\.{1,2}/[^']+)'`)
	n := 0
	for p, a := range c.assets {
		if !strings.HasPrefix(p, "js/") || path.Ext(p) != ".js" {
			continue
		}
		for _, m := range imports.FindAllStringSubmatch(string(a.body), -1) {
			n++
			target := path.Join(path.Dir(p), m[1])
			if _, ok := c.assets[target]; !ok {
				t.Errorf("%s imports %s: %s is not embedded", p, m[1], target)
			}
		}
	}
	if n < 10 {
		t.Fatalf("found only %d imports; is the pattern still right?", n)
	}
}
