package ws

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/fjord-streaming/fjord/api/problem"
	"github.com/fjord-streaming/fjord/engine"
)

// Config configures the WebSocket endpoint. Zero fields take the defaults
// of EnsureDefaults.
type Config struct {
	// AllowedOrigins are browser origins ("https://app.example.com", or "*"
	// for any) allowed besides the broker's own.
	AllowedOrigins []string
	// MaxFrameBytes caps one client message (default 64 MiB, the REST
	// request limit); a larger one closes the socket with 1009.
	MaxFrameBytes int64
	// WriteQueueBytes is the per-connection budget of records frames
	// waiting to be written (default 1 MiB). Answers to client messages may
	// queue up to twice as much; beyond that the connection is dropped.
	WriteQueueBytes int64
	// FrameBytes is the target size of one records frame (default 256 KiB).
	FrameBytes int
	// FrameRecords is the most records in one records frame (default 1000).
	FrameRecords int
	// PingInterval is how often the broker pings (default 20 s).
	PingInterval time.Duration
	// PongWait is how long the broker waits for a pong before it closes the
	// socket (default 60 s).
	PongWait time.Duration
	// WriteTimeout bounds one frame write; a client that takes longer to
	// accept a frame is dropped (default 30 s).
	WriteTimeout time.Duration
	// MetadataInterval is how often whole-topic subscriptions look for added
	// partitions (default 500 ms). The engine has no notification for it.
	MetadataInterval time.Duration
	// Groups serves group subscriptions; nil answers them with an error.
	Groups Groups
	// Authorizer checks handshakes and operations; nil when auth is off.
	Authorizer Authorizer
	// Logger receives connection errors.
	Logger *slog.Logger
	// Registerer receives the endpoint's metrics; nil disables them.
	Registerer prometheus.Registerer
}

// EnsureDefaults fills zero fields with their defaults.
func (c *Config) EnsureDefaults() {
	setDefault(&c.MaxFrameBytes, 64<<20)
	setDefault(&c.WriteQueueBytes, 1<<20)
	setDefault(&c.FrameBytes, 256<<10)
	setDefault(&c.FrameRecords, 1000)
	setDefault(&c.PingInterval, 20*time.Second)
	setDefault(&c.PongWait, 60*time.Second)
	setDefault(&c.WriteTimeout, 30*time.Second)
	setDefault(&c.MetadataInterval, 500*time.Millisecond)
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

func setDefault[T int | int64 | time.Duration](v *T, def T) {
	if *v <= 0 {
		*v = def
	}
}

// Authorizer is the seam to authentication and ACLs; nil when auth is off.
// The endpoint calls Authorize once per handshake and Allow before every
// subscription and produce. Errors are classified by api/problem
// (unauthorized, forbidden). The principal is opaque to this package: what
// Authorize returns is handed back to Allow.
type Authorizer interface {
	// Authorize authenticates a handshake (Authorization header or ?token=).
	// An error refuses the handshake with its status (401).
	Authorize(r *http.Request) (principal any, err error)
	// Allow reports whether principal may do op ("read" or "write") on the
	// named resource ("topic" or "group"); an error is answered with an error
	// frame (403 forbidden).
	Allow(principal any, resource, name, op string) error
}

// Server serves GET /ws. It owns every connection and its goroutines: Close
// closes the sockets and waits for them.
type Server struct {
	cfg      Config
	engine   *engine.Engine
	upgrader websocket.Upgrader
	metrics  *metrics
	meta     *metadataWatch

	// mu guards the fields below.
	mu      sync.Mutex
	conns   map[*conn]struct{}
	closing bool
	// wg counts connection handlers and the metadata watch.
	wg sync.WaitGroup
}

// New returns a Server over eng. Call Close at shutdown.
func New(cfg Config, eng *engine.Engine) *Server {
	cfg.EnsureDefaults()
	s := &Server{cfg: cfg, engine: eng, conns: make(map[*conn]struct{}), metrics: newMetrics(cfg.Registerer)}
	s.upgrader = websocket.Upgrader{
		HandshakeTimeout: 10 * time.Second,
		ReadBufferSize:   4 << 10,
		WriteBufferSize:  16 << 10,
		// The origin was checked before Upgrade, so that the 403 is a
		// problem+json answer like every other error.
		CheckOrigin: func(*http.Request) bool { return true },
		Error: func(w http.ResponseWriter, _ *http.Request, status int, reason error) {
			writeProblem(w, problem.New(status, problem.InvalidRequest, reason.Error()))
		},
	}
	s.meta = newMetadataWatch(eng, cfg.MetadataInterval)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.meta.run()
	}()
	return s
}

