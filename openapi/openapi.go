package openapi

import (
	_ "embed"
	"net/http"

	"github.com/labstack/echo/v4"
	echoSwagger "github.com/swaggo/echo-swagger"
)

// document is the generated OpenAPI 3.0 document (make openapi).
//
//go:embed openapi.json
var document []byte

// Paths of the routes Mount adds.
const (
	// DocumentPath serves the OpenAPI 3.0 document.
	DocumentPath = "/openapi.json"
	// UIPath serves Swagger UI (it redirects to UIPath + "/index.html").
	UIPath = "/docs"
)

// Document returns the OpenAPI 3.0 document served at DocumentPath. The
// caller must not modify it.
func Document() []byte { return document }

// Mount adds the document and Swagger UI to e. Swagger UI loads the
// document from DocumentPath on the page's own origin, and the document
// names no host, so "try it out" calls the broker that served the page.
// Its assets are embedded (github.com/swaggo/files); nothing is fetched
// from the internet.
func Mount(e *echo.Echo) {
	ui := echoSwagger.EchoWrapHandler(func(c *echoSwagger.Config) {
		c.URLs = []string{DocumentPath} // replaces echo-swagger's default doc.json/doc.yaml
		c.DeepLinking = true
		c.DocExpansion = "list"
	})
	e.GET(DocumentPath, serveDocument)
	e.GET(UIPath, redirectToUI)
	e.GET(UIPath+"/*", func(c echo.Context) error {
		switch c.Param("*") {
		case "": // /docs/: echo-swagger would redirect to /docs//index.html
			return redirectToUI(c)
		case "doc.json", "doc.yaml": // echo-swagger's own document names
			return c.Redirect(http.StatusMovedPermanently, DocumentPath)
		}
		return ui(c)
	})
}

// serveDocument godoc
// @Summary      This OpenAPI 3.0 document
// @Description  Open even when auth is on. The document names no host or server: clients resolve paths against the
// @Description  URL they fetched it from.
// @ID           getOpenAPIDocument
// @Tags         docs
// @Produce      json
// @Success      200 {object} object "the OpenAPI 3.0 document"
// @Router       /openapi.json [get]
func serveDocument(c echo.Context) error {
	c.Response().Header().Set(echo.HeaderCacheControl, "no-cache")
	return c.Blob(http.StatusOK, echo.MIMEApplicationJSONCharsetUTF8, document)
}

// redirectToUI godoc
// @Summary      Swagger UI over /openapi.json
// @Description  Redirects to /docs/index.html, Swagger UI with its assets embedded in the broker. Open even when
// @Description  auth is on.
// @ID           getDocs
// @Tags         docs
// @Success      302 "to /docs/index.html"
// @Header       302 {string} Location "/docs/index.html"
// @Router       /docs [get]
func redirectToUI(c echo.Context) error {
	return c.Redirect(http.StatusFound, UIPath+"/index.html")
}
