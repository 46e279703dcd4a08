package ws_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/fjord-streaming/fjord/api"
	"github.com/fjord-streaming/fjord/engine"
	"github.com/fjord-streaming/fjord/engine/group"
	"github.com/fjord-streaming/fjord/membership"
	"github.com/fjord-streaming/fjord/storage"
	"github.com/fjord-streaming/fjord/ws"
)

// inProcess is a broker assembled in the test process (real Pebble on a
// temporary directory, the engine, REST and /ws on an httptest server at
// 127.0.0.1), for benchmarks that should not measure a process boundary.
type inProcess struct {
	engine *engine.Engine
	groups *group.Manager
	ws     *ws.Server
	http   *httptest.Server
	addr   string // host:port
}

// startInProcess starts the broker; with groups it also runs the
// consumer-group manager and serves group subscriptions with it.
func startInProcess(tb testing.TB, cfg ws.Config, groups bool) *inProcess {
	tb.Helper()
	db, err := storage.Open(tb.TempDir(), storage.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	eng, err := engine.Open(db, engine.Config{BrokerID: 1, AutoCreateTopics: true})
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go eng.Run(ctx)
	var gm *group.Manager
	if groups {
		if gm, err = group.NewManager(eng, group.ManagerConfig{}); err != nil {
			tb.Fatal(err)
		}
		go gm.Run(ctx)
		cfg.Groups = ws.ManagerGroups(gm)
	}
	srv := httptest.NewUnstartedServer(nil)
	addr := srv.Listener.Addr().String()
	rest := api.New(api.Config{}, eng, membership.NewLocal(1, addr))
	wss := ws.New(cfg, eng)
	rest.Echo().GET("/ws", echo.WrapHandler(wss))
	srv.Config.Handler = rest.Handler()
	srv.Start()
	tb.Cleanup(func() {
		eng.StopWaiters()
		closeCtx, stop := context.WithTimeout(context.Background(), 10*time.Second)
		defer stop()
		if err := wss.Close(closeCtx); err != nil {
			tb.Errorf("ws close: %v", err)
		}
		srv.Close()
		if gm != nil {
			gm.Close()
		}
		cancel()
		eng.Close()
		_ = db.Close()
	})
	return &inProcess{engine: eng, groups: gm, ws: wss, http: srv, addr: strings.TrimPrefix(srv.URL, "http://")}
}
