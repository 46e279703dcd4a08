package membership

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fjord-streaming/fjord/internal/freeport"
)

// convergeTimeout bounds every wait for gossip to converge. Fast failure
// detection takes about 4 s; the rest is slack for -race and loaded CI.
const convergeTimeout = 20 * time.Second

// testLog collects a test's logs and prints them only if the test failed
// (or FJORD_TEST_LOGS is set), so late lines from Serf's own goroutines
// never reach a finished test.
type testLog struct {
	mu  sync.Mutex // guards buf
	buf bytes.Buffer
}

func (l *testLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *testLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// newTestLogger returns a debug logger whose output is shown if t fails.
func newTestLogger(t *testing.T) (*slog.Logger, *testLog) {
	t.Helper()
	l := &testLog{}
	t.Cleanup(func() {
		if t.Failed() || os.Getenv("FJORD_TEST_LOGS") != "" {
			t.Logf("logs:\n%s", l.String())
		}
	})
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug})), l
}

// brokerOption adjusts a test broker's Config.
type brokerOption interface{ apply(*Config) }

type optionFunc func(*Config)

func (f optionFunc) apply(c *Config) { f(c) }

func withJoin(addrs ...string) brokerOption {
	return optionFunc(func(c *Config) { c.Join = addrs })
}

func withBindAddr(addr string) brokerOption {
	return optionFunc(func(c *Config) { c.BindAddr = addr })
}

func withIncarnation(inc string) brokerOption {
	return optionFunc(func(c *Config) { c.Incarnation = inc })
}

func withEvents(ch chan<- Event) brokerOption {
	return optionFunc(func(c *Config) { c.Events = ch })
}

func withLogger(l *slog.Logger) brokerOption {
	return optionFunc(func(c *Config) { c.Logger = l })
}

// testConfig is broker id's Config on 127.0.0.1 port 0, in Fast mode.
func testConfig(t *testing.T, id int32, opts ...brokerOption) Config {
	cfg := Config{
		ID:          id,
		BindAddr:    "127.0.0.1:0",
		HTTPAddr:    fmt.Sprintf("127.0.0.1:%d", 9000+id),
		Incarnation: fmt.Sprintf("inc-%d", id),
		Fast:        true,
	}
	for _, o := range opts {
		o.apply(&cfg)
	}
	if cfg.Logger == nil {
		logger, _ := newTestLogger(t)
		cfg.Logger = logger.With("broker", id)
	}
	return cfg
}

// startBroker starts broker id and closes it when the test ends.
func startBroker(t *testing.T, id int32, opts ...brokerOption) *Serf {
	t.Helper()
	s, err := Start(testConfig(t, id, opts...))
	if err != nil {
		t.Fatalf("start broker %d: %v", id, err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// freeAddrs returns n distinct 127.0.0.1 addresses whose ports were just
// free for both TCP and UDP, for brokers that are to come up after others
// already try to join them. All n are held until all are picked, so none is
// returned twice.
func freeAddrs(t *testing.T, n int) []string {
	t.Helper()
	_, gossip, err := freeport.Addrs(n)
	if err != nil {
		t.Fatal(err)
	}
	return gossip
}

// waitFor polls cond every 20ms until it holds, failing the test after
// convergeTimeout with what describe says about the last state.
func waitFor(t *testing.T, what string, cond func() bool, describe func() string) {
	t.Helper()
	deadline := time.Now().Add(convergeTimeout)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s; last: %s", what, describe())
		}
		<-tick.C
	}
}

// describeViews shows every broker's Brokers, for failure messages.
func describeViews(brokers ...*Serf) func() string {
	return func() string {
		var b strings.Builder
		for _, s := range brokers {
			fmt.Fprintf(&b, "\n  %s sees %v", s.name, s.Brokers())
		}
		return b.String()
	}
}

// statusOf is broker id's status in s's view, or "" if s does not list it.
func statusOf(s *Serf, id int32) string {
	b, ok := s.Broker(id)
	if !ok {
		return ""
	}
	return b.Status
}

// eventLog collects the events a broker delivers.
type eventLog struct {
	mu     sync.Mutex // guards events
	events []Event
}

// collect reads ch until the test ends.
func collect(t *testing.T, ch <-chan Event) *eventLog {
	l := &eventLog{}
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		for {
			select {
			case e := <-ch:
				l.mu.Lock()
				l.events = append(l.events, e)
				l.mu.Unlock()
			case <-done:
				return
			}
		}
	}()
	t.Cleanup(func() {
		close(done)
		<-finished
	})
	return l
}

// kinds lists the kinds of the events about broker id, without updates.
func (l *eventLog) kinds(id int32) []EventKind {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []EventKind
	for _, e := range l.events {
		if e.Broker.ID == id && e.Kind != EventUpdate {
			out = append(out, e.Kind)
		}
	}
	return out
}

func (l *eventLog) has(id int32, kinds ...EventKind) func() bool {
	return func() bool { return slices.Equal(l.kinds(id), kinds) }
}

func (l *eventLog) snapshot() []Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.events)
}
