package auth

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
)

// AnyMethod in a table entry matches every method, including echo's
// route-not-found pseudo-method.
const AnyMethod = "*"

// need is one permission a route requires: op on every resource named by
// names (the first path parameter, a body field, or nothing for the cluster).
type need struct {
	res   Resource
	op    Op
	names nameSource
}

// nameSource says where a route finds the name of the resource it touches.
type nameSource struct {
	// param: the route's first path parameter ({topic} or {group}).
	param bool
	// bodyField: a JSON string or array-of-strings member of the body.
	bodyField string
}

// rule is what one route requires.
type rule struct {
	// open routes are served to anyone, without a token.
	open bool
	// queryToken accepts ?token= besides the Authorization header.
	queryToken bool
	// needs all must be granted; none means any valid token will do.
	needs []need
	// list, when set, filters a 200 JSON answer down to what the token can see.
	list *listFilter
	// unmapped marks a registered route missing from the table: it is
	// refused to every token but cluster admins.
	unmapped bool
}

// listFilter describes a list answer: {member: [{field: name, …}, …]}.
type listFilter struct {
	res    Resource
	member string
	field  string
}

// Route is one entry of the route table, for documentation and tests.
type Route struct {
	Method string
	Path   string
	rule   rule
}

var (
	openRule  = rule{open: true}
	pathParam = nameSource{param: true}
	noName    = nameSource{}
)

func needs(ns ...need) rule                         { return rule{needs: ns} }
func on(res Resource, op Op, names nameSource) need { return need{res: res, op: op, names: names} }
func body(field string) nameSource                  { return nameSource{bodyField: field} }
func list(res Resource, member, field string) rule {
	return rule{list: &listFilter{res: res, member: member, field: field}}
}

// InternalPrefix starts the broker-to-broker routes (the metadata log,
// forwarded appends and reads). Tokens do not apply to them: their handlers
// authenticate the calling broker by the cluster secret.
const InternalPrefix = "/internal/"

// table is THE map from every route of the broker to what it requires.
// Paths are echo route paths; parameter names do not matter (":topic" and
// ":t" are the same entry), the first parameter names the resource.
var table = []Route{
	// Open: probes, the API description and the console's static files.
	{http.MethodGet, "/healthz", openRule},
	{http.MethodGet, "/readyz", openRule},
	{http.MethodGet, "/openapi.json", openRule},
	{http.MethodGet, "/docs", openRule},
	{http.MethodGet, "/docs/*", openRule},
	{AnyMethod, "/", openRule},
	{AnyMethod, "/ui/*", openRule},
	{AnyMethod, "/static/*", openRule},
	{AnyMethod, "/favicon.ico", openRule},

	// Cluster.
	{http.MethodGet, "/cluster", needs(on(Cluster, Read, noName))},
	{http.MethodGet, "/metrics", needs(on(Cluster, Read, noName))},

	// WebSocket: the handshake needs a valid token (header or ?token=); the
	// ws package asks Allow for every subscription and produce.
	{http.MethodGet, "/ws", rule{queryToken: true}},

	// Topics.
	{http.MethodGet, "/topics", list(Topic, "topics", "name")},
	{http.MethodPost, "/topics", needs(on(Topic, Admin, body("name")))},
	{http.MethodGet, "/topics/:", needs(on(Topic, Describe, pathParam))},
	{http.MethodPatch, "/topics/:", needs(on(Topic, Admin, pathParam))},
	{http.MethodDelete, "/topics/:", needs(on(Topic, Admin, pathParam))},
	{http.MethodPost, "/topics/:/records", needs(on(Topic, Write, pathParam))},
	{http.MethodPost, "/topics/:/partitions/:/records", needs(on(Topic, Write, pathParam))},
	{http.MethodGet, "/topics/:/partitions/:/records", needs(on(Topic, Read, pathParam))},
	{http.MethodGet, "/topics/:/partitions/:/offsets", needs(on(Topic, Describe, pathParam))},

	// Consumer groups and lag.
	{http.MethodGet, "/groups", list(Group, "groups", "group")},
	{http.MethodGet, "/lag", list(Group, "groups", "group")},
	{http.MethodGet, "/groups/:", needs(on(Group, Describe, pathParam))},
	{http.MethodGet, "/groups/:/lag", needs(on(Group, Describe, pathParam))},
	{http.MethodPut, "/groups/:/offsets", needs(on(Group, Admin, pathParam))},
	{http.MethodDelete, "/groups/:", needs(on(Group, Admin, pathParam))},
	{http.MethodPost, "/groups/:/members", needs(on(Group, Read, pathParam), on(Topic, Read, body("topics")))},
	{http.MethodGet, "/groups/:/members/:/records", needs(on(Group, Read, pathParam))},
	{http.MethodPost, "/groups/:/members/:/commit", needs(on(Group, Read, pathParam))},
	{http.MethodPost, "/groups/:/members/:/seek", needs(on(Group, Read, pathParam))},
	{http.MethodPost, "/groups/:/members/:/heartbeat", needs(on(Group, Read, pathParam))},
	{http.MethodDelete, "/groups/:/members/:", needs(on(Group, Read, pathParam))},
}

