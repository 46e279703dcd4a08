package web

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"
)

//go:embed static
var embedded embed.FS

// AssetPrefix is the URL path under which the console's static files are served.
const AssetPrefix = "/ui/"

// contentTypes names the types of the files the console ships, so serving
// does not depend on the host's MIME tables.
var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".svg":  "image/svg+xml",
	".png":  "image/png",
	".json": "application/json",
	"":      "text/plain; charset=utf-8",
}

// contentSecurityPolicy allows only the console's own scripts, styles and
// connections (REST and WebSocket to the same origin).
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

// asset is one embedded file, ready to serve.
type asset struct {
	body        []byte
	gzipped     []byte // nil when compression does not pay
	contentType string
}

// Console serves the embedded web console.
type Console struct {
	version string
	index   asset
	assets  map[string]asset // by path relative to static/
}

// New loads the embedded files, computes the build version and prepares the
// index page.
func New() (*Console, error) {
	return newConsole(embedded)
}

func newConsole(fsys fs.FS) (*Console, error) {
	root, err := fs.Sub(fsys, "static")
	if err != nil {
		return nil, fmt.Errorf("web: %w", err)
	}
	c := &Console{assets: map[string]asset{}}
	sum := sha256.New()
	err = fs.WalkDir(root, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := fs.ReadFile(root, p)
		if err != nil {
			return err
		}
		fmt.Fprintf(sum, "%s\x00%d\x00", p, len(body))
		sum.Write(body)
		c.assets[p] = newAsset(p, body)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("web: load assets: %w", err)
	}
	c.version = hex.EncodeToString(sum.Sum(nil))[:12]
	idx, ok := c.assets["index.html"]
	if !ok {
		return nil, fmt.Errorf("web: index.html is not embedded")
	}
	base := AssetPrefix + c.version + "/"
	c.index = newAsset("index.html", bytes.ReplaceAll(idx.body, []byte("{{ASSETS}}"), []byte(base)))
	return c, nil
}

func newAsset(p string, body []byte) asset {
	ct, ok := contentTypes[path.Ext(p)]
	if !ok {
		ct = "application/octet-stream"
	}
	a := asset{body: body, contentType: ct}
	if len(body) >= 1024 && (strings.HasPrefix(ct, "text/") || strings.Contains(ct, "svg") || strings.Contains(ct, "json")) {
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		zw.Write(body)
		zw.Close()
		if buf.Len() < len(body)*9/10 {
			a.gzipped = buf.Bytes()
		}
	}
	return a
}

// Version is the hash of the embedded files that appears in asset URLs.
func (c *Console) Version() string { return c.version }

// Mount adds the console's routes to e: the index at / and the assets under
// AssetPrefix.
func (c *Console) Mount(e *echo.Echo) {
	e.GET("/", c.serveIndex)
	e.HEAD("/", c.serveIndex)
	e.GET(AssetPrefix+"*", c.serveAsset)
	e.HEAD(AssetPrefix+"*", c.serveAsset)
}

// Mount builds the console from the embedded files and adds its routes to e.
func Mount(e *echo.Echo) error {
	c, err := New()
	if err != nil {
		return err
	}
	c.Mount(e)
	return nil
}

func (c *Console) serveIndex(ctx echo.Context) error {
	h := ctx.Response().Header()
	h.Set("Cache-Control", "no-cache")
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	return c.write(ctx, c.index, `"`+c.version+`-index"`)
}

// serveAsset answers /ui/{version}/{file}. Any version is accepted, so a page
// loaded before an upgrade still gets its files, but only the current one is
// cached for long.
func (c *Console) serveAsset(ctx echo.Context) error {
	rest := strings.TrimPrefix(ctx.Request().URL.Path, AssetPrefix)
	version, file, ok := strings.Cut(rest, "/")
	a, found := c.assets[file]
	if !ok || !found || file == "index.html" {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	h := ctx.Response().Header()
	if version == c.version {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "no-cache")
	}
	return c.write(ctx, a, `"`+c.version+`"`)
}

// write sends a, compressed when the client accepts gzip, answering 304 to a
// matching If-None-Match.
func (c *Console) write(ctx echo.Context, a asset, etag string) error {
	req, h := ctx.Request(), ctx.Response().Header()
	h.Set("ETag", etag)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Add("Vary", "Accept-Encoding")
	if inm := req.Header.Get("If-None-Match"); inm != "" && strings.Contains(inm, etag) {
		return ctx.NoContent(http.StatusNotModified)
	}
	body := a.body
	if a.gzipped != nil && acceptsGzip(req.Header.Get("Accept-Encoding")) {
		body = a.gzipped
		h.Set("Content-Encoding", "gzip")
	}
	if req.Method == http.MethodHead {
		h.Set("Content-Type", a.contentType)
		return ctx.NoContent(http.StatusOK)
	}
	return ctx.Blob(http.StatusOK, a.contentType, body)
}

// acceptsGzip reports whether an Accept-Encoding header allows gzip (a
// q-value of 0 refuses it).
func acceptsGzip(header string) bool {
	for _, part := range strings.Split(header, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		name = strings.TrimSpace(name)
		if !strings.EqualFold(name, "gzip") && name != "*" {
			continue
		}
		q := 1.0
		if k, v, ok := strings.Cut(strings.TrimSpace(params), "="); ok && strings.TrimSpace(k) == "q" {
			if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
				q = f
			}
		}
		return q > 0
	}
	return false
}
