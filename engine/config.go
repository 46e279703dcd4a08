package engine

import (
	"fmt"
	"log/slog"
	"sort"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Config configures an Engine. Zero values take the defaults of EnsureDefaults.
type Config struct {
	// BrokerID is this broker's id.
	BrokerID int32
	// AutoCreateTopics creates a topic on first produce.
	AutoCreateTopics bool
	// DefaultPartitions is the partition count of topics created without one.
	DefaultPartitions int32
	// DefaultTopicConfig holds the topic config defaults.
	DefaultTopicConfig TopicConfig
	// RetentionInterval is how often retention runs (default 30 s).
	RetentionInterval time.Duration
	// MaxWait caps long-poll waits (default 60 s).
	MaxWait time.Duration
	// Now is the clock; tests replace it.
	Now func() time.Time
	// Logger receives the engine's logs.
	Logger *slog.Logger
	// Registerer receives the engine's metrics; nil disables them.
	Registerer prometheus.Registerer
}

// EnsureDefaults fills zero fields with defaults.
func (c *Config) EnsureDefaults() {
	if c.DefaultPartitions <= 0 {
		c.DefaultPartitions = 1
	}
	if c.DefaultTopicConfig == (TopicConfig{}) {
		c.DefaultTopicConfig = DefaultTopicConfig()
	}
	if c.RetentionInterval <= 0 {
		c.RetentionInterval = 30 * time.Second
	}
	if c.MaxWait <= 0 {
		c.MaxWait = 60 * time.Second
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// TopicConfig is a topic's effective configuration. -1 means unlimited.
type TopicConfig struct {
	RetentionMs          int64
	RetentionBytes       int64
	MinInsyncReplicas    int64
	MaxMessageBytes      int64
	ReplicaLagTimeMaxMs  int64
	UncleanLeaderElectOK int64
}

// DefaultTopicConfig is the configuration of a topic that sets nothing.
func DefaultTopicConfig() TopicConfig {
	return TopicConfig{
		RetentionMs:         7 * 24 * 3600 * 1000,
		RetentionBytes:      -1,
		MinInsyncReplicas:   1,
		MaxMessageBytes:     1 << 20,
		ReplicaLagTimeMaxMs: 30000,
	}
}

// configKey describes one settable config key.
type configKey struct {
	field func(*TopicConfig) *int64
	min   int64 // smallest accepted value; -1 allows "unlimited"
}

var configKeys = map[string]configKey{
	"retention.ms":                   {func(c *TopicConfig) *int64 { return &c.RetentionMs }, -1},
	"retention.bytes":                {func(c *TopicConfig) *int64 { return &c.RetentionBytes }, -1},
	"min.insync.replicas":            {func(c *TopicConfig) *int64 { return &c.MinInsyncReplicas }, 1},
	"max.message.bytes":              {func(c *TopicConfig) *int64 { return &c.MaxMessageBytes }, 1},
	"replica.lag.time.max.ms":        {func(c *TopicConfig) *int64 { return &c.ReplicaLagTimeMaxMs }, 1},
	"unclean.leader.election.enable": {func(c *TopicConfig) *int64 { return &c.UncleanLeaderElectOK }, 0},
}

// ConfigKeys lists the settable topic config keys, sorted.
func ConfigKeys() []string {
	keys := make([]string, 0, len(configKeys))
	for k := range configKeys {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Apply returns c with the given keys set. Unknown keys and out-of-range
// values are ErrInvalidRequest; c is unchanged then.
func (c TopicConfig) Apply(set map[string]int64) (TopicConfig, error) {
	out := c
	for k, v := range set {
		ck, ok := configKeys[k]
		if !ok {
			return c, fmt.Errorf("%w: unknown config key %q", ErrInvalidRequest, k)
		}
		if v < ck.min || (k == "unclean.leader.election.enable" && v > 1) {
			return c, fmt.Errorf("%w: config %q: value %d out of range", ErrInvalidRequest, k, v)
		}
		*ck.field(&out) = v
	}
	return out, nil
}

// Map returns every key with its effective value.
func (c TopicConfig) Map() map[string]int64 {
	m := make(map[string]int64, len(configKeys))
	for k, ck := range configKeys {
		m[k] = *ck.field(&c)
	}
	return m
}
