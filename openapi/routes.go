package openapi

// The functions below carry the annotations of routes whose handlers cannot:
// the WebSocket endpoint (package ws) and the Prometheus exposition
// (promhttp, mounted by package api). They are never called; swag reads
// their comments like any handler's.

// webSocket godoc
// @Summary      WebSocket: subscribe, consume and produce over one socket
// @Description  Upgrades to a WebSocket (RFC 6455) carrying JSON text frames both ways; a client may run several
// @Description  subscriptions on one socket. Client messages: subscribe (one partition, every partition of a topic,
// @Description  or as a consumer-group member), credit (flow control), commit, unsubscribe, produce. Broker messages:
// @Description  subscribed, records, assignment, ack, committed, error. See the contract's WebSocket section.
// @Description  With `topic` in the query the socket subscribes at connect, as subscription id `default`.
// @Description  A handshake whose Origin is neither the broker's own nor listed in --allowed-origins is refused with
// @Description  403; a handshake without Origin (a non-browser client) is accepted. With auth on, the token comes
// @Description  from the Authorization header or, for browsers, from `token`.
// @ID           openWebSocket
// @Tags         websocket
// @Param        topic     query string false "subscribe to this topic at connect (subscription id default)" example(orders)
// @Param        offset    query string false "where that subscription starts: an offset, earliest or latest; with group, the auto_offset_reset (earliest, latest or none)" default(latest)
// @Param        partition query int    false "only this partition (default: every partition of the topic; not with group)" minimum(0)
// @Param        group     query string false "subscribe as a member of this consumer group (server-side assignment)"
// @Param        credits   query int    false "records the subscription may receive before the client sends credit" default(1000) minimum(0) maximum(1099511627776)
// @Param        token     query string false "bearer token, for clients that cannot set the Authorization header"
// @Success      101 "Switching Protocols: the socket is open"
// @Failure      400 {object} problem.Details "invalid_request: not a WebSocket handshake, or an invalid query parameter"
// @Failure      403 {object} problem.Details "forbidden: a foreign Origin not in --allowed-origins, or a token without the right"
// @Failure      503 {object} problem.Details "leader_not_available: the broker is shutting down"
// @Router       /ws [get]
func webSocket() {}

// metrics godoc
// @Summary      Prometheus metrics
// @Description  Prometheus text exposition format: broker, storage, HTTP and Go runtime metrics.
// @ID           getMetrics
// @Tags         cluster
// @Produce      plain
// @Success      200 {string} string "text exposition"
// @Router       /metrics [get]
func metrics() {}

// The functions above exist for their comments only.
var _, _ = webSocket, metrics
