package controller

import (
	"context"
	"slices"
	"time"

	"github.com/hashicorp/raft"

	"github.com/fjord-streaming/fjord/controller/metadata"
	"github.com/fjord-streaming/fjord/membership"
)

// reconcileInterval is how often the controller looks at membership when
// nothing kicks it.
const reconcileInterval = time.Second

// reconcileLoop runs the controller's duties while this broker leads the
// metadata log, on every membership event, leadership change and tick.
func (c *Controller) reconcileLoop(ctx context.Context) {
	t := time.NewTicker(reconcileInterval)
	defer t.Stop()
	for {
		c.trackAlive()
		if c.raft.State() == raft.Leader {
			if c.leaderSince.IsZero() {
				c.leaderSince = time.Now()
			}
			c.reconcile()
			c.endPass()
		} else {
			c.lastRebalance = time.Time{} // a new term as controller waits an interval
			c.leaderSince = time.Time{}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-c.kick:
		case <-c.raft.LeaderCh():
		}
	}
}

// reconciled returns a channel closed at the end of the next reconcile
// pass this broker makes as the controller (or of the one under way).
func (c *Controller) reconciled() <-chan struct{} {
	c.passMu.Lock()
	defer c.passMu.Unlock()
	return c.passed
}

func (c *Controller) endPass() {
	c.passMu.Lock()
	defer c.passMu.Unlock()
	close(c.passed)
	c.passed = make(chan struct{})
}

// trackAlive records since when each broker has been alive without a
// break, and ends the shutdown marks of brokers that stopped.
func (c *Controller) trackAlive() {
	now := time.Now()
	members := c.members.Brokers()
	c.forgetStopped(members)
	c.aliveMu.Lock()
	defer c.aliveMu.Unlock()
	seen := map[int32]bool{}
	for _, b := range members {
		if b.Status != membership.StatusAlive {
			continue
		}
		seen[b.ID] = true
		if _, ok := c.aliveSince[b.ID]; !ok {
			c.aliveSince[b.ID] = now
		}
	}
	for id := range c.aliveSince {
		if !seen[id] {
			delete(c.aliveSince, id)
		}
	}
}

// reconcile makes the metadata and the Raft configuration match who is
// there: the log is initialized once, alive brokers are registered (a new
// incarnation too), partitions whose leader or followers are gone fail over
// or shrink their ISR and, now and then, leadership returns to preferred
// replicas (leadership.go), internal topics grow to the brokers there are
// (growth.go), brokers become voters (the lowest ids) or
// non-voters, and the controller role goes to the lowest-id voter that is
// alive and settled. Failed brokers stay in the configuration: gossip alone
// never removes one.
func (c *Controller) reconcile() {
	if c.fsm.replaying.Load() {
		return // the state is not current yet
	}
	st := c.fsm.current()
	if st.ClusterID == "" {
		c.initialize(st)
		return
	}
	alive := c.aliveBrokers()
	for _, b := range alive {
		reg, ok := st.Brokers[b.ID]
		if ok && reg.HTTPAddr == b.HTTPAddr && reg.Incarnation == b.Incarnation {
			continue
		}
		if _, err := c.proposeCommand(metadata.RegisterBroker{ID: b.ID, HTTPAddr: b.HTTPAddr, Incarnation: b.Incarnation}); err != nil {
			c.cfg.Logger.Warn("registering broker", "broker", b.ID, "err", err)
			return
		}
		if ok && reg.Incarnation != b.Incarnation {
			c.replaceServer(b)
		}
		c.cfg.Logger.Info("broker registered", "broker", b.ID, "http", b.HTTPAddr, "incarnation", b.Incarnation)
	}
	c.reconcileLeadership(time.Now())
	c.growInternalTopics()
	c.reconcileVoters(alive)
	c.preferLowestID()
}

// aliveBrokers are the alive members, sorted by id.
func (c *Controller) aliveBrokers() []membership.Broker {
	var out []membership.Broker
	for _, b := range c.members.Brokers() {
		if b.Live() {
			out = append(out, b)
		}
	}
	slices.SortFunc(out, func(a, b membership.Broker) int { return int(a.ID - b.ID) })
	return out
}

// initialize writes the log's first entries on a new cluster: this broker's
// registration, the topics it held before it was part of a cluster (same
// ids, same data), then the cluster id, which lets every broker apply.
func (c *Controller) initialize(st *metadata.State) {
	self := c.members.Self()
	if _, ok := st.Brokers[self.ID]; !ok {
		if _, err := c.proposeCommand(metadata.RegisterBroker{ID: self.ID, HTTPAddr: self.HTTPAddr, Incarnation: self.Incarnation}); err != nil {
			c.cfg.Logger.Warn("registering this broker", "err", err)
			return
		}
	}
	for _, ti := range c.eng.Topics(true) {
		if _, ok := st.Topics[ti.Name]; ok {
			continue
		}
		t, err := c.eng.Topic(ti.Name)
		if err != nil {
			continue
		}
		md := t.Metadata()
		topic := metadataTopic(md)
		if _, err := c.proposeCommand(metadata.CreateTopic{Topic: topic}); err != nil {
			c.cfg.Logger.Warn("importing topic into the metadata log", "topic", md.Name, "err", err)
			return
		}
		c.cfg.Logger.Info("topic imported into the metadata log", "topic", md.Name)
	}
	if _, err := c.proposeCommand(metadata.SetClusterID{ClusterID: c.eng.ClusterID()}); err != nil {
		c.cfg.Logger.Warn("naming the cluster", "err", err)
		return
	}
	c.cfg.Logger.Info("metadata log initialized", "cluster_id", c.eng.ClusterID())
	c.Kick()
}

