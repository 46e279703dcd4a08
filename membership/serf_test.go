package membership

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"
	"github.com/hashicorp/serf/serf"
)

// threeAlive reports whether s lists exactly brokers 1, 2 and 3, all alive,
// with the HTTP addresses and incarnations testConfig gives them.
func threeAlive(s *Serf) bool {
	want := []Broker{
		{ID: 1, HTTPAddr: "127.0.0.1:9001", Status: StatusAlive, Incarnation: "inc-1"},
		{ID: 2, HTTPAddr: "127.0.0.1:9002", Status: StatusAlive, Incarnation: "inc-2"},
		{ID: 3, HTTPAddr: "127.0.0.1:9003", Status: StatusAlive, Incarnation: "inc-3"},
	}
	return slices.Equal(s.Brokers(), want)
}

func allOf(brokers []*Serf, cond func(*Serf) bool) func() bool {
	return func() bool {
		for _, s := range brokers {
			if !cond(s) {
				return false
			}
		}
		return true
	}
}

// startThree starts brokers 1, 2 and 3, in that order, where join[i] lists
// the brokers broker i+1 joins. A broker may join one that starts after it:
// its address is reserved up front and its join retries until it is up.
func startThree(t *testing.T, join [3][]int, opts ...brokerOption) []*Serf {
	t.Helper()
	addrs := freeAddrs(t, 3)
	brokers := make([]*Serf, 3)
	for i := range brokers {
		var targets []string
		for _, j := range join[i] {
			targets = append(targets, addrs[j-1])
		}
		o := append([]brokerOption{withBindAddr(addrs[i]), withJoin(targets...)}, opts...)
		brokers[i] = startBroker(t, int32(i+1), o...)
		if got := brokers[i].GossipAddr(); got != addrs[i] {
			t.Fatalf("broker %d: GossipAddr %s, want %s", i+1, got, addrs[i])
		}
	}
	waitFor(t, "three alive brokers everywhere", allOf(brokers, threeAlive), describeViews(brokers...))
	waitFor(t, "every join to succeed", allOf(brokers, (*Serf).Joined), describeViews(brokers...))
	return brokers
}

func TestFormation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		join [3][]int // brokers each of 1, 2, 3 joins
	}{
		{name: "all join the first", join: [3][]int{nil, {1}, {1}}},
		{name: "chain", join: [3][]int{nil, {1}, {2}}},
		{name: "first joins the last, which comes up later", join: [3][]int{{3}, {1}, nil}},
		{name: "each joins the next, in a ring", join: [3][]int{{2}, {3}, {1}}},
		{name: "one bad address among good ones", join: [3][]int{nil, {3, 1}, {1}}},
		{name: "shared seed list naming every broker", join: [3][]int{{1, 2, 3}, {1, 2, 3}, {1, 2, 3}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			brokers := startThree(t, tt.join)
			for _, s := range brokers {
				if self := s.Self(); self.Status != StatusAlive || self.Incarnation != fmt.Sprintf("inc-%d", self.ID) {
					t.Errorf("%s: Self() = %+v", s.name, self)
				}
				select {
				case err := <-s.Fatal():
					t.Errorf("%s: unexpected fatal error: %v", s.name, err)
				default:
				}
			}
		})
	}
}

func TestJoinOnlySelf(t *testing.T) {
	t.Parallel()
	addr := freeAddrs(t, 1)[0]
	s := startBroker(t, 1, withBindAddr(addr), withJoin(addr))
	if !s.Joined() {
		t.Fatal("a broker whose join list names only itself has nothing to join, but is not Joined")
	}
}

func TestPortZero(t *testing.T) {
	t.Parallel()
	a := startBroker(t, 1)
	b := startBroker(t, 2, withJoin(a.GossipAddr()))
	if !strings.HasPrefix(a.GossipAddr(), "127.0.0.1:") || strings.HasSuffix(a.GossipAddr(), ":0") {
		t.Fatalf("GossipAddr = %q, want 127.0.0.1 and a real port", a.GossipAddr())
	}
	twoAlive := func(s *Serf) bool {
		bs := s.Brokers()
		return len(bs) == 2 && bs[0].Status == StatusAlive && bs[1].Status == StatusAlive
	}
	waitFor(t, "two alive brokers", allOf([]*Serf{a, b}, twoAlive), describeViews(a, b))
	if !b.Joined() {
		t.Fatal("broker 2 not Joined after the cluster formed")
	}
}