// ServeHTTP performs the handshake and serves the connection until it
// closes: check the origin, authenticate, read the optional query-string
// subscription, upgrade, then read client messages.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !s.originAllowed(r) {
		writeProblem(w, problem.New(http.StatusForbidden, problem.Forbidden,
			"origin "+strconv.Quote(r.Header.Get("Origin"))+" is not allowed (see --allowed-origins)"))
		return
	}
	var principal any
	if s.cfg.Authorizer != nil {
		p, err := s.cfg.Authorizer.Authorize(r)
		if err != nil {
			writeProblem(w, err)
			return
		}
		principal = p
	}
	initial, err := querySubscription(r.URL.Query())
	if err != nil {
		writeProblem(w, err)
		return
	}
	if !websocket.IsWebSocketUpgrade(r) {
		writeProblem(w, problem.New(http.StatusBadRequest, problem.InvalidRequest,
			"/ws expects a WebSocket handshake (Connection: Upgrade, Upgrade: websocket)"))
		return
	}
	s.mu.Lock()
	closing := s.closing
	if !closing {
		s.wg.Add(1)
	}
	s.mu.Unlock()
	if closing {
		writeProblem(w, problem.New(http.StatusServiceUnavailable, problem.LeaderNotAvailable, "the broker is shutting down"))
		return
	}
	defer s.wg.Done()
	ws, err := s.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader answered
	}
	c := newConn(s, ws, principal)
	if !s.register(c) {
		c.closeWith(websocket.CloseGoingAway, "broker shutting down")
	}
	c.serve(initial)
	s.unregister(c)
}

func (s *Server) register(c *conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return false
	}
	s.conns[c] = struct{}{}
	s.metrics.connections.Inc()
	return true
}

func (s *Server) unregister(c *conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.conns[c]; ok {
		delete(s.conns, c)
		s.metrics.connections.Dec()
	}
}

