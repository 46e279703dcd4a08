package brokertest

import (
	"context"
	"net/http"
	"testing"
	"time"
)

func TestStartRestartKill(t *testing.T) {
	b := Start(t)
	var h struct{ Status string }
	b.JSON(t, http.MethodGet, "/healthz", "", http.StatusOK, &h)
	if h.Status != "ok" {
		t.Fatalf("healthz status %q", h.Status)
	}
	addr := b.Addr
	if err := b.Stop(t); err != nil {
		t.Fatalf("SIGTERM exit: %v\n%s", err, b.Logs())
	}
	b.Addr = addr
	b.Restart(t)
	b.Kill(t)
}

// TestPauseResume: a paused broker answers nothing, and once resumed it
// answers the request that waited for it.
func TestPauseResume(t *testing.T) {
	b := Start(t)
	b.Pause(t)
	answered := make(chan int, 1)
	go func() {
		r, err := b.TryCall(context.Background(), http.MethodGet, "/healthz", "", 30*time.Second)
		if err != nil {
			t.Error(err)
		}
		answered <- r.Status
	}()
	select {
	case status := <-answered:
		t.Fatalf("a paused broker answered %d", status)
	case <-time.After(200 * time.Millisecond): // a bound on a non-event: nothing can notify it
	}
	b.Resume(t)
	if status := <-answered; status != http.StatusOK {
		t.Fatalf("after the resume: status %d, want 200", status)
	}
}
