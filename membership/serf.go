package membership

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/serf/serf"
)

// ErrClosed is returned by Leave after Close.
var ErrClosed = errors.New("membership: closed")

// Serf is this broker's gossip membership: a running Serf instance and the
// goroutines that join it to the cluster and drain its events.
type Serf struct {
	cfg    Config
	name   string // fjord-<id>
	log    *slog.Logger
	gossip *serf.Serf

	// Fixed at Start, before any gossip can arrive: the advertised address.
	selfIP     net.IP
	selfPort   int
	gossipAddr string

	join       []string // Config.Join without this broker's own address
	serfEvents chan serf.Event
	events     *eventQueue // nil without Config.Events

	probeInterval time.Duration // memberlist's, set by serfConfig
	suspicion     suspicion

	joined    atomic.Bool  // a join succeeded, or there was nothing to join
	failed    atomic.Bool  // fail ran: never join
	livePeers atomic.Int32 // other brokers drain believes alive

	fatal     chan error // capacity 1: the first fatal error
	fatalOnce sync.Once

	joinCtx  context.Context
	stopJoin context.CancelFunc
	stop     chan struct{} // closed by Close: stops drain and event delivery

	life struct {
		sync.Mutex
		// closed is set by Close; after it no goroutine may be added to wg.
		closed bool
		// wg counts every goroutine Serf starts.
		wg sync.WaitGroup
	}
	closeOnce sync.Once
	closeErr  error
}

// Start binds the gossip address, starts Serf and, if cfg.Join is not
// empty, a background loop that joins the cluster. It does not wait for the
// join. Close stops everything Start started.
func Start(cfg Config) (*Serf, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	lib := libLogger(logger)
	nt, err := listen(cfg.BindAddr, lib)
	if err != nil {
		return nil, err
	}
	ip, port, err := nt.FinalAdvertiseAddr("", 0)
	if err != nil {
		_ = nt.Shutdown()
		return nil, fmt.Errorf("membership: advertise address for %s: %w", cfg.BindAddr, err)
	}
	bindIP, _, _ := splitBindAddr(cfg.BindAddr) // Validate parsed it

	s := &Serf{
		cfg:        cfg,
		name:       memberName(cfg.ID),
		log:        logger,
		selfIP:     ip,
		selfPort:   port,
		gossipAddr: net.JoinHostPort(ip.String(), strconv.Itoa(port)),
		serfEvents: make(chan serf.Event, serfEventBuffer),
		fatal:      make(chan error, 1),
		stop:       make(chan struct{}),
	}
	s.joinCtx, s.stopJoin = context.WithCancel(context.Background())
	if cfg.Events != nil {
		s.events = newEventQueue(cfg.Events, eventQueueMax, logger)
	}
	// A shared seed list may name this broker; joining yourself proves nothing.
	for _, a := range cfg.Join {
		if a != s.gossipAddr && a != cfg.BindAddr {
			s.join = append(s.join, a)
		}
	}
	s.joined.Store(len(s.join) == 0)

	s.gossip, err = serf.Create(s.serfConfig(nt, bindIP, ip, port, lib))
	if err != nil {
		s.stopJoin()
		_ = nt.Shutdown()
		return nil, fmt.Errorf("membership: start serf on %s: %w", cfg.BindAddr, err)
	}
	s.goFunc(s.drain)
	s.goFunc(s.probeLoop)
	if s.events != nil {
		s.goFunc(func() { s.events.run(s.stop) })
	}
	if len(s.join) > 0 {
		s.goFunc(s.joinLoop)
	}
	s.log.Info("membership: gossip started", "name", s.name, "gossip_addr", s.gossipAddr,
		"incarnation", cfg.Incarnation, "join", cfg.Join)
	return s, nil
}

// goFunc runs f on a goroutine that Close waits for. It reports false, and
// does not run f, after Close.
func (s *Serf) goFunc(f func()) bool {
	s.life.Lock()
	defer s.life.Unlock()
	if s.life.closed {
		return false
	}
	s.life.wg.Go(f)
	return true
}

