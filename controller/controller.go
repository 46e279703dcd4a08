package controller

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/hashicorp/raft"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/fjord-streaming/fjord/controller/raftnet"
	"github.com/fjord-streaming/fjord/controller/raftstore"
	"github.com/fjord-streaming/fjord/engine"
	"github.com/fjord-streaming/fjord/membership"
	"github.com/fjord-streaming/fjord/storage"
)

// Members is the controller's view of who is there (membership's Serf).
type Members interface {
	Self() membership.Broker
	Brokers() []membership.Broker
	// Joined reports whether a --join succeeded (or there was none).
	Joined() bool
}

// Forwarder sends topic changes, ISR changes and controlled shutdowns to
// the controller when this broker is not it (api/peer's client). Each
// returns the metadata version the change was committed at.
type Forwarder interface {
	CreateTopic(ctx context.Context, controller int32, spec engine.TopicSpec) (uint64, error)
	UpdateTopic(ctx context.Context, controller int32, name string, u engine.TopicUpdate) (uint64, error)
	DeleteTopic(ctx context.Context, controller int32, name string) (uint64, error)
	// AlterISR forwards a partition leader's ISR change (AlterISRLocal
	// there).
	AlterISR(ctx context.Context, controller int32, req engine.AlterISR) (uint64, error)
	// ControlledShutdown asks the controller to move broker's leaderships
	// away (ControlledShutdownLocal there).
	ControlledShutdown(ctx context.Context, controller int32, broker int32) (uint64, error)
}

// Config configures a Controller.
type Config struct {
	// ID is this broker's id; Advertise its advertised HTTP address, which
	// is also its Raft address.
	ID        int32
	Advertise string
	// DataDir holds the Raft snapshots (DataDir/raft).
	DataDir string
	// Alone forms a one-broker cluster at once when there is no metadata
	// log yet (no --join).
	Alone bool
	// Secret authenticates Raft connections between brokers.
	Secret string
	// TLS, when set, is the client side of broker-to-broker HTTPS.
	TLS *tls.Config
	// Settle is how long a lower-id voter must have been alive before the
	// controller hands it leadership (default 3 s).
	Settle time.Duration
	// MaxVoters caps the Raft voters (default 5, the lowest ids).
	MaxVoters int
	// RebalanceInterval is how often the controller hands leadership back
	// to preferred replicas that are in sync (default 30 s).
	RebalanceInterval time.Duration
	// Fast shortens Raft's timeouts (tests on one machine).
	Fast       bool
	Logger     *slog.Logger
	Registerer prometheus.Registerer
}

