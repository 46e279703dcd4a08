package membership

import (
	"errors"
	"log/slog"
	"slices"
	"testing"
)

func TestEventKindString(t *testing.T) {
	tests := []struct {
		kind EventKind
		want string
	}{
		{EventJoin, "join"},
		{EventUpdate, "update"},
		{EventFail, "fail"},
		{EventLeave, "leave"},
		{EventReap, "reap"},
		{EventKind(0), "EventKind(0)"},
	}
	for _, tt := range tests {
		if got := tt.kind.String(); got != tt.want {
			t.Errorf("EventKind(%d).String() = %q, want %q", int(tt.kind), got, tt.want)
		}
	}
}

// TestEventQueue pushes events at a consumer that reads none until the
// pushes are done: push never blocks, the oldest are dropped and counted,
// and the rest arrive in order.
func TestEventQueue(t *testing.T) {
	tests := []struct {
		name        string
		max, pushed int
	}{
		{name: "fits", max: 8, pushed: 5},
		{name: "exactly full", max: 8, pushed: 8},
		{name: "overflows", max: 8, pushed: 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := make(chan Event)
			q := newEventQueue(out, tt.max, slog.New(slog.DiscardHandler))
			for i := range tt.pushed {
				q.push(Event{Kind: EventJoin, Broker: Broker{ID: int32(i)}})
			}
			wantDropped := max(0, tt.pushed-tt.max)
			if got := q.dropped(); got != uint64(wantDropped) {
				t.Fatalf("dropped = %d, want %d", got, wantDropped)
			}

			stop := make(chan struct{})
			done := make(chan struct{})
			go func() {
				defer close(done)
				q.run(stop)
			}()
			var got []int32
			for range tt.pushed - wantDropped {
				got = append(got, (<-out).Broker.ID)
			}
			close(stop)
			<-done

			var want []int32
			for i := wantDropped; i < tt.pushed; i++ {
				want = append(want, int32(i))
			}
			if !slices.Equal(got, want) {
				t.Errorf("delivered %v, want %v", got, want)
			}
		})
	}
}

func TestConfigValidate(t *testing.T) {
	valid := Config{ID: 1, BindAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:8080", Incarnation: "u"}
	tests := []struct {
		name   string
		change func(*Config)
		ok     bool
	}{
		{name: "valid", change: func(*Config) {}, ok: true},
		{name: "all interfaces", change: func(c *Config) { c.BindAddr = ":7946" }, ok: true},
		{name: "negative id", change: func(c *Config) { c.ID = -1 }},
		{name: "no port", change: func(c *Config) { c.BindAddr = "127.0.0.1" }},
		{name: "hostname", change: func(c *Config) { c.BindAddr = "localhost:0" }},
		{name: "bad port", change: func(c *Config) { c.BindAddr = "127.0.0.1:70000" }},
		{name: "no http address", change: func(c *Config) { c.HTTPAddr = "" }},
		{name: "no incarnation", change: func(c *Config) { c.Incarnation = "" }},
		{name: "bad join address", change: func(c *Config) { c.Join = []string{"nowhere"} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := valid
			tt.change(&c)
			err := c.Validate()
			if tt.ok != (err == nil) {
				t.Fatalf("Validate() = %v, want ok=%v", err, tt.ok)
			}
			if err != nil && !errors.Is(err, errConfig) {
				t.Errorf("Validate() = %v, does not wrap errConfig", err)
			}
			if err == nil {
				return
			}
			if _, err := Start(c); err == nil {
				t.Error("Start accepted an invalid config")
			}
		})
	}
}
