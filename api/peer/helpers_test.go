package peer_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/fjord-streaming/fjord/api/peer"
	"github.com/fjord-streaming/fjord/engine"
	"github.com/fjord-streaming/fjord/storage/storagetest"
)

const testSecret = "s3cret"

// The engine provides the leader-only methods the peer routes need.
var _ peer.Engine = (*engine.Engine)(nil)

// leaderEngine is the engine as the peer server sees it, with a hook that
// reports each long poll as it reaches the engine (for the long-poll tests).
type leaderEngine struct {
	*engine.Engine
	arrived chan struct{}
}

func (l *leaderEngine) arrive() {
	select {
	case l.arrived <- struct{}{}:
	default:
	}
}

func (l *leaderEngine) FetchLeader(ctx context.Context, topic string, partition int32, req engine.FetchRequest) (engine.ReadResult, error) {
	l.arrive()
	return l.Engine.FetchLeader(ctx, topic, partition, req)
}

func (l *leaderEngine) WaitOffsets(ctx context.Context, topic string, partition int32, knownHW int64, wait time.Duration) (engine.Offsets, error) {
	l.arrive()
	return l.Engine.WaitOffsets(ctx, topic, partition, knownHW, wait)
}

// adminCall is one call a recordingAdmin received.
type adminCall struct {
	Op     string
	Spec   engine.TopicSpec
	Name   string
	Update engine.TopicUpdate
}

// recordingAdmin is a controller of one broker: it applies topic changes to
// a real engine and records every call.
type recordingAdmin struct {
	eng *engine.Engine

	mu    sync.Mutex // guards calls
	calls []adminCall
}

func (a *recordingAdmin) record(c adminCall) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.calls = append(a.calls, c)
}

func (a *recordingAdmin) Calls() []adminCall {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]adminCall(nil), a.calls...)
}

func (a *recordingAdmin) CreateTopicLocal(_ context.Context, spec engine.TopicSpec) (uint64, error) {
	a.record(adminCall{Op: "create", Spec: spec})
	if _, err := a.eng.CreateTopic(spec); err != nil {
		return 0, err
	}
	return uint64(a.eng.MetadataVersion()), nil
}

func (a *recordingAdmin) UpdateTopicLocal(_ context.Context, name string, u engine.TopicUpdate) (uint64, error) {
	a.record(adminCall{Op: "update", Name: name, Update: u})
	if _, err := a.eng.UpdateTopic(name, u); err != nil {
		return 0, err
	}
	return uint64(a.eng.MetadataVersion()), nil
}

func (a *recordingAdmin) DeleteTopicLocal(_ context.Context, name string) (uint64, error) {
	a.record(adminCall{Op: "delete", Name: name})
	if err := a.eng.DeleteTopic(name); err != nil {
		return 0, err
	}
	return uint64(a.eng.MetadataVersion()), nil
}

// broker is one real engine on Pebble over an in-memory file system, served
// by a real echo server on 127.0.0.1 with the peer routes mounted.
type broker struct {
	id    int32
	eng   *engine.Engine
	lead  *leaderEngine
	admin *recordingAdmin
	echo  *echo.Echo
	addr  string
}

type brokerOpt func(*brokerOpts)

type brokerOpts struct {
	secret  string
	noAdmin bool
	extra   func(e *echo.Echo)
}

func withSecret(s string) brokerOpt           { return func(o *brokerOpts) { o.secret = s } }
func withoutAdmin() brokerOpt                 { return func(o *brokerOpts) { o.noAdmin = true } }
func withRoutes(f func(*echo.Echo)) brokerOpt { return func(o *brokerOpts) { o.extra = f } }

func startBroker(t *testing.T, id int32, opts ...brokerOpt) *broker {
	t.Helper()
	o := brokerOpts{secret: testSecret}
	for _, f := range opts {
		f(&o)
	}
	eng, err := engine.Open(storagetest.OpenMem(t), engine.Config{BrokerID: id, MaxWait: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	b := &broker{id: id, eng: eng, lead: &leaderEngine{Engine: eng, arrived: make(chan struct{}, 1)}}
	b.admin = &recordingAdmin{eng: eng}
	var admin peer.Admin = b.admin
	if o.noAdmin {
		admin = nil
	}
	b.echo = newEcho(t, id, func(e *echo.Echo) {
		peer.NewServer(peer.ServerConfig{Secret: o.secret}, b.lead, admin).Mount(e)
		if o.extra != nil {
			o.extra(e)
		}
	}, &b.addr)
	t.Cleanup(func() {
		// Waiters end first, so that Shutdown finds every handler done.
		eng.StopWaiters()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := b.echo.Shutdown(ctx); err != nil {
			t.Errorf("shutdown broker %d: %v", id, err)
		}
		eng.Close()
	})
	return b
}

// newEcho serves a new echo instance on 127.0.0.1:0; routes adds its
// routes, addr receives its address. Every answer says which broker gave it.
func newEcho(t *testing.T, id int32, routes func(*echo.Echo), addr *string) *echo.Echo {
	t.Helper()
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.Use(func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			c.Response().Header().Set("X-Fjord-Broker", strconv.Itoa(int(id)))
			return next(c)
		}
	})
	routes(e)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	*addr = ln.Addr().String()
	e.Listener = ln
	go func() {
		if err := e.Start(""); err != nil && !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("echo: %v", err)
		}
	}()
	t.Cleanup(func() { _ = e.Close() })
	return e
}

// resolver maps broker ids to addresses.
type resolver map[int32]string

func (r resolver) BrokerAddr(id int32) (string, bool) {
	a, ok := r[id]
	return a, ok
}

func newClient(t *testing.T, self int32, secret string, brokers ...*broker) *peer.Client {
	t.Helper()
	r := resolver{}
	for _, b := range brokers {
		r[b.id] = b.addr
	}
	c := peer.NewClient(peer.ClientConfig{Self: self, Secret: secret, Resolver: r})
	t.Cleanup(c.Close)
	return c
}

// placeTopics makes every engine hold the same topics with the same ids:
// topic name -> leader of each partition (-1 offline).
func placeTopics(t *testing.T, version uint64, topics map[string][]int32, engines ...*engine.Engine) {
	t.Helper()
	var mds []engine.TopicMetadata
	id := uint64(100)
	for name, leaders := range topics {
		id++
		md := engine.TopicMetadata{Name: name, ID: id, ReplicationFactor: 1, Config: engine.DefaultTopicConfig()}
		for _, l := range leaders {
			pl := engine.Placement{Leader: l, Replicas: []int32{l}, ISR: []int32{l}}
			if l < 0 {
				pl.Replicas, pl.ISR = []int32{1}, nil
			}
			md.Partitions = append(md.Partitions, pl)
		}
		mds = append(mds, md)
	}
	for _, e := range engines {
		if err := e.ApplyMetadata(version, mds); err != nil {
			t.Fatal(err)
		}
	}
}
