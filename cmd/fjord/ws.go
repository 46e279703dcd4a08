package main

import (
	"context"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/fjord-streaming/fjord/api/auth"
	"github.com/fjord-streaming/fjord/ws"
)

// mountWS serves GET /ws and registers its Close as a closer. Group
// subscriptions need a ws.Groups (nil answers them with an error frame).
func (b *broker) mountWS(groups ws.Groups) {
	s := ws.New(ws.Config{
		AllowedOrigins: b.cfg.origins(),
		MaxFrameBytes:  b.cfg.MaxRequestBytes,
		Groups:         groups,
		Authorizer:     wsAuthorizer{b},
		Logger:         b.log,
		Registerer:     b.registry,
	}, b.engine)
	b.api.Echo().GET("/ws", echo.WrapHandler(s))
	b.closers = append(b.closers, func() {
		ctx, cancel := context.WithTimeout(context.Background(), b.cfg.ShutdownTimeout)
		defer cancel()
		if err := s.Close(ctx); err != nil {
			b.log.Warn("websocket connections did not end in time", "err", err)
		}
	})
}

// wsAuthorizer adapts the broker's token auth, which secure sets up after
// the routes are mounted, to ws.Authorizer: it looks it up per call and
// allows everything while auth is off.
type wsAuthorizer struct{ b *broker }

func (a wsAuthorizer) Authorize(r *http.Request) (any, error) {
	if a.b.sec.auth == nil {
		return nil, nil
	}
	return a.b.sec.auth.AuthenticateRequest(r)
}

func (a wsAuthorizer) Allow(principal any, resource, name, op string) error {
	if a.b.sec.auth == nil {
		return nil
	}
	p, _ := principal.(*auth.Principal)
	return a.b.sec.auth.Allow(p, auth.Resource(resource), name, auth.Op(op))
}