// Close closes every socket with 1001 (going away), refuses new handshakes,
// and waits until every connection goroutine has ended or ctx is done.
func (s *Server) Close(ctx context.Context) error {
	s.mu.Lock()
	first := !s.closing
	s.closing = true
	conns := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	if first {
		s.meta.stop()
	}
	for _, c := range conns {
		c.closeWith(websocket.CloseGoingAway, "broker shutting down")
	}
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// originAllowed: no Origin (not a browser), the broker's own host, or an
// allowed origin.
func (s *Server) originAllowed(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	for _, o := range s.cfg.AllowedOrigins {
		if o == "*" || strings.EqualFold(strings.TrimSuffix(o, "/"), origin) {
			return true
		}
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false
	}
	return strings.EqualFold(u.Host, r.Host)
}

// querySubscription reads /ws?topic=…&offset=…[&partition=…][&group=…]
// [&credits=…]: a subscription made at connect as id "default". Other query
// parameters (token) belong to others and are ignored.
func querySubscription(q url.Values) (*clientMessage, error) {
	topic := q.Get("topic")
	if topic == "" {
		for _, k := range []string{"offset", "partition", "group", "credits"} {
			if q.Has(k) {
				return nil, errInvalid("query parameter %s needs topic", k)
			}
		}
		return nil, nil
	}
	m := &clientMessage{Op: opSubscribe, ID: "default", Topic: topic, Partition: noPartition, Credits: DefaultCredits}
	if v := q.Get("credits"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 || n > maxCredit {
			return nil, errInvalid("credits must be an integer from 0 to %d", int64(maxCredit))
		}
		m.Credits = n
	}
	if g := q.Get("group"); g != "" {
		if q.Has("partition") {
			return nil, errInvalid("a group subscription takes no partition")
		}
		raw := rawMessage{Group: &g, Topic: &topic}
		if v := q.Get("offset"); v != "" {
			raw.AutoOffsetReset = &v
		}
		credits := m.Credits
		if err := m.subscribeGroup(&raw); err != nil {
			return nil, err
		}
		m.Topic, m.Credits = "", credits
		return m, nil
	}
	if v := q.Get("partition"); v != "" {
		p, err := strconv.ParseInt(v, 10, 32)
		if err != nil || p < 0 {
			return nil, errInvalid("partition must be a non-negative integer")
		}
		m.Partition = int32(p)
	}
	off, err := parseOffsetString(q.Get("offset"))
	if err != nil {
		return nil, err
	}
	m.Offset = off
	return m, nil
}

// writeProblem answers a refused handshake with problem+json.
func writeProblem(w http.ResponseWriter, err error) {
	d := problem.From(err)
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(d.Status)
	_ = json.NewEncoder(w).Encode(d)
}

// metadataWatch turns the engine's metadata version, which has no change
// notification, into a channel closed whenever it moves, so that whole-topic
// subscriptions notice added partitions. One goroutine polls for all.
type metadataWatch struct {
	engine   *engine.Engine
	interval time.Duration
	quit     chan struct{}
	once     sync.Once

	// mu guards ch.
	mu sync.Mutex
	ch chan struct{}
}

func newMetadataWatch(eng *engine.Engine, interval time.Duration) *metadataWatch {
	return &metadataWatch{engine: eng, interval: interval, quit: make(chan struct{}), ch: make(chan struct{})}
}

// changed returns a channel closed the next time the metadata changes.
func (m *metadataWatch) changed() <-chan struct{} {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.ch
}

func (m *metadataWatch) run() {
	t := time.NewTicker(m.interval)
	defer t.Stop()
	last := m.engine.MetadataVersion()
	for {
		select {
		case <-m.quit:
			return
		case <-t.C:
		}
		if v := m.engine.MetadataVersion(); v != last {
			last = v
			m.mu.Lock()
			close(m.ch)
			m.ch = make(chan struct{})
			m.mu.Unlock()
		}
	}
}

func (m *metadataWatch) stop() { m.once.Do(func() { close(m.quit) }) }

// metrics of the endpoint.
type metrics struct {
	connections   prometheus.Gauge
	subscriptions prometheus.Gauge
	queuedBytes   prometheus.Gauge
	recordsSent   prometheus.Counter
	dropped       *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		connections: prometheus.NewGauge(prometheus.GaugeOpts{Name: "fjord_ws_connections",
			Help: "Open WebSocket connections."}),
		subscriptions: prometheus.NewGauge(prometheus.GaugeOpts{Name: "fjord_ws_subscriptions",
			Help: "Active WebSocket subscriptions."}),
		queuedBytes: prometheus.NewGauge(prometheus.GaugeOpts{Name: "fjord_ws_queued_bytes",
			Help: "Bytes of WebSocket frames waiting to be written, over all connections."}),
		recordsSent: prometheus.NewCounter(prometheus.CounterOpts{Name: "fjord_ws_records_sent_total",
			Help: "Records queued to WebSocket subscribers."}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "fjord_ws_dropped_connections_total",
			Help: "WebSocket connections the broker dropped, by reason."}, []string{"reason"}),
	}
	if reg != nil {
		reg.MustRegister(m.connections, m.subscriptions, m.queuedBytes, m.recordsSent, m.dropped)
	}
	return m
}

// errGroupsUnavailable answers group subscriptions when no Groups is set.
var errGroupsUnavailable = problem.New(http.StatusBadRequest, problem.InvalidRequest, "groups are not available")

var _ http.Handler = (*Server)(nil)
