package brokertest

import (
	"errors"
	"testing"
	"time"
)

func TestIsPermutation(t *testing.T) {
	for _, tc := range []struct {
		order []int
		n     int
		want  bool
	}{
		{[]int{1, 2, 3}, 3, true},
		{[]int{3, 1, 2}, 3, true},
		{[]int{1, 1, 3}, 3, false},
		{[]int{1, 2}, 3, false},
		{[]int{0, 1, 2}, 3, false},
		{[]int{2, 3, 4}, 3, false},
	} {
		if got := isPermutation(tc.order, tc.n); got != tc.want {
			t.Errorf("isPermutation(%v, %d) = %v, want %v", tc.order, tc.n, got, tc.want)
		}
	}
}

func TestPoll(t *testing.T) {
	n := 0
	if err := Poll(time.Second, func() error {
		if n++; n < 3 {
			return errors.New("not yet")
		}
		return nil
	}); err != nil || n != 3 {
		t.Fatalf("Poll: %v after %d calls", err, n)
	}
	want := errors.New("never")
	if err := Poll(3*PollPeriod, func() error { return want }); err != want {
		t.Fatalf("Poll timed out with %v, want the condition's last error", err)
	}
}

// TestStartCluster forms a two-broker cluster with the higher id first and
// exercises the helpers that stop and start brokers.
func TestStartCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts broker processes")
	}
	c := StartCluster(t, 2, WithStartOrder(2, 1))
	for _, id := range c.IDs() {
		info := c.Info(t, id)
		if len(info.Brokers) != 2 || info.ClusterID == "" {
			t.Fatalf("broker %d: %+v", id, info)
		}
		if r := c.Call(t, id, "GET", "/cluster", ""); r.BrokerID() != id {
			t.Fatalf("broker %d: X-Fjord-Broker %q", id, r.Header.Get("X-Fjord-Broker"))
		}
	}
	c.WaitController(t, 1, 30*time.Second)
	addr := c.Broker(2).Addr
	c.Kill(t, 2)
	if got := c.Running(); len(got) != 1 || got[0] != 1 {
		t.Fatalf("running after kill: %v", got)
	}
	c.Restart(t, 2)
	if c.Broker(2).Addr != addr {
		t.Fatalf("restarted at %s, want %s", c.Broker(2).Addr, addr)
	}
	c.WaitFormed(t, 30*time.Second)
	if err := c.Stop(t, 2); err != nil {
		t.Fatalf("SIGTERM exit: %v", err)
	}
	c.Wipe(t, 2)
	c.Restart(t, 2)
	c.WaitFormed(t, 30*time.Second)
	if recs := c.Broker(2).LogRecords("fjord broker serving"); len(recs) != 1 {
		t.Fatalf("%d 'fjord broker serving' lines in the current process's log", len(recs))
	}
}
