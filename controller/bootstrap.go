package controller

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/hashicorp/raft"
)

// StatusPath serves this broker's controller status to other brokers
// (Status), which a new broker asks before it forms a cluster.
const StatusPath = "/internal/v1/controller"

// Status is what StatusPath answers.
type Status struct {
	ID int32 `json:"id"`
	// Member is true once this broker is part of a metadata log (its Raft
	// configuration is not empty).
	Member     bool   `json:"member"`
	Controller int32  `json:"controller"`
	State      string `json:"state"`
	Version    uint64 `json:"metadata_version"`
}

// Status describes this broker's part of the metadata log.
func (c *Controller) Status() Status {
	return Status{ID: c.cfg.ID, Member: c.member(), Controller: c.ControllerID(), State: c.raftState().String(),
		Version: c.MetadataVersion()}
}

// ServeHTTP answers StatusPath.
func (c *Controller) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(c.Status())
}

// member reports whether this broker's Raft configuration names anyone.
func (c *Controller) member() bool {
	if c.raft == nil {
		return false
	}
	f := c.raft.GetConfiguration()
	return f.Error() == nil && len(f.Configuration().Servers) > 0
}

// bootstrap forms a one-broker metadata log of this broker.
func (c *Controller) bootstrap() error {
	cfg := raft.Configuration{Servers: []raft.Server{{Suffrage: raft.Voter, ID: serverID(c.cfg.ID), Address: raft.ServerAddress(c.cfg.Advertise)}}}
	if err := c.raft.BootstrapCluster(cfg).Error(); err != nil && err != raft.ErrCantBootstrap {
		return fmt.Errorf("controller: bootstrap: %w", err)
	}
	c.cfg.Logger.Info("formed a new cluster", "broker", c.cfg.ID)
	return nil
}

// bootstrapLoop decides, on a broker started with --join and no metadata
// log, whether it forms the cluster: once it has joined the gossip, it asks
// every alive broker for its status; when none belongs to a metadata log
// and it has the lowest id among them, it forms a one-broker log, and the
// controller it becomes adds the others. A broker that finds a member waits
// for that cluster's controller to add it.
func (c *Controller) bootstrapLoop(ctx context.Context) {
	t := time.NewTicker(500 * time.Millisecond)
	defer t.Stop()
	client := &http.Client{Timeout: 2 * time.Second}
	for {
		if c.member() {
			return
		}
		if c.members.Joined() && c.shouldBootstrap(ctx, client) {
			if err := c.bootstrap(); err != nil {
				c.cfg.Logger.Error("forming the cluster", "err", err)
			}
			c.Kick()
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-c.kick:
		}
	}
}

// shouldBootstrap reports whether this broker has the lowest id among the
// alive brokers and none of them belongs to a metadata log.
func (c *Controller) shouldBootstrap(ctx context.Context, client *http.Client) bool {
	alive := c.aliveBrokers()
	if len(alive) < 2 {
		return false // joined, but nobody else is visible yet
	}
	for _, b := range alive {
		if b.ID < c.cfg.ID {
			return false
		}
		if b.ID == c.cfg.ID {
			continue
		}
		st, err := c.peerStatus(ctx, client, b.HTTPAddr)
		if err != nil || st.Member {
			return false
		}
	}
	return true
}

// peerStatus asks another broker for its Status.
func (c *Controller) peerStatus(ctx context.Context, client *http.Client, addr string) (Status, error) {
	scheme := "http"
	if c.cfg.TLS != nil {
		scheme = "https"
		client.Transport = &http.Transport{TLSClientConfig: c.cfg.TLS}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, scheme+"://"+addr+StatusPath, nil)
	if err != nil {
		return Status{}, err
	}
	if c.cfg.Secret != "" {
		req.Header.Set("X-Fjord-Cluster-Secret", c.cfg.Secret)
	}
	resp, err := client.Do(req)
	if err != nil {
		return Status{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return Status{}, fmt.Errorf("controller: status of %s: %s", addr, resp.Status)
	}
	var st Status
	return st, json.NewDecoder(resp.Body).Decode(&st)
}
