package peer_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/fjord-streaming/fjord/api/peer"
	"github.com/fjord-streaming/fjord/engine"
)

// The test brokers' recordingAdmin takes no ISR changes or shutdowns.
func (a *recordingAdmin) AlterISRLocal(context.Context, engine.AlterISR) (uint64, error) {
	return 0, fmt.Errorf("%w: not a controller", engine.ErrLeaderNotAvailable)
}

func (a *recordingAdmin) ControlledShutdownLocal(context.Context, int32) (uint64, error) {
	return 0, fmt.Errorf("%w: not a controller", engine.ErrLeaderNotAvailable)
}

// fakeController answers ISR changes and shutdowns with err, or version 42,
// and keeps what it was asked.
type fakeController struct {
	recordingAdmin
	err error

	mu        sync.Mutex // guards alters and shutdowns
	alters    []engine.AlterISR
	shutdowns []int32
}

func (f *fakeController) AlterISRLocal(_ context.Context, req engine.AlterISR) (uint64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.alters = append(f.alters, req)
	return 42, f.err
}

func (f *fakeController) ControlledShutdownLocal(_ context.Context, broker int32) (uint64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.shutdowns = append(f.shutdowns, broker)
	return 42, f.err
}

// TestAlterISRAndShutdownRoundTrip: the calls reach the controller's Admin
// as sent and its answers come back, refusals as the same engine errors;
// a stale epoch stays a stale epoch across the hop rather than becoming
// leader_not_available.
func TestAlterISRAndShutdownRoundTrip(t *testing.T) {
	req := engine.AlterISR{Topic: "orders", TopicID: 81, Partition: 3, Leader: 1, LeaderEpoch: 4, PartitionEpoch: 9, ISR: []int32{1, 3}}
	for _, tc := range []struct {
		name string
		err  error
	}{
		{"committed", nil},
		{"stale epoch", fmt.Errorf("%w: partition epoch 9 asked, it is 10", engine.ErrStaleEpoch)},
		{"invalid", fmt.Errorf("%w: broker 3 is not live", engine.ErrInvalidRequest)},
		{"not the controller", fmt.Errorf("%w: moved", engine.ErrLeaderNotAvailable)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fc := &fakeController{err: tc.err}
			var addr string
			newEcho(t, 1, func(e *echo.Echo) { peer.NewServer(peer.ServerConfig{Secret: testSecret}, nil, fc).Mount(e) }, &addr)
			c := peer.NewClient(peer.ClientConfig{Self: 2, Secret: testSecret, Resolver: resolver{1: addr}})
			t.Cleanup(c.Close)

			v, err := c.AlterISR(context.Background(), 1, req)
			checkAnswer(t, "alter ISR", v, err, tc.err)
			v, err = c.ControlledShutdown(context.Background(), 1, 2)
			if errors.Is(tc.err, engine.ErrStaleEpoch) {
				// Not a refusal shutdowns make; it maps as for any admin call.
				if !errors.Is(err, engine.ErrLeaderNotAvailable) {
					t.Errorf("controlled shutdown: %v, want leader_not_available", err)
				}
			} else {
				checkAnswer(t, "controlled shutdown", v, err, tc.err)
			}
			fc.mu.Lock()
			defer fc.mu.Unlock()
			if !reflect.DeepEqual(fc.alters, []engine.AlterISR{req}) || !reflect.DeepEqual(fc.shutdowns, []int32{2}) {
				t.Errorf("the controller was asked %+v and %v, want %+v and [2]", fc.alters, fc.shutdowns, req)
			}
		})
	}
}

func checkAnswer(t *testing.T, what string, v uint64, err, want error) {
	t.Helper()
	switch {
	case want == nil && (err != nil || v != 42):
		t.Errorf("%s: %d %v, want version 42", what, v, err)
	case want != nil && !errors.Is(err, sentinelOf(want)):
		t.Errorf("%s: %v, want an error wrapping %v", what, err, sentinelOf(want))
	case want != nil && errors.Is(want, engine.ErrStaleEpoch) && errors.Is(err, engine.ErrLeaderNotAvailable):
		t.Errorf("%s: a stale epoch came back as leader_not_available: %v", what, err)
	}
}

// sentinelOf is the engine sentinel err wraps.
func sentinelOf(err error) error {
	for _, s := range []error{engine.ErrStaleEpoch, engine.ErrInvalidRequest, engine.ErrLeaderNotAvailable} {
		if errors.Is(err, s) {
			return s
		}
	}
	return err
}

// TestAlterISRNeedsTheSecret: the new admin routes are behind the cluster
// secret like the others.
func TestAlterISRNeedsTheSecret(t *testing.T) {
	fc := &fakeController{}
	var addr string
	newEcho(t, 1, func(e *echo.Echo) { peer.NewServer(peer.ServerConfig{Secret: testSecret}, nil, fc).Mount(e) }, &addr)
	c := peer.NewClient(peer.ClientConfig{Self: 2, Secret: "wrong", Resolver: resolver{1: addr}})
	t.Cleanup(c.Close)
	if _, err := c.AlterISR(context.Background(), 1, engine.AlterISR{Topic: "t", ISR: []int32{1}}); err == nil {
		t.Fatal("alter ISR with a wrong secret was accepted")
	}
	if _, err := c.ControlledShutdown(context.Background(), 1, 2); err == nil {
		t.Fatal("controlled shutdown with a wrong secret was accepted")
	}
	if len(fc.alters)+len(fc.shutdowns) != 0 {
		t.Fatalf("the controller was reached: %+v %v", fc.alters, fc.shutdowns)
	}
}