// joinLoop tries every join address until one join succeeds, Leave or
// Close stops it, or a duplicate id makes this broker fatal.
//
// A join counts only once it taught us some other member. A broker that is
// contacted while it is still starting answers with an empty member list;
// if the join stopped there, gossip it missed in the meantime (say, a third
// broker joining us) could reach it only by anti-entropy, up to two push-pull
// intervals (30 s in Fast mode) later. Joining again pushes our full state.
func (s *Serf) joinLoop() {
	delay := joinBackoffMin
	for attempt := 1; ; attempt++ {
		n, err := s.gossip.Join(s.join, true)
		if s.failed.Load() || s.joinCtx.Err() != nil {
			return
		}
		if n > 0 && s.gossip.NumNodes() > 1 {
			s.joined.Store(true)
			s.log.Info("membership: joined the cluster", "contacted", n, "attempts", attempt)
			return
		}
		if n > 0 {
			err = errors.New("contacted brokers knew no members yet")
		}
		s.log.Warn("membership: join failed; retrying", "join", s.join,
			"attempt", attempt, "retry_in", delay, "err", err)
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-s.joinCtx.Done():
			t.Stop()
			return
		}
		delay = min(2*delay, joinBackoffMax)
	}
}

// Self is this broker as Serf sees it: alive, or left after Leave.
func (s *Serf) Self() Broker {
	b, _ := brokerFromMember(s.gossip.LocalMember())
	return b
}

// Brokers lists every fjord broker Serf knows, by id: alive, failed, or left
// (after a graceful leave). Failed and left brokers stay listed until Serf
// reaps them (ReconnectTimeout and TombstoneTimeout, 24 h each by default);
// EventReap then says they are gone.
//
// A broker Serf lists as alive shows as suspect while it has missed
// suspectAfter of this broker's probes in a row (memberlist v0.7.0 keeps its
// own suspicion state private, so the probes are this broker's own view).
func (s *Serf) Brokers() []Broker {
	members := s.gossip.Members()
	out := make([]Broker, 0, len(members))
	for _, m := range members {
		if b, ok := s.broker(m); ok {
			out = append(out, b)
		}
	}
	slices.SortFunc(out, func(a, b Broker) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

// Broker is the broker with the given id, as Brokers would list it.
func (s *Serf) Broker(id int32) (Broker, bool) {
	name := memberName(id)
	for _, m := range s.gossip.Members() {
		if m.Name == name {
			return s.broker(m)
		}
	}
	return Broker{}, false
}

// broker is brokerFromMember with this broker's suspicion applied.
func (s *Serf) broker(m serf.Member) (Broker, bool) {
	b, ok := brokerFromMember(m)
	if ok && b.Status == StatusAlive && s.suspicion.suspect(m.Name) {
		b.Status = StatusSuspect
	}
	return b, ok
}

// GossipAddr is the address other brokers reach this one at: the bound IP
// (or, when bound to all interfaces, the private IP memberlist advertises)
// and the bound port, resolved when BindAddr asked for port 0.
func (s *Serf) GossipAddr() string { return s.gossipAddr }

// Joined reports whether a join succeeded, or there was nothing to join.
func (s *Serf) Joined() bool { return s.joined.Load() }

// Fatal delivers at most one error, wrapping ErrDuplicateID, when this
// broker must stop: another live broker already has its id.
func (s *Serf) Fatal() <-chan error { return s.fatal }

// DroppedEvents is how many events were dropped because Config.Events was
// not read fast enough.
func (s *Serf) DroppedEvents() uint64 {
	if s.events == nil {
		return 0
	}
	return s.events.dropped()
}

// Leave leaves the cluster gracefully, so others list this broker as left
// rather than failed, and stops joining. It returns when Serf's leave is
// done or ctx ends; in the latter case the leave goes on in the background
// and Close waits for it (Serf bounds it by its broadcast timeouts, about
// 10 s).
func (s *Serf) Leave(ctx context.Context) error {
	s.stopJoin()
	done := make(chan error, 1)
	if !s.goFunc(func() { done <- s.gossip.Leave() }) {
		return ErrClosed
	}
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("membership: leave %s: %w", s.name, err)
		}
		s.log.Info("membership: left the cluster", "name", s.name)
		return nil
	case <-ctx.Done():
		return fmt.Errorf("membership: leave %s: %w", s.name, ctx.Err())
	}
}

// Close shuts Serf down without leaving (others will see this broker fail
// unless Leave came first) and waits for every goroutine Start or Leave
// started. A join attempt in flight finishes first, bounded by memberlist's
// TCP timeout. Close is idempotent.
func (s *Serf) Close() error {
	s.closeOnce.Do(func() {
		s.life.Lock()
		s.life.closed = true
		s.life.Unlock()
		s.stopJoin()
		if err := s.gossip.Shutdown(); err != nil {
			s.closeErr = fmt.Errorf("membership: shut down serf: %w", err)
		}
		close(s.stop)
		s.life.wg.Wait()
	})
	return s.closeErr
}