// Table returns the route table.
func Table() []Route { return append([]Route(nil), table...) }

// Open reports whether the route is served without a token.
func (r Route) Open() bool { return r.rule.open }

var tableIndex = func() map[string]*rule {
	m := make(map[string]*rule, len(table))
	for i := range table {
		m[table[i].Method+" "+normalize(table[i].Path)] = &table[i].rule
	}
	return m
}()

// normalize blanks parameter names: "/topics/:topic" -> "/topics/:".
func normalize(path string) string {
	if !strings.Contains(path, ":") {
		return path
	}
	segs := strings.Split(path, "/")
	for i, s := range segs {
		if strings.HasPrefix(s, ":") {
			segs[i] = ":"
		}
	}
	return strings.Join(segs, "/")
}

// lookup returns the table's rule for a route, or nil.
func lookup(method, path string) *rule {
	if strings.HasPrefix(path, InternalPrefix) {
		return &openRule
	}
	p := normalize(path)
	if r, ok := tableIndex[method+" "+p]; ok {
		return r
	}
	if method == http.MethodHead {
		if r, ok := tableIndex[http.MethodGet+" "+p]; ok {
			return r
		}
	}
	return tableIndex[AnyMethod+" "+p]
}

var unmappedRule = rule{unmapped: true}

// ruleFor returns the rule of the route echo matched for c, or nil when echo
// matched none (its 404, 405 and OPTIONS answers reveal nothing).
func ruleFor(e *echo.Echo, c echo.Context) *rule {
	method, path := c.Request().Method, c.Path()
	if r := lookup(method, path); r != nil {
		return r
	}
	for _, rt := range e.Routes() {
		if rt.Path == path && (rt.Method == method || rt.Method == echo.RouteNotFound) {
			return &unmappedRule
		}
	}
	return nil
}

// Unmapped lists the routes ("METHOD /path") that have no table entry.
// Middleware refuses them to everyone but cluster admins; a test over the
// broker's routes keeps this list empty.
func Unmapped(routes []*echo.Route) []string {
	var out []string
	for _, rt := range routes {
		if lookup(rt.Method, rt.Path) == nil {
			out = append(out, rt.Method+" "+rt.Path)
		}
	}
	return out
}

// bodyNames decodes field from a JSON object body: a string, or an array of
// strings. encoding/json, which the API's handlers use, matches member names
// case-insensitively, so every member spelling the field counts and all their
// names must be allowed. A body that does not parse, or a field that is
// missing, empty or of another type, yields the name "", which only a "*"
// ACL passes (the handler then refuses the body).
func bodyNames(data []byte, field string) []string {
	var obj map[string]json.RawMessage
	if json.Unmarshal(data, &obj) != nil {
		return []string{""}
	}
	var names []string
	for k, raw := range obj {
		if !strings.EqualFold(k, field) {
			continue
		}
		var one string
		var many []string
		switch {
		case json.Unmarshal(raw, &one) == nil:
			names = append(names, one)
		case json.Unmarshal(raw, &many) == nil && len(many) > 0:
			names = append(names, many...)
		default:
			names = append(names, "")
		}
	}
	if len(names) == 0 {
		return []string{""}
	}
	return names
}