// reconcileVoters adds alive registered brokers missing from the Raft
// configuration: the lowest MaxVoters ids as voters, the rest as
// non-voters; and demotes a voter that a lower id displaced.
func (c *Controller) reconcileVoters(alive []membership.Broker) {
	cf := c.raft.GetConfiguration()
	if cf.Error() != nil {
		return
	}
	servers := map[int32]raft.Server{}
	var ids []int32
	for _, s := range cf.Configuration().Servers {
		if id, ok := parseServerID(s.ID); ok {
			servers[id] = s
			ids = append(ids, id)
		}
	}
	for _, b := range alive {
		if _, ok := servers[b.ID]; !ok {
			ids = append(ids, b.ID)
		}
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	want := metadata.Voters(ids, c.cfg.MaxVoters)
	for _, b := range alive {
		s, in := servers[b.ID]
		voter := slices.Contains(want, b.ID)
		var f raft.IndexFuture
		switch {
		case !in && voter, in && voter && s.Suffrage != raft.Voter:
			f = c.raft.AddVoter(serverID(b.ID), raft.ServerAddress(b.HTTPAddr), 0, proposeTimeout)
		case !in:
			f = c.raft.AddNonvoter(serverID(b.ID), raft.ServerAddress(b.HTTPAddr), 0, proposeTimeout)
		case !voter && s.Suffrage == raft.Voter:
			f = c.raft.DemoteVoter(serverID(b.ID), 0, proposeTimeout)
		case s.Address != raft.ServerAddress(b.HTTPAddr):
			f = c.raft.AddVoter(serverID(b.ID), raft.ServerAddress(b.HTTPAddr), 0, proposeTimeout)
		default:
			continue
		}
		if err := f.Error(); err != nil {
			c.cfg.Logger.Warn("changing the raft configuration", "broker", b.ID, "err", err)
			return
		}
		c.cfg.Logger.Info("raft configuration changed", "broker", b.ID, "voter", voter)
	}
}

// replaceServer takes a broker that came back with an empty disk out of
// the Raft configuration, so it cannot vote with a log it lost; the next
// reconcile adds it again, and it catches up from a snapshot.
func (c *Controller) replaceServer(b membership.Broker) {
	if b.ID == c.cfg.ID {
		return
	}
	if err := c.raft.RemoveServer(serverID(b.ID), 0, proposeTimeout).Error(); err != nil {
		c.cfg.Logger.Warn("removing a wiped broker from the raft configuration", "broker", b.ID, "err", err)
	}
}

// preferLowestID hands leadership to the lowest-id voter that has been
// alive for the settling time. Raft's transfer catches the target up first.
//
// A broker that has just become controller waits the settling time first:
// it may have won the election because the lower id stopped answering (a
// paused process still looks alive to gossip for a few seconds), and a
// transfer to it would hold every metadata change, failover included, until
// Raft gives up on it.
func (c *Controller) preferLowestID() {
	var views []metadata.VoterView
	now := time.Now()
	if now.Sub(c.leaderSince) < c.cfg.Settle {
		return
	}
	c.aliveMu.Lock()
	for _, id := range c.voters() {
		since, alive := c.aliveSince[id]
		views = append(views, metadata.VoterView{ID: id, Alive: alive, AliveFor: now.Sub(since)})
	}
	c.aliveMu.Unlock()
	target, ok := metadata.PreferredController(c.cfg.ID, views, c.cfg.Settle)
	if !ok {
		return
	}
	addr, known := c.BrokerAddr(target)
	if !known {
		return
	}
	c.cfg.Logger.Info("handing the controller role to a lower id", "to", target)
	if err := c.raft.LeadershipTransferToServer(serverID(target), raft.ServerAddress(addr)).Error(); err != nil {
		c.cfg.Logger.Debug("leadership transfer", "to", target, "err", err)
	}
}

// voters are the ids of the Raft voters.
func (c *Controller) voters() []int32 {
	cf := c.raft.GetConfiguration()
	if cf.Error() != nil {
		return nil
	}
	var out []int32
	for _, s := range cf.Configuration().Servers {
		if id, ok := parseServerID(s.ID); ok && s.Suffrage == raft.Voter {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

// proposeCommand encodes and proposes one command.
func (c *Controller) proposeCommand(cmd metadata.Command) (uint64, error) {
	b, err := metadata.Encode(cmd)
	if err != nil {
		return 0, err
	}
	return c.propose(b)
}
