package main

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"
)

// Config is the broker's whole configuration. Flags and FJORD_* environment
// variables fill it; packages below receive the parts they need.
type Config struct {
	ID                int
	HTTPAddr          string
	AdvertiseHTTP     string
	DataDir           string
	GossipAddr        string
	GossipProfile     string
	Join              string
	AutoCreateTopics  bool
	MaxRequestBytes   int64
	LogLevel          string
	LogFormat         string
	AllowedOrigins    string
	AuthTokens        string
	TLSCert           string
	TLSKey            string
	TLSCA             string
	ClusterSecret     string
	RetentionInterval time.Duration
	DefaultPartitions int
	LagWindow         int
	LagMinDistance    time.Duration
	ShutdownTimeout   time.Duration
	PprofAddr         string
	MemoryLimit       int64
	GCHeapThreshold   uint64
	Limits            Limits
}

// Limits are the server's defences against hostile or slow clients.
type Limits struct {
	ReadHeaderTimeout time.Duration
	IdleTimeout       time.Duration
	BodyReadTimeout   time.Duration
	MaxHeaderBytes    int
	MaxConnections    int
	MaxLongPolls      int
	RateLimit         float64
	RateBurst         int
}

// register binds every field to a flag with its default.
func (c *Config) register(fs *flag.FlagSet) {
	fs.IntVar(&c.ID, "id", 1, "broker id (a positive integer, unique in the cluster)")
	fs.StringVar(&c.HTTPAddr, "http-addr", ":8080", "address the HTTP/WebSocket API listens on")
	fs.StringVar(&c.AdvertiseHTTP, "advertise-http", "", "address other brokers and redirected clients use (default: --http-addr)")
	fs.StringVar(&c.DataDir, "data-dir", "./data", "directory of the broker's data")
	fs.StringVar(&c.GossipAddr, "gossip-addr", "127.0.0.1:7946", "address of the membership gossip (Serf, TCP and UDP); port 0 picks a free one")
	fs.StringVar(&c.GossipProfile, "gossip-profile", "lan", "gossip and metadata-log timings: lan (failure detection in about 5 s) or local (brokers on one host, about 1 s; tests)")
	fs.StringVar(&c.Join, "join", "", "comma-separated gossip addresses of brokers to join; retried with backoff. Without it the broker forms a one-broker cluster")
	fs.BoolVar(&c.AutoCreateTopics, "auto-create-topics", true, "create a topic with defaults on first produce")
	fs.Int64Var(&c.MaxRequestBytes, "max-request-bytes", 64<<20, "largest accepted request body in bytes")
	fs.StringVar(&c.LogLevel, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&c.LogFormat, "log-format", "text", "text or json")
	fs.StringVar(&c.AllowedOrigins, "allowed-origins", "", "comma-separated browser origins allowed besides the broker's own (CORS and WebSocket)")
	fs.StringVar(&c.AuthTokens, "auth-tokens", "", "JSON file of bearer tokens and ACLs; enables auth")
	fs.StringVar(&c.TLSCert, "tls-cert", "", "PEM certificate: serve HTTPS and WSS")
	fs.StringVar(&c.TLSKey, "tls-key", "", "PEM private key for --tls-cert")
	fs.StringVar(&c.TLSCA, "tls-ca", "", "PEM CA bundle that signs the other brokers' certificates (broker-to-broker HTTPS; default: the system roots)")
	fs.StringVar(&c.ClusterSecret, "cluster-secret", "", "shared secret of broker-to-broker traffic (metadata log, forwarding); required with --auth-tokens in a cluster")
	fs.DurationVar(&c.RetentionInterval, "retention-check-interval", 30*time.Second, "how often retention runs")
	fs.IntVar(&c.DefaultPartitions, "default-partitions", 1, "partitions of topics created without a count")
	fs.IntVar(&c.LagWindow, "lag-window", 10, "commits kept per partition for lag status")
	fs.DurationVar(&c.LagMinDistance, "lag-min-distance", time.Second, "commits closer than this replace the previous one in the lag window")
	fs.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", 30*time.Second, "longest graceful shutdown")
	fs.Int64Var(&c.MemoryLimit, "memory-limit", 256<<20, "soft limit in bytes on the Go heap (the garbage collector works harder near it; 0 turns it off; GOMEMLIMIT, when set, wins)")
	fs.Uint64Var(&c.GCHeapThreshold, "gc-heap-threshold", 96<<20, "heap size in bytes up to which the garbage collector lets a small live heap grow between collections (GOGC up to 800 while little is live, never below 100; 0, or GOGC set, keeps Go's own pacing)")
	fs.StringVar(&c.PprofAddr, "pprof-addr", "", "serve Go's net/http/pprof profiles on this separate address (off by default; bind it to 127.0.0.1)")
	l := &c.Limits
	fs.DurationVar(&l.ReadHeaderTimeout, "read-header-timeout", 10*time.Second, "longest time to read a request's headers (slowloris)")
	fs.DurationVar(&l.IdleTimeout, "idle-timeout", 120*time.Second, "how long an idle keep-alive connection stays open")
	fs.DurationVar(&l.BodyReadTimeout, "body-read-timeout", 2*time.Minute, "longest time for a request body to arrive whole (0: no limit)")
	fs.IntVar(&l.MaxHeaderBytes, "max-header-bytes", 64<<10, "largest accepted request header block in bytes")
	fs.IntVar(&l.MaxConnections, "max-connections", 10000, "most concurrent client connections; more wait to be accepted (0: no limit)")
	fs.IntVar(&l.MaxLongPolls, "max-long-polls", 5000, "most concurrent long polls; beyond it, reads answer at once with what there is")
	fs.Float64Var(&l.RateLimit, "rate-limit", 0, "requests per second allowed per token (or per IP without one); beyond it 429 (0: off)")
	fs.IntVar(&l.RateBurst, "rate-burst", 100, "requests a client may send at once above --rate-limit")
}

