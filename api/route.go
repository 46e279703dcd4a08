package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"

	"github.com/labstack/echo/v4"

	"github.com/fjord-streaming/fjord/engine"
)

// Router sends requests on to other brokers of the cluster. Without one
// (an engine of its own) everything is served here.
type Router interface {
	// Self is this broker's id.
	Self() int32
	// Forwarded reports whether another broker sent r here; such a request
	// is answered here or refused, never forwarded again.
	Forwarded(r *http.Request) bool
	// Proxy sends c's request to broker id and copies its answer back.
	Proxy(c echo.Context, id int32) error
	// Gather sends a GET of path to every other alive broker as a forwarded
	// request and returns their 200 bodies; brokers that fail are left out.
	Gather(ctx context.Context, path string) [][]byte
}

// SetRouter makes the server forward requests led elsewhere. Call it
// before serving.
func (s *Server) SetRouter(r Router) { s.router = r }

// coordinated serves a group route at the group's coordinator: here when
// this broker coordinates the group, otherwise through one forwarding hop.
func (g *groupsAPI) coordinated(h echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := g.s.router
		if r == nil {
			return h(c)
		}
		id, err := g.m.Coordinator(c.Param("group"))
		if err != nil {
			return err
		}
		switch {
		case id == r.Self():
			return h(c)
		case r.Forwarded(c.Request()):
			return fmt.Errorf("%w: broker %d coordinates group %q now", engine.ErrLeaderNotAvailable, id, c.Param("group"))
		}
		return r.Proxy(c, id)
	}
}

// gatherList adds to local the members named member of the same list
// answer from every other broker (each lists the groups it coordinates),
// sorted by key.
func gatherList[T any](c echo.Context, r Router, local []T, member string, key func(T) string) []T {
	if r == nil || r.Forwarded(c.Request()) {
		return local
	}
	out := local
	for _, body := range r.Gather(c.Request().Context(), c.Request().URL.RequestURI()) {
		var m map[string]json.RawMessage
		if json.Unmarshal(body, &m) != nil {
			continue
		}
		var items []T
		if json.Unmarshal(m[member], &items) == nil {
			out = append(out, items...)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return key(out[i]) < key(out[j]) })
	return out
}
