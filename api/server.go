package api

import (
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/fjord-streaming/fjord/api/problem"
	"github.com/fjord-streaming/fjord/engine"
	"github.com/fjord-streaming/fjord/membership"
)

// Config configures the REST server.
type Config struct {
	// MaxRequestBytes caps a request body (default 64 MiB).
	MaxRequestBytes int64
	// AllowedOrigins are the browser origins, besides the broker's own, that
	// may call the API (CORS) and open WebSockets.
	AllowedOrigins []string
	// Logger receives request errors.
	Logger *slog.Logger
	// Registry receives HTTP metrics and serves /metrics; nil disables /metrics.
	Registry *prometheus.Registry
}

// Cluster is what the API needs to know about the brokers.
type Cluster interface {
	Self() membership.Broker
	Brokers() []membership.Broker
	ControllerID() int32
}

// Server is the REST API of one broker.
type Server struct {
	cfg     Config
	engine  *engine.Engine
	cluster Cluster
	echo    *echo.Echo
	ready   atomic.Bool
	brokerH string
	// router forwards to other brokers; nil alone (SetRouter).
	router Router
}

// New builds the server and its routes.
func New(cfg Config, eng *engine.Engine, cluster Cluster) *Server {
	if cfg.MaxRequestBytes <= 0 {
		cfg.MaxRequestBytes = 64 << 20
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{cfg: cfg, engine: eng, cluster: cluster, echo: echo.New(),
		brokerH: strconv.Itoa(int(cluster.Self().ID))}
	e := s.echo
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = s.handleError
	e.Use(middleware.RecoverWithConfig(middleware.RecoverConfig{DisableStackAll: true, LogErrorFunc: func(c echo.Context, err error, stack []byte) error {
		s.cfg.Logger.Error("handler panic", "err", err, "path", c.Request().URL.Path, "stack", string(stack))
		return err
	}}))
	if cfg.Registry != nil {
		e.Use(httpMetrics(cfg.Registry))
	}
	if len(cfg.AllowedOrigins) > 0 {
		e.Use(middleware.CORSWithConfig(middleware.CORSConfig{AllowOrigins: cfg.AllowedOrigins,
			AllowHeaders: []string{"Content-Type", "Authorization"}}))
	}
	e.Use(func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			c.Response().Header().Set("X-Fjord-Broker", s.brokerH)
			return next(c)
		}
	})
	s.routes()
	return s
}

// Echo exposes the router so other packages (ws, openapi, web) can mount routes.
func (s *Server) Echo() *echo.Echo { return s.echo }

// Handler is the HTTP handler of the whole API.
func (s *Server) Handler() http.Handler { return s.echo }

// SetReady marks the broker ready (or not) for /readyz.
func (s *Server) SetReady(ready bool) { s.ready.Store(ready) }

func (s *Server) routes() {
	e := s.echo
	e.GET("/healthz", s.healthz)
	e.GET("/readyz", s.readyz)
	e.GET("/cluster", s.getCluster)
	if s.cfg.Registry != nil {
		e.GET("/metrics", echo.WrapHandler(promhttp.HandlerFor(s.cfg.Registry, promhttp.HandlerOpts{})))
	}
	e.POST("/topics", s.createTopic)
	e.GET("/topics", s.listTopics)
	e.GET("/topics/:topic", s.describeTopic)
	e.PATCH("/topics/:topic", s.patchTopic)
	e.DELETE("/topics/:topic", s.deleteTopic)
	e.POST("/topics/:topic/records", s.produce)
	e.POST("/topics/:topic/partitions/:partition/records", s.produceToPartition)
	e.GET("/topics/:topic/partitions/:partition/records", s.readRecords)
	e.GET("/topics/:topic/partitions/:partition/offsets", s.partitionOffsets)
}

// handleError renders every error, including echo's own (404 route, 405),
// as problem+json.
func (s *Server) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	var he *echo.HTTPError
	if errors.As(err, &he) {
		code := problem.InvalidRequest
		switch he.Code {
		case http.StatusNotFound:
			code = problem.NotFound
		case http.StatusMethodNotAllowed:
			code = problem.MethodNotAllowed
		case http.StatusRequestEntityTooLarge:
			code = problem.RequestTooLarge
		case http.StatusUnsupportedMediaType:
			code = problem.UnsupportedMediaType
		case http.StatusUnauthorized:
			code = problem.Unauthorized
		case http.StatusForbidden:
			code = problem.Forbidden
		case http.StatusTooManyRequests:
			code = problem.TooManyRequests
		case http.StatusInternalServerError:
			code = problem.Internal
		}
		msg := http.StatusText(he.Code)
		if m, ok := he.Message.(string); ok {
			msg = m
		}
		err = problem.New(he.Code, code, msg)
	}
	d := problem.From(err)
	if d.Status >= 500 {
		s.cfg.Logger.Error("request failed", "method", c.Request().Method, "path", c.Request().URL.Path, "err", err)
	}
	writeProblem(c, d)
}

