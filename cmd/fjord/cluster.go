package main

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/fjord-streaming/fjord/api"
	"github.com/fjord-streaming/fjord/api/peer"
	"github.com/fjord-streaming/fjord/controller"
	"github.com/fjord-streaming/fjord/controller/raftnet"
	"github.com/fjord-streaming/fjord/engine"
	"github.com/fjord-streaming/fjord/membership"
)

// cluster is the broker's part of the cluster: gossip membership, the
// metadata log and broker-to-broker calls.
type cluster struct {
	serf   *membership.Serf
	ctrl   *controller.Controller
	client *peer.Client
	events chan membership.Event
	// done is closed when the event loop of startCluster ends; nil before.
	done chan struct{}
	// tls is the client side of broker-to-broker HTTPS (nil: plain HTTP),
	// made once: peer's connection pools are kept per *tls.Config.
	tls *tls.Config
}

// incarnation returns the UUID made when the data directory was formatted.
func (b *broker) incarnation() (string, error) {
	v, err := b.db.GetMeta("incarnation")
	if err != nil || v != nil {
		return string(v), err
	}
	var u [16]byte
	if _, err := rand.Read(u[:]); err != nil {
		return "", err
	}
	u[6], u[8] = u[6]&0x0f|0x40, u[8]&0x3f|0x80 // a version 4 UUID
	h := hex.EncodeToString(u[:])
	id := h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
	return id, b.db.PutMeta("incarnation", []byte(id))
}

// joinCluster starts gossip and the controller and makes the engine a
// cluster member. The controller's Raft node starts in startCluster, once
// the routes are mounted.
func (b *broker) joinCluster() error {
	inc, err := b.incarnation()
	if err != nil {
		return fmt.Errorf("incarnation: %w", err)
	}
	c := &cluster{events: make(chan membership.Event, 64)}
	local := b.cfg.GossipProfile == "local"
	c.serf, err = membership.Start(membership.Config{ID: int32(b.cfg.ID), BindAddr: b.cfg.GossipAddr, HTTPAddr: b.cfg.AdvertiseHTTP,
		Incarnation: inc, Join: b.cfg.joinAddrs(), Logger: b.log, Events: c.events, Fast: local})
	if err != nil {
		return fmt.Errorf("gossip: %w", err)
	}
	tlsCfg := b.clientTLS()
	c.tls = tlsCfg
	c.client = peer.NewClient(peer.ClientConfig{Self: int32(b.cfg.ID), Secret: b.cfg.ClusterSecret, TLS: tlsCfg,
		Resolver: resolver{c}, Logger: b.log, Version: func() uint64 { return uint64(max(0, b.engine.MetadataVersion())) }})
	c.ctrl, err = controller.New(controller.Config{ID: int32(b.cfg.ID), Advertise: b.cfg.AdvertiseHTTP, DataDir: b.cfg.DataDir,
		Alone: len(b.cfg.joinAddrs()) == 0, Secret: b.cfg.ClusterSecret, TLS: tlsCfg, Fast: local,
		Logger: b.log, Registerer: b.registry}, b.db, b.engine, c.serf, c.client)
	if err != nil {
		_ = c.serf.Close()
		return err
	}
	b.engine.SetCluster(c.ctrl, c.client)
	b.engine.SetReplication(c.ctrl, inc) // leaders' ISR changes go to the controller
	b.cluster = c
	return nil
}

// mountCluster serves the broker-to-broker routes under /internal/v1/.
func (b *broker) mountCluster(e *echo.Echo) {
	c := b.cluster
	b.api.SetRouter(router{b: b, c: c})
	ps := peer.NewServer(peer.ServerConfig{Secret: b.cfg.ClusterSecret, Logger: b.log}, b.engine, c.ctrl)
	ps.Mount(e)
	b.closers = append(b.closers, func() { // the replica streams, which the HTTP server does not track
		ctx, cancel := context.WithTimeout(context.Background(), b.cfg.ShutdownTimeout)
		defer cancel()
		if err := ps.Close(ctx); err != nil {
			b.log.Warn("replica streams did not end in time", "err", err)
		}
	})
	e.Any(raftnet.Path, echo.WrapHandler(c.ctrl.Layer()))
	e.GET(controller.StatusPath, echo.WrapHandler(peer.RequireSecret(b.cfg.ClusterSecret, c.ctrl)))
}

// startCluster starts the metadata log, passes Serf's events on to the
// controller, and marks the broker ready once it has applied metadata that
// registers it.
func (b *broker) startCluster() error {
	c := b.cluster
	if err := c.ctrl.Start(); err != nil {
		return err
	}
	c.done = make(chan struct{})
	go func() {
		defer close(c.done)
		for {
			select {
			case <-c.events:
				c.ctrl.Kick()
			case <-b.engine.Stopping():
				return
			}
		}
	}()
	go func() {
		for !c.ctrl.Ready() {
			select {
			case <-c.ctrl.Applied():
			case <-b.engine.Stopping():
				return
			}
		}
		b.api.SetReady(true)
		b.log.Info("broker ready", "metadata_version", c.ctrl.MetadataVersion(), "controller", c.ctrl.ControllerID())
	}()
	return nil
}

