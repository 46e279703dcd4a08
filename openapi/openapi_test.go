package openapi_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi2"
	"github.com/getkin/kin-openapi/openapi3"
	"github.com/labstack/echo/v4"

	"github.com/fjord-streaming/fjord/openapi"
)

// loadDocument parses and validates the served document with kin-openapi.
func loadDocument(t *testing.T) *openapi3.T {
	t.Helper()
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(openapi.Document())
	if err != nil {
		t.Fatalf("load openapi.json: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("openapi.json is not a valid OpenAPI 3.0 document: %v", err)
	}
	return doc
}

// TestDocumentValid validates both committed documents with a real
// validator, and checks the rules clients rely on.
func TestDocumentValid(t *testing.T) {
	doc := loadDocument(t)
	if !strings.HasPrefix(doc.OpenAPI, "3.0") {
		t.Errorf("openapi = %q, want 3.0.x", doc.OpenAPI)
	}
	if doc.Info.Title != "fjord" || doc.Info.Version == "" || doc.Info.License == nil || doc.Info.Description == "" {
		t.Errorf("info = %+v: want title fjord, a version, a description and a license", doc.Info)
	}
	// No server or host: Swagger UI's "try it out" and clients resolve
	// paths against the broker that served the document.
	if len(doc.Servers) != 0 {
		t.Errorf("servers = %v, want none", doc.Servers)
	}
	raw, err := os.ReadFile("swagger.json")
	if err != nil {
		t.Fatal(err)
	}
	var v2 openapi2.T
	if err := json.Unmarshal(raw, &v2); err != nil {
		t.Fatalf("swagger.json: %v", err)
	}
	if v2.Swagger != "2.0" || v2.Host != "" || v2.BasePath != "" || len(v2.Schemes) != 0 {
		t.Errorf("swagger.json: swagger %q host %q basePath %q schemes %v: want 2.0 and no fixed host",
			v2.Swagger, v2.Host, v2.BasePath, v2.Schemes)
	}

	ids := map[string]string{}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			where := method + " " + path
			if op.OperationID == "" || op.Summary == "" {
				t.Errorf("%s: operationId %q summary %q: want both", where, op.OperationID, op.Summary)
			}
			if prev, dup := ids[op.OperationID]; dup {
				t.Errorf("%s and %s share operationId %s", where, prev, op.OperationID)
			}
			ids[op.OperationID] = where
			if len(op.Tags) == 0 {
				t.Errorf("%s: no tag", where)
			}
			checkResponses(t, where, op)
		}
	}
}

// codeFirst matches a description that starts with an API code.
var codeFirst = regexp.MustCompile(`^[a-z]+(_[a-z]+)*([ :,(]|$)`)

// checkResponses: every error answer is a problem+json problem.Details
// whose description names its codes; success answers are not problems.
func checkResponses(t *testing.T, where string, op *openapi3.Operation) {
	t.Helper()
	for code, rr := range op.Responses.Map() {
		status, err := strconv.Atoi(code)
		if err != nil {
			t.Errorf("%s: response %q: only explicit statuses are documented", where, code)
			continue
		}
		r := rr.Value
		if r.Description == nil || *r.Description == "" {
			t.Errorf("%s %d: no description", where, status)
		}
		pj := r.Content.Get("application/problem+json")
		if status < 400 {
			if pj != nil {
				t.Errorf("%s %d: a success documented as problem+json", where, status)
			}
			continue
		}
		if where == "GET /readyz" && status == http.StatusServiceUnavailable {
			continue // readiness answers {"status":"starting"}, for probes
		}
		if pj == nil || len(r.Content) != 1 || pj.Schema == nil || pj.Schema.Ref != "#/components/schemas/problem.Details" {
			t.Errorf("%s %d: want only application/problem+json with problem.Details, got %v", where, status, keys(r.Content))
		}
		if !codeFirst.MatchString(*r.Description) {
			t.Errorf("%s %d: description %q does not start with the API code(s), e.g. \"topic_not_found\"", where, status, *r.Description)
		}
	}
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// contractPaths and contractGroupPaths are the operations of the contract
// (API.md) the document must describe.
var contractPaths = []string{
	"GET /healthz", "GET /readyz", "GET /cluster", "GET /metrics", "GET /openapi.json", "GET /docs",
	"POST /topics", "GET /topics", "GET /topics/{}", "PATCH /topics/{}", "DELETE /topics/{}",
	"POST /topics/{}/records", "POST /topics/{}/partitions/{}/records",
	"GET /topics/{}/partitions/{}/records", "GET /topics/{}/partitions/{}/offsets",
	"GET /ws",
}

var contractGroupPaths = []string{
	"POST /groups/{}/members", "GET /groups/{}/members/{}/records", "POST /groups/{}/members/{}/commit",
	"POST /groups/{}/members/{}/seek", "POST /groups/{}/members/{}/heartbeat", "DELETE /groups/{}/members/{}",
	"GET /groups", "GET /groups/{}", "PUT /groups/{}/offsets", "DELETE /groups/{}", "GET /groups/{}/lag", "GET /lag",
}

var paramRE = regexp.MustCompile(`\{[^}]*\}`)

func TestDocumentCoversContract(t *testing.T) {
	doc := loadDocument(t)
	have := map[string]bool{}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			have[method+" "+paramRE.ReplaceAllString(path, "{}")] = true
		}
	}
	for _, p := range append(contractPaths, contractGroupPaths...) {
		if !have[p] {
			t.Errorf("the document lacks %s", p)
		}
	}
}

// TestMount serves the document and Swagger UI from an echo server and
// checks that the UI is self-contained and pointed at /openapi.json.
func TestMount(t *testing.T) {
	e := echo.New()
	openapi.Mount(e)
	srv := httptest.NewServer(e)
	defer srv.Close()
	c := srv.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	get := func(path string) (*http.Response, string) {
		t.Helper()
		resp, err := c.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp, string(b)
	}

	resp, body := get("/openapi.json")
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") ||
		body != string(openapi.Document()) {
		t.Errorf("/openapi.json: %d %s, want 200 application/json with the document", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	for _, p := range []string{"/docs", "/docs/"} {
		resp, _ = get(p)
		if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/docs/index.html" {
			t.Errorf("%s: %d Location %q, want 302 to /docs/index.html", p, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	resp, index := get("/docs/index.html")
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("/docs/index.html: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if !strings.Contains(index, `url: "\/openapi.json"`) || strings.Contains(index, "doc.json") {
		t.Errorf("Swagger UI is not pointed at /openapi.json only:\n%s", index)
	}
	if !strings.Contains(index, "validatorUrl: null") {
		t.Error("Swagger UI would call the online validator")
	}
	// Every asset the page loads is relative, and served from the binary.
	refs := regexp.MustCompile(`(?:src|href)="([^"]+)"`).FindAllStringSubmatch(index, -1)
	if len(refs) < 3 {
		t.Fatalf("index.html references %d assets", len(refs))
	}
	for _, m := range refs {
		ref := m[1]
		if !strings.HasPrefix(ref, "./") {
			t.Errorf("index.html loads %q: want only relative, embedded assets", ref)
			continue
		}
		resp, body := get("/docs/" + strings.TrimPrefix(ref, "./"))
		if resp.StatusCode != http.StatusOK || len(body) == 0 {
			t.Errorf("%s: %d, %d bytes", ref, resp.StatusCode, len(body))
		}
		if strings.HasSuffix(ref, ".css") && regexp.MustCompile(`@import|url\(["']?(https?:)?//`).MatchString(body) {
			t.Errorf("%s loads from another origin", ref)
		}
	}
}