// Validate checks the configuration and fills derived defaults.
func (c *Config) Validate() error {
	var errs []error
	if c.ID <= 0 || c.ID > 1<<30 {
		errs = append(errs, fmt.Errorf("--id must be a positive integer, got %d", c.ID))
	}
	if _, _, err := net.SplitHostPort(c.HTTPAddr); err != nil {
		errs = append(errs, fmt.Errorf("--http-addr %q: %v", c.HTTPAddr, err))
	}
	if c.DataDir == "" {
		errs = append(errs, errors.New("--data-dir must not be empty"))
	}
	if c.MaxRequestBytes < 1024 {
		errs = append(errs, errors.New("--max-request-bytes must be at least 1024"))
	}
	if _, err := c.level(); err != nil {
		errs = append(errs, err)
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		errs = append(errs, fmt.Errorf("--log-format must be text or json, got %q", c.LogFormat))
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		errs = append(errs, errors.New("--tls-cert and --tls-key go together"))
	}
	if c.RetentionInterval <= 0 || c.LagMinDistance < 0 || c.LagWindow < 2 || c.DefaultPartitions < 1 {
		errs = append(errs, errors.New("--retention-check-interval, --lag-window (>= 2), --lag-min-distance and --default-partitions must be positive"))
	}
	if err := c.Limits.validate(); err != nil {
		errs = append(errs, err)
	}
	if err := c.validateCluster(); err != nil {
		errs = append(errs, err)
	}
	if c.AdvertiseHTTP == "" {
		c.AdvertiseHTTP = c.HTTPAddr
		if strings.HasPrefix(c.AdvertiseHTTP, ":") {
			c.AdvertiseHTTP = "127.0.0.1" + c.AdvertiseHTTP
		}
	}
	return errors.Join(errs...)
}

func (c *Config) level() (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(c.LogLevel)); err != nil {
		return 0, fmt.Errorf("--log-level must be debug, info, warn or error, got %q", c.LogLevel)
	}
	return l, nil
}

// origins splits --allowed-origins.
func (c *Config) origins() []string {
	var out []string
	for _, o := range strings.Split(c.AllowedOrigins, ",") {
		if o = strings.TrimSpace(o); o != "" {
			out = append(out, o)
		}
	}
	return out
}