func writeProblem(c echo.Context, d problem.Details) {
	c.Response().Header().Set(echo.HeaderContentType, "application/problem+json")
	if c.Request().Method == http.MethodHead {
		c.Response().WriteHeader(d.Status)
		return
	}
	_ = c.JSON(d.Status, d)
}

// WriteError renders err as problem+json; other packages mounting routes use it.
func WriteError(c echo.Context, err error) error {
	writeProblem(c, problem.From(err))
	return nil
}

func httpMetrics(reg prometheus.Registerer) echo.MiddlewareFunc {
	reqs := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "fjord_http_requests_total",
		Help: "HTTP requests by route, method and status."}, []string{"route", "method", "status"})
	dur := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "fjord_http_request_duration_seconds",
		Help: "HTTP request latency by route and method.", Buckets: prometheus.ExponentialBuckets(0.0001, 2, 18)},
		[]string{"route", "method"})
	reg.MustRegister(reqs, dur)
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			start := time.Now()
			err := next(c)
			if err != nil {
				c.Error(err)
			}
			route := c.Path()
			if route == "" {
				route = "unmatched"
			}
			m := c.Request().Method
			reqs.WithLabelValues(route, m, strconv.Itoa(c.Response().Status)).Inc()
			dur.WithLabelValues(route, m).Observe(time.Since(start).Seconds())
			return nil
		}
	}
}

type healthBody struct {
	// Status is ok when serving, starting while the broker cannot serve yet.
	Status string `json:"status" enums:"ok,starting" example:"ok"`
}

// healthz godoc
// @Summary      Liveness: 200 while the process serves
// @Description  Open even when auth is on.
// @ID           getHealth
// @Tags         cluster
// @Produce      json
// @Success      200 {object} api.healthBody
// @Router       /healthz [get]
func (s *Server) healthz(c echo.Context) error {
	return c.JSON(http.StatusOK, healthBody{Status: "ok"})
}

// readyz godoc
// @Summary      Readiness: 200 once the broker has metadata and can serve
// @Description  Open even when auth is on. Load balancers and orchestrators route traffic on it. A broker is ready
// @Description  once it has applied metadata from the cluster's metadata log that registers it (its current
// @Description  incarnation); it stays ready on a minority side, where it still serves the partitions it leads.
// @ID           getReady
// @Tags         cluster
// @Produce      json
// @Success      200 {object} api.healthBody "ready"
// @Failure      503 {object} api.healthBody "not ready yet, or shutting down (status starting)"
// @Router       /readyz [get]
func (s *Server) readyz(c echo.Context) error {
	if !s.ready.Load() {
		return c.JSON(http.StatusServiceUnavailable, healthBody{Status: "starting"})
	}
	return c.JSON(http.StatusOK, healthBody{Status: "ok"})
}

// ClusterBroker is one broker in GET /cluster.
type ClusterBroker struct {
	ID       int32  `json:"id" example:"1"`
	HTTPAddr string `json:"http_addr" example:"127.0.0.1:8080"`
	Status   string `json:"status" enums:"alive,suspect,failed,left" example:"alive"`
}

// ClusterInfo is the body of GET /cluster.
type ClusterInfo struct {
	ClusterID string `json:"cluster_id" example:"6f1c0a3e9b2d4c8e"`
	// ControllerID is -1 while no broker controls the cluster.
	ControllerID    int32           `json:"controller_id" example:"1"`
	MetadataVersion int64           `json:"metadata_version" example:"17"`
	Brokers         []ClusterBroker `json:"brokers"`
}

// getCluster godoc
// @Summary      Cluster metadata: brokers, controller, metadata version
// @Description  Every registered broker and every broker the gossip (Serf) knows, with its status: alive, failed
// @Description  (missed the gossip's failure detection, about 5 s with the lan profile) or left (stopped gracefully);
// @Description  suspect is part of the contract but not reported yet (Serf does not expose memberlist's suspicion).
// @Description  controller_id is the broker leading the Raft metadata log: the lowest live id once it has been alive
// @Description  for a settling time (3 s); -1 while there is none (an election, or a side without a majority).
// @Description  metadata_version is the index of the metadata log entry this broker applied last; every broker
// @Description  reports the same value once it has caught up.
// @ID           getCluster
// @Tags         cluster
// @Produce      json
// @Success      200 {object} api.ClusterInfo
// @Router       /cluster [get]
func (s *Server) getCluster(c echo.Context) error {
	info := ClusterInfo{ClusterID: s.engine.ClusterID(), ControllerID: s.cluster.ControllerID(),
		MetadataVersion: s.engine.MetadataVersion(), Brokers: []ClusterBroker{}}
	for _, b := range s.cluster.Brokers() {
		info.Brokers = append(info.Brokers, ClusterBroker{ID: b.ID, HTTPAddr: b.HTTPAddr, Status: b.Status})
	}
	return c.JSON(http.StatusOK, info)
}
