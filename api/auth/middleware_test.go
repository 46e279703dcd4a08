package auth

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/fjord-streaming/fjord/api/problem"
)

func TestNormalizeAndLookup(t *testing.T) {
	tests := []struct {
		method, path string
		found        bool
	}{
		{"GET", "/topics/:topic", true},
		{"GET", "/topics/:t", true},
		{"HEAD", "/topics/:topic", true}, // HEAD falls back to GET
		{"PUT", "/topics/:topic", false},
		{"GET", "/groups/:g/members/:m/records", true},
		{"DELETE", "/groups/:group/members/:member", true},
		{"OPTIONS", "/ui/*", true},
		{"echo_route_not_found", "/", true},
		{"GET", "/topics/:topic/secret", false},
	}
	for _, tt := range tests {
		if got := lookup(tt.method, tt.path) != nil; got != tt.found {
			t.Errorf("lookup(%s %s) found=%v, want %v", tt.method, tt.path, got, tt.found)
		}
	}
	if got := normalize("/groups/:group/members/:member"); got != "/groups/:/members/:" {
		t.Errorf("normalize = %q", got)
	}
}

func TestBodyNames(t *testing.T) {
	tests := []struct {
		body, field string
		want        []string
	}{
		{`{"name":"orders","partitions":3}`, "name", []string{"orders"}},
		{`{"topics":["a","b"]}`, "topics", []string{"a", "b"}},
		{`{"topics":[]}`, "topics", []string{""}},
		{`{"partitions":3}`, "name", []string{""}},
		{`{"name":3}`, "name", []string{""}},
		{`not json`, "name", []string{""}},
		{`{"name":"a","name":"b"}`, "name", []string{"b"}}, // last wins, as for the handler
	}
	for _, tt := range tests {
		if got := bodyNames([]byte(tt.body), tt.field); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("bodyNames(%s, %s) = %q, want %q", tt.body, tt.field, got, tt.want)
		}
	}
	// Case variants all count: encoding/json would take either.
	got := bodyNames([]byte(`{"name":"a","NAME":"b"}`), "name")
	if len(got) != 2 {
		t.Errorf("case variants: got %q, want both names", got)
	}
}

// testServer is an echo with stand-in handlers on some of the broker's
// routes plus one route the table does not know.
func testServer(t *testing.T) *echo.Echo {
	t.Helper()
	toks, err := ParseTokens([]byte(`[
	 {"token":"admin","acls":[{"resource":"cluster","pattern":"*","ops":["admin"]}]},
	 {"token":"reader","acls":[{"resource":"topic","pattern":"orders*","ops":["read"]},
	                           {"resource":"group","pattern":"billing","ops":["read"]}]}]`))
	if err != nil {
		t.Fatal(err)
	}
	e := echo.New()
	e.HTTPErrorHandler = func(err error, c echo.Context) {
		if he, ok := err.(*echo.HTTPError); ok {
			err = problem.New(he.Code, problem.NotFound, http.StatusText(he.Code))
		}
		d := problem.From(err)
		_ = c.JSON(d.Status, d)
	}
	e.Use(New(toks).Middleware(e))
	ok := func(c echo.Context) error {
		b, _ := io.ReadAll(c.Request().Body)
		return c.String(http.StatusOK, "ok:"+string(b))
	}
	e.GET("/healthz", ok)
	e.POST("/topics", ok)
	e.GET("/topics", func(c echo.Context) error {
		return c.JSONBlob(http.StatusOK, []byte(`{"topics":[{"name":"orders","partitions":1},{"name":"payments","partitions":2},{"name":"orders.eu","partitions":3}]}`))
	})
	e.GET("/topics/:topic/partitions/:partition/records", ok)
	e.POST("/groups/:group/members", ok)
	e.GET("/secret", ok)
	return e
}

func TestMiddleware(t *testing.T) {
	e := testServer(t)
	tests := []struct {
		name, token, method, path, body string
		want                            int
		wantBody                        string
	}{
		{"open route", "", "GET", "/healthz", "", 200, "ok:"},
		{"no token", "", "GET", "/topics/orders/partitions/0/records", "", 401, ""},
		{"unknown token", "nope", "GET", "/topics/orders/partitions/0/records", "", 401, ""},
		{"granted", "reader", "GET", "/topics/orders/partitions/0/records", "", 200, ""},
		{"prefix", "reader", "GET", "/topics/orders.eu/partitions/0/records", "", 200, ""},
		{"not granted", "reader", "GET", "/topics/payments/partitions/0/records", "", 403, ""},
		{"404 passes", "", "GET", "/nowhere", "", 404, ""},
		{"unmapped: admin only", "reader", "GET", "/secret", "", 403, ""},
		{"unmapped: cluster admin", "admin", "GET", "/secret", "", 200, ""},
		{"create needs admin", "reader", "POST", "/topics", `{"name":"orders"}`, 403, ""},
		{"cluster admin creates; body intact", "admin", "POST", "/topics", `{"name":"x"}`, 200, `ok:{"name":"x"}`},
		{"join with topic read", "reader", "POST", "/groups/billing/members", `{"topics":["orders"]}`, 200, `ok:{"topics":["orders"]}`},
		{"join a topic not readable", "reader", "POST", "/groups/billing/members", `{"topics":["orders","payments"]}`, 403, ""},
		{"join another group", "reader", "POST", "/groups/other/members", `{"topics":["orders"]}`, 403, ""},
		{"join with a broken body", "reader", "POST", "/groups/billing/members", `{"topics":`, 403, ""},
		{"list filtered", "reader", "GET", "/topics", "", 200, `{"topics":[{"name":"orders","partitions":1},{"name":"orders.eu","partitions":3}]}`},
		{"list whole for admins", "admin", "GET", "/topics", "", 200, `{"topics":[{"name":"orders","partitions":1},{"name":"payments","partitions":2},{"name":"orders.eu","partitions":3}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(tt.method, tt.path, strings.NewReader(tt.body))
			if tt.token != "" {
				req.Header.Set("Authorization", "Bearer "+tt.token)
			}
			rec := httptest.NewRecorder()
			e.ServeHTTP(rec, req)
			if rec.Code != tt.want {
				t.Fatalf("status %d, want %d: %s", rec.Code, tt.want, rec.Body)
			}
			if tt.want == 401 && !strings.HasPrefix(rec.Header().Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("401 without WWW-Authenticate: Bearer: %q", rec.Header().Get("WWW-Authenticate"))
			}
			if tt.wantBody != "" && strings.TrimSpace(rec.Body.String()) != tt.wantBody {
				t.Errorf("body %s, want %s", rec.Body, tt.wantBody)
			}
			if tt.want == 401 || tt.want == 403 {
				var d problem.Details
				if err := json.Unmarshal(rec.Body.Bytes(), &d); err != nil || d.Code == "" {
					t.Errorf("not a problem body: %s", rec.Body)
				}
			}
		})
	}
}

func TestUnmapped(t *testing.T) {
	e := testServer(t)
	got := Unmapped(e.Routes())
	if !reflect.DeepEqual(got, []string{"GET /secret"}) {
		t.Fatalf("Unmapped = %q, want [GET /secret]", got)
	}
}
