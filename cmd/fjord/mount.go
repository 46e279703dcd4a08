package main

import (
	"net/http"

	"github.com/fjord-streaming/fjord/openapi"
	"github.com/fjord-streaming/fjord/web"
	"github.com/fjord-streaming/fjord/ws"
)

// mount attaches the parts served beside the REST API (groups, WebSocket,
// OpenAPI, console, auth). Each adds its routes and, if it owns goroutines,
// a closer to b.closers.
func (b *broker) mount() error {
	if err := web.Mount(b.api.Echo()); err != nil {
		return err
	}
	openapi.Mount(b.api.Echo())  // GET /openapi.json, GET /docs (Swagger UI)
	b.mountCluster(b.api.Echo()) // /internal/v1/: the metadata log and broker-to-broker calls
	// Consumer groups and lag (REST), then the WebSocket, whose group
	// subscriptions are members of the same groups.
	groups, err := b.mountGroups()
	if err != nil {
		return err
	}
	b.mountWS(&routedGroups{local: ws.ManagerGroups(groups), m: groups, b: b,
		http: &http.Client{Transport: &http.Transport{TLSClientConfig: b.cluster.tls, MaxIdleConnsPerHost: 64}}})
	// secure stays last: it checks that every route above has an access rule.
	return b.secure()
}
