package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/peterbourgon/ff/v3"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/fjord-streaming/fjord/api"
	"github.com/fjord-streaming/fjord/engine"
	"github.com/fjord-streaming/fjord/storage"
)

func serve(args []string) error {
	var cfg Config
	fs := flag.NewFlagSet("fjord serve", flag.ContinueOnError)
	cfg.register(fs)
	if err := ff.Parse(fs, args, ff.WithEnvVarPrefix("FJORD")); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	return run(ctx, cfg)
}

func newLogger(cfg Config) *slog.Logger {
	level, _ := cfg.level()
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(os.Stderr, opts))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, opts))
}

// broker is everything one running broker is made of.
type broker struct {
	cfg      Config
	log      *slog.Logger
	registry *prometheus.Registry
	db       *storage.DB
	engine   *engine.Engine
	cluster  *cluster
	api      *api.Server
	sec      security
	// closers run in reverse order at shutdown, after the HTTP server stopped.
	closers []func()
}

// run starts a broker and serves until ctx ends, then shuts down gracefully.
func run(ctx context.Context, cfg Config) error {
	log := newLogger(cfg)
	b := &broker{cfg: cfg, log: log, registry: prometheus.NewRegistry()}
	b.registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", cfg.HTTPAddr, err)
	}
	if strings.HasSuffix(cfg.AdvertiseHTTP, ":0") {
		// An ephemeral port (tests): advertise the one actually bound.
		b.cfg.AdvertiseHTTP = ln.Addr().String()
	}
	if err := b.open(); err != nil {
		ln.Close()
		return err
	}
	srv, ln, err := b.httpServer(ln)
	if err != nil {
		ln.Close()
		b.close()
		return err
	}
	defer b.reloadOnHangup()()
	defer servePprof(cfg.PprofAddr, log)()
	if cfg.MemoryLimit > 0 && os.Getenv("GOMEMLIMIT") == "" {
		// Without a limit the heap grows to twice what is live (GOGC=100)
		// under high read and write rates; a soft limit keeps RSS near it.
		debug.SetMemoryLimit(cfg.MemoryLimit)
	}
	tuneGC(cfg.GCHeapThreshold)
	engCtx, engStop := context.WithCancel(context.Background())
	go b.engine.Run(engCtx)
	serveErr := make(chan error, 1)
	go func() {
		if cfg.TLSCert != "" {
			serveErr <- srv.ServeTLS(ln, "", "") // the key pair is in srv.TLSConfig
		} else {
			serveErr <- srv.Serve(ln)
		}
	}()
	if err := b.startCluster(); err != nil {
		engStop()
		b.close()
		return err
	}
	abs, _ := filepath.Abs(cfg.DataDir)
	log.Info("fjord broker serving", "id", cfg.ID, "http", ln.Addr().String(), "advertise", b.cfg.AdvertiseHTTP,
		"gossip", b.cluster.serf.GossipAddr(), "data_dir", abs, "cluster_id", b.engine.ClusterID(), "version", version, "tls", cfg.TLSCert != "")

	select {
	case <-ctx.Done():
	case err := <-serveErr:
		engStop()
		b.close()
		return fmt.Errorf("http server: %w", err)
	case err := <-b.cluster.serf.Fatal():
		log.Error("leaving: this broker cannot be part of the cluster", "err", err)
		_ = srv.Close()
		engStop()
		b.close()
		return err
	}
	log.Info("shutting down")
	b.api.SetReady(false)
	b.controlledShutdown() // while followers still fetch from this broker
	shutCtx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	b.engine.StopWaiters() // long polls answer now
	for i := len(b.closers) - 1; i >= 0; i-- {
		b.closers[i]()
	}
	b.closers = nil
	if err := srv.Shutdown(shutCtx); err != nil {
		log.Warn("graceful shutdown timed out", "err", err)
	}
	b.leaveCluster()
	engStop()
	b.close()
	log.Info("stopped")
	return nil
}

// open opens storage and the engine and builds the API.
func (b *broker) open() error {
	if err := os.MkdirAll(b.cfg.DataDir, 0o755); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	syncHist := prometheus.NewHistogram(prometheus.HistogramOpts{Name: "fjord_storage_sync_duration_seconds",
		Help: "Duration of synced storage commits.", Buckets: prometheus.ExponentialBuckets(0.00005, 2, 18)})
	b.registry.MustRegister(syncHist)
	db, err := storage.Open(filepath.Join(b.cfg.DataDir, "pebble"), storage.Options{Logger: b.log,
		OnSync: func(d time.Duration) { syncHist.Observe(d.Seconds()) }})
	if err != nil {
		return err
	}
	b.db = db
	b.engine, err = engine.Open(db, engine.Config{
		BrokerID: int32(b.cfg.ID), AutoCreateTopics: b.cfg.AutoCreateTopics, DefaultPartitions: int32(b.cfg.DefaultPartitions),
		RetentionInterval: b.cfg.RetentionInterval, Logger: b.log, Registerer: b.registry,
	})
	if err != nil {
		_ = db.Close()
		return err
	}
	if err := b.joinCluster(); err != nil {
		b.engine.Close()
		_ = db.Close()
		return err
	}
	b.api = api.New(api.Config{MaxRequestBytes: b.cfg.MaxRequestBytes, AllowedOrigins: b.cfg.origins(),
		Logger: b.log, Registry: b.registry}, b.engine, b.cluster.ctrl)
	return b.mount()
}

// close stops the cluster and the engine and closes storage.
func (b *broker) close() {
	b.leaveCluster()
	if b.engine != nil {
		b.engine.Close()
	}
	if b.db != nil {
		if err := b.db.Close(); err != nil {
			b.log.Error("closing storage", "err", err)
		}
	}
}
