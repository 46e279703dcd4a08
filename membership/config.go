package membership

import (
	"errors"
	"fmt"
	"log"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/memberlist"
	"github.com/hashicorp/serf/serf"
)

// Config is what Start needs to put this broker into the gossip cluster.
type Config struct {
	// ID is the broker id; the Serf member name is "fjord-<id>".
	ID int32
	// BindAddr is --gossip-addr: an IP address (or empty for all interfaces)
	// and a port; port 0 picks a free port, see Serf.GossipAddr.
	BindAddr string
	// HTTPAddr is this broker's advertised HTTP address. The tags "http" and
	// "raft" both carry it: Raft runs over the HTTP listener.
	HTTPAddr string
	// Incarnation is the UUID made when the data dir was formatted (tag "inc").
	Incarnation string
	// Join lists gossip addresses to join; this broker's own address, if
	// listed, is skipped. Start does not wait: a background loop tries them
	// all, backing off from 200ms doubling to 5s, until one join succeeds,
	// while the broker runs anyway (Serf.Joined).
	Join []string
	// Logger receives this package's logs and, at debug level, Serf's and
	// memberlist's. Nil discards.
	Logger *slog.Logger
	// Events, if not nil, receives typed membership events in the order Serf
	// produced them. Delivery never blocks Serf: events wait in a bounded
	// queue, and when a stuck consumer lets it fill the oldest waiting event
	// is dropped, counted (Serf.DroppedEvents) and logged.
	Events chan<- Event
	// Fast selects memberlist.DefaultLocalConfig timings, for tests. The
	// default is DefaultLANConfig: about 5 s to detect a failure with three
	// brokers.
	Fast bool
}

// Serf tag keys a broker publishes.
const (
	tagID   = "id"
	tagHTTP = "http"
	tagRaft = "raft"
	tagInc  = "inc"
)

// Join retry backoff.
const (
	joinBackoffMin = 200 * time.Millisecond
	joinBackoffMax = 5 * time.Second
)

// fastLeavePropagateDelay replaces Serf's 1 s wait after a leave broadcast
// in Fast mode; on loopback the broadcast is out well within it.
const fastLeavePropagateDelay = 200 * time.Millisecond

// errConfig marks a Config that Validate refused.
var errConfig = errors.New("membership: invalid config")

// Validate reports the first thing wrong with c.
func (c Config) Validate() error {
	if c.ID < 0 {
		return fmt.Errorf("%w: broker id %d is negative", errConfig, c.ID)
	}
	if _, _, err := splitBindAddr(c.BindAddr); err != nil {
		return err
	}
	if c.HTTPAddr == "" {
		return fmt.Errorf("%w: no HTTP address", errConfig)
	}
	if c.Incarnation == "" {
		return fmt.Errorf("%w: no incarnation", errConfig)
	}
	for _, a := range c.Join {
		if _, _, err := net.SplitHostPort(a); err != nil {
			return fmt.Errorf("%w: join address %q: %w", errConfig, a, err)
		}
	}
	return nil
}

// splitBindAddr parses BindAddr into the IP and port memberlist binds.
func splitBindAddr(addr string) (string, int, error) {
	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, fmt.Errorf("%w: gossip address %q: %w", errConfig, addr, err)
	}
	if host == "" {
		host = "0.0.0.0"
	}
	if net.ParseIP(host) == nil {
		return "", 0, fmt.Errorf("%w: gossip address %q: host must be an IP address", errConfig, addr)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("%w: gossip address %q: bad port", errConfig, addr)
	}
	return host, port, nil
}

// memberName is the Serf member name of broker id.
func memberName(id int32) string {
	return "fjord-" + strconv.FormatInt(int64(id), 10)
}