// controlledShutdownTimeout bounds the controlled shutdown at SIGTERM.
const controlledShutdownTimeout = 5 * time.Second

// controlledShutdown moves this broker's partition leaderships to other
// in-sync replicas and takes it out of the ISRs it follows in, before it
// stops serving and leaves the gossip (Controller.ControlledShutdown),
// within controlledShutdownTimeout. A broker alone skips it; one that does
// not finish in time stops anyway, and failover moves what is left.
func (b *broker) controlledShutdown() {
	c := b.cluster
	if c == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), controlledShutdownTimeout)
	defer cancel()
	start := time.Now()
	if err := c.ctrl.ControlledShutdown(ctx); err != nil {
		b.log.Warn("controlled shutdown", "err", err, "took", time.Since(start).Round(time.Millisecond))
		return
	}
	b.log.Info("controlled shutdown done", "took", time.Since(start).Round(time.Millisecond))
}

// leaveCluster hands the controller role on, leaves the gossip gracefully
// and stops the metadata log. The engine has stopped its waiters first.
func (b *broker) leaveCluster() {
	c := b.cluster
	if c == nil {
		return
	}
	if err := c.ctrl.Close(); err != nil {
		b.log.Warn("stopping the metadata log", "err", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.serf.Leave(ctx); err != nil {
		b.log.Warn("leaving the gossip", "err", err)
	}
	if err := c.serf.Close(); err != nil {
		b.log.Warn("stopping the gossip", "err", err)
	}
	if c.done != nil {
		b.engine.StopWaiters() // ends the event loop
		<-c.done
	}
	c.client.Close()
	b.cluster = nil
}

// resolver finds brokers' addresses in the applied metadata.
type resolver struct{ c *cluster }

func (r resolver) BrokerAddr(id int32) (string, bool) { return r.c.ctrl.BrokerAddr(id) }

// joinAddrs splits --join.
func (c *Config) joinAddrs() []string {
	var out []string
	for _, a := range strings.Split(c.Join, ",") {
		if a = strings.TrimSpace(a); a != "" {
			out = append(out, a)
		}
	}
	return out
}

// validateCluster checks the cluster flags.
func (c *Config) validateCluster() error {
	if _, _, err := net.SplitHostPort(c.GossipAddr); err != nil {
		return fmt.Errorf("--gossip-addr %q: %v", c.GossipAddr, err)
	}
	for _, a := range c.joinAddrs() {
		if _, _, err := net.SplitHostPort(a); err != nil {
			return fmt.Errorf("--join %q: %v", a, err)
		}
	}
	if c.GossipProfile != "lan" && c.GossipProfile != "local" {
		return fmt.Errorf("--gossip-profile must be lan or local, got %q", c.GossipProfile)
	}
	if c.AuthTokens != "" && len(c.joinAddrs()) > 0 && c.ClusterSecret == "" {
		return fmt.Errorf("--cluster-secret is required with --auth-tokens and --join: brokers authenticate each other with it")
	}
	return nil
}

// clientTLS builds the client side of broker-to-broker HTTPS, nil without
// --tls-cert; --tls-ca names the CA of the other brokers' certificates. It
// reads the CA file: call it once (joinCluster keeps it in cluster.tls).
func (b *broker) clientTLS() *tls.Config {
	if b.cfg.TLSCert == "" {
		return nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if b.cfg.TLSCA != "" {
		pem, err := os.ReadFile(b.cfg.TLSCA)
		if err != nil {
			b.log.Error("reading --tls-ca", "err", err)
			return cfg
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			b.log.Error("--tls-ca holds no PEM certificate", "file", b.cfg.TLSCA)
		}
		cfg.RootCAs = pool
	}
	return cfg
}

// router forwards API requests to other brokers (api.Router).
type router struct {
	b *broker
	c *cluster
}

var _ api.Router = router{}

func (r router) Self() int32 { return int32(r.b.cfg.ID) }

func (r router) Forwarded(req *http.Request) bool {
	return peer.Forwarded(req)
}

func (r router) Proxy(c echo.Context, id int32) error {
	addr, ok := r.c.ctrl.BrokerAddr(id)
	if !ok {
		return fmt.Errorf("%w: broker %d is unknown", engine.ErrLeaderNotAvailable, id)
	}
	return peer.Proxy(c, addr, r.Self(), r.b.cfg.ClusterSecret, r.c.tls)
}

func (r router) Gather(ctx context.Context, path string) [][]byte {
	var addrs []string
	for _, b := range r.c.ctrl.Brokers() {
		if b.ID != r.Self() && b.Live() {
			addrs = append(addrs, b.HTTPAddr)
		}
	}
	bodies, _ := peer.Gather(ctx, addrs, path, r.Self(), r.b.cfg.ClusterSecret, r.c.tls)
	return bodies
}