// TestDeparture stops broker 3 with a crash or a graceful leave and checks
// what brokers 1 and 2 see, and the events broker 1 delivers about it.
func TestDeparture(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		stop       func(*testing.T, *Serf)
		wantStatus string
		wantKind   EventKind
	}{
		{
			name:       "crash",
			stop:       func(t *testing.T, s *Serf) { _ = s.Close() },
			wantStatus: StatusFailed,
			wantKind:   EventFail,
		},
		{
			name: "leave",
			stop: func(t *testing.T, s *Serf) {
				ctx, cancel := context.WithTimeout(context.Background(), convergeTimeout)
				defer cancel()
				if err := s.Leave(ctx); err != nil {
					t.Fatalf("leave: %v", err)
				}
				if got := s.Self().Status; got != StatusLeft {
					t.Errorf("after Leave, Self().Status = %q, want left", got)
				}
			},
			wantStatus: StatusLeft,
			wantKind:   EventLeave,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			events := make(chan Event, 16)
			log := collect(t, events)
			brokers := startThree(t, [3][]int{nil, {1}, {1}}, withEventsFor(1, events))
			waitFor(t, "broker 1's join event for broker 3", log.has(3, EventJoin),
				func() string { return fmt.Sprint(log.kinds(3)) })

			tt.stop(t, brokers[2])
			rest := brokers[:2]
			waitFor(t, "broker 3 "+tt.wantStatus, allOf(rest, func(s *Serf) bool {
				return statusOf(s, 3) == tt.wantStatus
			}), describeViews(rest...))
			waitFor(t, "events join then "+tt.wantKind.String(), log.has(3, EventJoin, tt.wantKind),
				func() string { return fmt.Sprint(log.kinds(3)) })
			for _, s := range rest {
				if statusOf(s, 1) != StatusAlive || statusOf(s, 2) != StatusAlive {
					t.Errorf("%s sees %v, want 1 and 2 alive", s.name, s.Brokers())
				}
			}
		})
	}
}

// withEventsFor sends broker id's events to ch; other brokers get none.
func withEventsFor(id int32, ch chan<- Event) brokerOption {
	return optionFunc(func(c *Config) {
		if c.ID == id {
			c.Events = ch
		}
	})
}

// TestRestartNewIncarnation restarts broker 3 at its gossip address with a
// wiped disk, before or after the others noticed the crash.
func TestRestartNewIncarnation(t *testing.T) {
	t.Parallel()
	for _, waitFailed := range []bool{false, true} {
		t.Run(fmt.Sprintf("crash noticed=%v", waitFailed), func(t *testing.T) {
			t.Parallel()
			brokers := startThree(t, [3][]int{nil, {1}, {1}})
			addr := brokers[2].GossipAddr()
			if err := brokers[2].Close(); err != nil {
				t.Fatal(err)
			}
			rest := brokers[:2]
			if waitFailed {
				waitFor(t, "broker 3 failed", allOf(rest, func(s *Serf) bool {
					return statusOf(s, 3) == StatusFailed
				}), describeViews(rest...))
			}

			again := startBroker(t, 3, withBindAddr(addr), withIncarnation("inc-3-wiped"),
				withJoin(brokers[0].GossipAddr()))
			all := []*Serf{brokers[0], brokers[1], again}
			waitFor(t, "the new incarnation everywhere", allOf(all, func(s *Serf) bool {
				b, ok := s.Broker(3)
				return ok && b.Status == StatusAlive && b.Incarnation == "inc-3-wiped" &&
					statusOf(s, 1) == StatusAlive && statusOf(s, 2) == StatusAlive
			}), describeViews(all...))
			waitFor(t, "the restarted broker to join", again.Joined, describeViews(all...))
			for _, s := range all {
				select {
				case err := <-s.Fatal():
					t.Errorf("%s: unexpected fatal error: %v", s.name, err)
				default:
				}
			}
		})
	}
}