func (c *Config) ensureDefaults() {
	if c.Settle <= 0 {
		c.Settle = 3 * time.Second
	}
	if c.MaxVoters <= 0 {
		c.MaxVoters = 5
	}
	if c.RebalanceInterval <= 0 {
		c.RebalanceInterval = 30 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// Controller runs this broker's part of the metadata log: every broker
// applies it (fsm.go); the one whose Raft node leads is the controller and
// alone proposes changes (admin.go, alterisr.go), registers brokers and
// keeps the voter set and the lowest-id preference (reconcile.go), and
// decides partition leadership: failover, ISR cleanup, preferred-leader
// rebalance and controlled shutdown (leadership.go).
type Controller struct {
	cfg     Config
	eng     *engine.Engine
	members Members
	fwd     Forwarder
	fsm     *fsm
	layer   *raftnet.Layer
	store   *raftstore.Store
	raft    *raft.Raft // nil until Start
	trans   *raft.NetworkTransport
	raftCfg *raft.Config
	snaps   raft.SnapshotStore

	// adminMu serializes the proposals of topic changes, so each is
	// validated against the state the previous one left.
	adminMu sync.Mutex
	// leaderSince is when this broker last became the Raft leader, zero
	// while it is not; only the reconcile loop uses it.
	leaderSince time.Time
	// aliveMu guards aliveSince: when each broker was first seen alive
	// without a break (lowest-id preference).
	aliveMu    sync.Mutex
	aliveSince map[int32]time.Time
	// shutdownMu guards shutdowns: the brokers in controlled shutdown and
	// when each asked (leadership.go).
	shutdownMu sync.Mutex
	shutdowns  map[int32]time.Time
	// lastRebalance is when the reconcile loop last ran the preferred-leader
	// rebalance; only that loop touches it.
	lastRebalance time.Time
	metrics       metrics
	// passMu guards passed, closed and replaced at the end of every
	// reconcile pass as the controller (reconciled).
	passMu sync.Mutex
	passed chan struct{}

	kick   chan struct{}
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// New prepares the controller on db; Start starts it, Close stops it.
func New(cfg Config, db *storage.DB, eng *engine.Engine, members Members, fwd Forwarder) (*Controller, error) {
	cfg.ensureDefaults()
	c := &Controller{cfg: cfg, eng: eng, members: members, fwd: fwd, fsm: newFSM(eng, cfg.Logger),
		aliveSince: map[int32]time.Time{}, shutdowns: map[int32]time.Time{}, kick: make(chan struct{}, 1), metrics: newMetrics(),
		passed: make(chan struct{})}
	c.store = raftstore.New(db)
	c.layer = raftnet.New(raftnet.Config{Advertise: cfg.Advertise, Secret: cfg.Secret, TLS: cfg.TLS, Logger: cfg.Logger})
	c.trans = raftnet.NewTransport(c.layer, cfg.Logger)
	dir := filepath.Join(cfg.DataDir, "raft")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("controller: %w", err)
	}
	snaps, err := raft.NewFileSnapshotStoreWithLogger(dir, 2, raftnet.HCLogger(cfg.Logger, "raft-snapshots"))
	if err != nil {
		return nil, fmt.Errorf("controller: snapshots: %w", err)
	}
	rc := raft.DefaultConfig()
	rc.LocalID = serverID(cfg.ID)
	rc.Logger = raftnet.HCLogger(cfg.Logger, "raft")
	rc.SnapshotThreshold = 4096
	rc.SnapshotInterval = 30 * time.Second
	// A buffered intake lets Raft batch pipelined proposals (a failover
	// of many partitions, leadership.go) into one log write each
	// MaxAppendEntries; unbuffered, it writes and syncs them one by one.
	rc.BatchApplyCh = true
	if cfg.Fast {
		rc.HeartbeatTimeout, rc.ElectionTimeout = 300*time.Millisecond, 300*time.Millisecond
		rc.LeaderLeaseTimeout = 200 * time.Millisecond
	}
	c.raftCfg, c.snaps = rc, snaps
	c.registerMetrics()
	return c, nil
}

// Start starts the Raft node, forms a one-broker cluster when Config.Alone
// and there is no metadata log yet, and runs the controller's loops until
// Close. Until Start the engine keeps the metadata it had on disk.
func (c *Controller) Start() error {
	has, err := raft.HasExistingState(c.store, c.store, c.snaps)
	if err != nil {
		return fmt.Errorf("controller: %w", err)
	}
	// A restarted broker replays its log; see fsm.replaying.
	if c.fsm.replayUntil, err = lastCommand(c.store); err != nil {
		return fmt.Errorf("controller: %w", err)
	}
	c.fsm.replaying.Store(c.fsm.replayUntil > 0)
	if c.raft, err = raft.NewRaft(c.raftCfg, c.fsm, c.store, c.store, c.snaps, c.trans); err != nil {
		return fmt.Errorf("controller: start raft: %w", err)
	}
	if !has && c.cfg.Alone {
		if err := c.bootstrap(); err != nil {
			return err
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	c.cancel = cancel
	c.wg.Add(2)
	go func() { defer c.wg.Done(); c.reconcileLoop(ctx) }()
	go func() { defer c.wg.Done(); c.bootstrapLoop(ctx) }()
	return nil
}

// Layer is the Raft stream layer, an http.Handler the broker mounts at
// raftnet.Path.
func (c *Controller) Layer() *raftnet.Layer { return c.layer }

// Kick asks the controller to look at membership now (a Serf event).
func (c *Controller) Kick() {
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

// Close stops the loops and the Raft node. A controller first hands
// leadership to another voter, so the cluster does not wait for an
// election timeout.
func (c *Controller) Close() error {
	if c.cancel != nil {
		c.cancel()
	}
	c.wg.Wait()
	if c.raft == nil {
		c.layer.Close()
		return c.trans.Close()
	}
	if c.raft.State() == raft.Leader && len(c.voters()) > 1 {
		if err := c.raft.LeadershipTransfer().Error(); err != nil {
			c.cfg.Logger.Info("leadership transfer at shutdown", "err", err)
		}
	}
	// Shutdown waits for Raft's calls to peers, and a call to a broker
	// that is down waits for it to come back (raftnet.Layer.Dial).
	c.layer.StopDialing()
	err := c.raft.Shutdown().Error()
	c.layer.Close()
	_ = c.trans.Close()
	return err
}

// ControllerID is the id of the broker that controls the cluster, or -1
// while there is none (an election, or a minority side).
func (c *Controller) ControllerID() int32 {
	if c.raft == nil {
		return -1
	}
	_, id := c.raft.LeaderWithID()
	if id == "" {
		return -1
	}
	n, err := strconv.ParseInt(string(id), 10, 32)
	if err != nil {
		return -1
	}
	return int32(n)
}

// IsController reports whether this broker is the controller.
func (c *Controller) IsController() bool { return c.raftState() == raft.Leader }

// raftState is the Raft node's state; Shutdown before Start.
func (c *Controller) raftState() raft.RaftState {
	if c.raft == nil {
		return raft.Shutdown
	}
	return c.raft.State()
}

// Ready reports whether this broker has applied metadata that registers it.
func (c *Controller) Ready() bool {
	st := c.fsm.current()
	b, ok := st.Brokers[c.cfg.ID]
	return ok && st.ClusterID != "" && b.Incarnation == c.members.Self().Incarnation && !c.fsm.replaying.Load()
}

// MetadataVersion is the index of the last applied metadata entry.
func (c *Controller) MetadataVersion() uint64 { return c.fsm.current().Version }

// BrokerAddr is the advertised HTTP address of broker id.
func (c *Controller) BrokerAddr(id int32) (string, bool) {
	if b, ok := c.fsm.current().Brokers[id]; ok {
		return b.HTTPAddr, true
	}
	for _, b := range c.members.Brokers() {
		if b.ID == id {
			return b.HTTPAddr, true
		}
	}
	return "", false
}

func serverID(id int32) raft.ServerID { return raft.ServerID(strconv.Itoa(int(id))) }

func parseServerID(id raft.ServerID) (int32, bool) {
	n, err := strconv.ParseInt(string(id), 10, 32)
	return int32(n), err == nil
}

// errNotController is returned by a proposal on a broker that is not the
// controller (or lost the role meanwhile).
var errNotController = fmt.Errorf("%w: this broker is not the controller", engine.ErrLeaderNotAvailable)

// proposeTimeout bounds one proposal.
const proposeTimeout = 10 * time.Second

// propose commits one command and returns its index and the state
// machine's verdict.
func (c *Controller) propose(cmd []byte) (uint64, error) {
	if c.raftState() != raft.Leader {
		return 0, errNotController
	}
	return result(c.raft.Apply(cmd, proposeTimeout))
}

// result waits for a proposal and returns its index and the state
// machine's verdict. A proposal that met an election or a hand-over was
// not made: errNotController, which route retries at the new controller.
func result(f raft.ApplyFuture) (uint64, error) {
	if err := f.Error(); err != nil {
		if errors.Is(err, raft.ErrNotLeader) || errors.Is(err, raft.ErrLeadershipLost) || errors.Is(err, raft.ErrEnqueueTimeout) ||
			errors.Is(err, raft.ErrLeadershipTransferInProgress) {
			return 0, fmt.Errorf("%w: %v", errNotController, err)
		}
		return 0, fmt.Errorf("controller: propose: %w", err)
	}
	if err, ok := f.Response().(error); ok && err != nil {
		return f.Index(), err
	}
	return f.Index(), nil
}