// brokerFromMember turns a Serf member into a Broker. It reports false for
// members that are not fjord brokers: no parsable id tag, or a name that is
// not fjord-<id>, and for Serf's StatusNone.
func brokerFromMember(m serf.Member) (Broker, bool) {
	id, ok := brokerID(m)
	if !ok {
		return Broker{}, false
	}
	var status string
	switch m.Status {
	case serf.StatusAlive:
		status = StatusAlive
	case serf.StatusFailed:
		status = StatusFailed
	case serf.StatusLeaving, serf.StatusLeft:
		// Leaving is the moment between a leave intent and memberlist's
		// goodbye; the broker has said it is going.
		status = StatusLeft
	default:
		return Broker{}, false
	}
	return Broker{
		ID:          id,
		HTTPAddr:    m.Tags[tagHTTP],
		Status:      status,
		Incarnation: m.Tags[tagInc],
	}, true
}

// brokerID is the id of a fjord broker's member: named fjord-<id> with that
// id in its id tag. It reports false for any other member.
func brokerID(m serf.Member) (int32, bool) {
	id, err := strconv.ParseInt(m.Tags[tagID], 10, 32)
	if err != nil || m.Name != memberName(int32(id)) {
		return 0, false
	}
	return int32(id), true
}

// libLogger routes Serf's and memberlist's log lines into logger at debug
// level, without their "[LEVEL]" prefix.
func libLogger(logger *slog.Logger) *log.Logger {
	return log.New(libLogWriter{logger}, "", 0)
}

type libLogWriter struct{ logger *slog.Logger }

func (w libLogWriter) Write(p []byte) (int, error) {
	line := strings.TrimSpace(string(p))
	if _, rest, ok := strings.Cut(line, "] "); ok && strings.HasPrefix(line, "[") {
		line = rest
	}
	w.logger.Debug(line)
	return len(p), nil
}

// listen binds memberlist's UDP and TCP sockets on addr. For port 0 the
// kernel's port must be free for both protocols, so it retries a few times,
// as memberlist itself does.
func listen(addr string, logger *log.Logger) (*memberlist.NetTransport, error) {
	ip, port, err := splitBindAddr(addr)
	if err != nil {
		return nil, err
	}
	attempts := 1
	if port == 0 {
		attempts = 10
	}
	for range attempts {
		var nt *memberlist.NetTransport
		nt, err = memberlist.NewNetTransport(&memberlist.NetTransportConfig{
			BindAddrs: []string{ip},
			BindPort:  port,
			Logger:    logger,
		})
		if err == nil {
			return nt, nil
		}
	}
	return nil, fmt.Errorf("membership: listen on gossip address %s: %w", addr, err)
}

// serfConfig builds the Serf configuration for s over the transport nt,
// which is bound at advertised address ip:port.
func (s *Serf) serfConfig(nt *memberlist.NetTransport, bindIP string, ip net.IP, port int, logger *log.Logger) *serf.Config {
	mc := memberlist.DefaultLANConfig()
	if s.cfg.Fast {
		mc = memberlist.DefaultLocalConfig()
	}
	mc.Transport = nt
	mc.BindAddr = bindIP
	mc.BindPort = port
	mc.AdvertiseAddr = ip.String()
	mc.AdvertisePort = port
	mc.Logger = logger
	s.probeInterval = mc.ProbeInterval

	sc := serf.DefaultConfig()
	sc.NodeName = s.name
	sc.Tags = map[string]string{
		tagID:   strconv.FormatInt(int64(s.cfg.ID), 10),
		tagHTTP: s.cfg.HTTPAddr,
		tagRaft: s.cfg.HTTPAddr,
		tagInc:  s.cfg.Incarnation,
	}
	sc.EventCh = s.serfEvents
	sc.MemberlistConfig = mc
	sc.Logger = logger
	sc.LogOutput = nil
	sc.Merge = mergeDelegate{s}
	// Serf's own answer to a name conflict is a vote after which the
	// minority shuts its Serf down without telling us, and the minority can
	// be the broker that was there first. Duplicates are refused by
	// mergeDelegate instead; see conflict.go.
	sc.EnableNameConflictResolution = false
	if s.cfg.Fast {
		sc.LeavePropagateDelay = fastLeavePropagateDelay
	}
	return sc
}
