package brokertest

import (
	"net/http"
	"testing"
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