// TestDuplicateIDRefused starts a second broker 1, with its own disk, at
// another address: it must stop with ErrDuplicateID while the first keeps
// running and keeps its place.
func TestDuplicateIDRefused(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		join func(first, second *Serf) []string
	}{
		{name: "joins the original", join: func(first, _ *Serf) []string { return []string{first.GossipAddr()} }},
		{name: "joins another broker", join: func(_, second *Serf) []string { return []string{second.GossipAddr()} }},
		{name: "joins both", join: func(first, second *Serf) []string {
			return []string{second.GossipAddr(), first.GossipAddr()}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			first := startBroker(t, 1)
			second := startBroker(t, 2, withJoin(first.GossipAddr()))
			pair := []*Serf{first, second}
			twoAlive := func(s *Serf) bool {
				return statusOf(s, 1) == StatusAlive && statusOf(s, 2) == StatusAlive && len(s.Brokers()) == 2
			}
			waitFor(t, "brokers 1 and 2", allOf(pair, twoAlive), describeViews(pair...))

			logger, logs := newTestLogger(t)
			dup := startBroker(t, 1, withIncarnation("inc-1-other-disk"),
				withJoin(tt.join(first, second)...), withLogger(logger))

			var fatal error
			select {
			case fatal = <-dup.Fatal():
			case <-time.After(convergeTimeout):
				t.Fatalf("duplicate broker got no fatal error; views: %s", describeViews(first, second, dup)())
			}
			if !errors.Is(fatal, ErrDuplicateID) {
				t.Fatalf("fatal error %v does not wrap ErrDuplicateID", fatal)
			}
			for _, addr := range []string{first.GossipAddr(), dup.GossipAddr()} {
				if !strings.Contains(fatal.Error(), addr) {
					t.Errorf("fatal error %q does not name %s", fatal, addr)
				}
			}
			if !strings.Contains(logs.String(), "level=ERROR") {
				t.Error("the refusal was not logged at error level")
			}
			if dup.Joined() {
				t.Error("duplicate reports Joined")
			}

			// The original is untouched: no fatal error, still broker 1
			// with its own incarnation in both views, and the duplicate is
			// never merged.
			for _, s := range pair {
				b, ok := s.Broker(1)
				if !ok || b.Status != StatusAlive || b.Incarnation != "inc-1" || !twoAlive(s) {
					t.Errorf("%s sees %v, want the original broker 1 alive", s.name, s.Brokers())
				}
			}
			select {
			case err := <-first.Fatal():
				t.Errorf("original broker got a fatal error: %v", err)
			default:
			}
			if n := len(dup.Brokers()); n != 1 {
				t.Errorf("duplicate sees %v, want only itself", dup.Brokers())
			}
		})
	}
}

// TestStuckConsumer gives broker 1 an Events channel nobody reads: gossip
// must converge regardless.
func TestStuckConsumer(t *testing.T) {
	t.Parallel()
	stuck := make(chan Event) // never read
	brokers := startThree(t, [3][]int{nil, {1}, {1}}, withEventsFor(1, stuck))
	if err := brokers[2].Close(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "broker 3 failed", allOf(brokers[:2], func(s *Serf) bool {
		return statusOf(s, 3) == StatusFailed
	}), describeViews(brokers[:2]...))
}

// TestForeignMembersIgnored joins plain Serf members that are not fjord
// brokers to a broker: they gossip with it but are never listed.
func TestForeignMembersIgnored(t *testing.T) {
	t.Parallel()
	events := make(chan Event, 16)
	log := collect(t, events)
	broker := startBroker(t, 1, withEvents(events))
	for _, f := range []struct {
		name string
		tags map[string]string
	}{
		{name: "other-service", tags: map[string]string{"role": "cache"}},
		{name: "fjord-7", tags: map[string]string{"http": "127.0.0.1:1"}}, // no id tag
	} {
		mc := memberlist.DefaultLocalConfig()
		mc.BindAddr, mc.BindPort = "127.0.0.1", 0
		mc.LogOutput = io.Discard
		sc := serf.DefaultConfig()
		sc.NodeName, sc.Tags, sc.MemberlistConfig = f.name, f.tags, mc
		sc.LogOutput = mc.LogOutput
		other, err := serf.Create(sc)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = other.Shutdown() })
		if _, err := other.Join([]string{broker.GossipAddr()}, true); err != nil {
			t.Fatalf("%s join: %v", f.name, err)
		}
	}
	waitFor(t, "the broker to see both foreign members", func() bool {
		return len(broker.gossip.Members()) == 3
	}, func() string { return fmt.Sprint(broker.gossip.Members()) })
	if got := broker.Brokers(); len(got) != 1 || got[0].ID != 1 {
		t.Errorf("Brokers() = %v, want only broker 1", got)
	}
	for _, e := range log.snapshot() {
		if e.Broker.ID != 1 {
			t.Errorf("event about a foreign member: %+v", e)
		}
	}
}

func TestBrokerFromMemberRejects(t *testing.T) {
	tests := []struct {
		name string
		tags map[string]string
		node string
	}{
		{name: "no id tag", node: "fjord-1", tags: map[string]string{"http": "x"}},
		{name: "bad id tag", node: "fjord-x", tags: map[string]string{"id": "x"}},
		{name: "name does not match id", node: "consul-1", tags: map[string]string{"id": "1"}},
		{name: "non-canonical name", node: "fjord-01", tags: map[string]string{"id": "1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := serf.Member{Name: tt.node, Tags: tt.tags, Status: serf.StatusAlive}
			if b, ok := brokerFromMember(m); ok {
				t.Errorf("brokerFromMember(%s, %v) = %+v, want not a broker", tt.node, tt.tags, b)
			}
		})
	}
}
