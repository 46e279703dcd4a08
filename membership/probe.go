package membership

import (
	"net"
	"sync"
	"time"

	"github.com/hashicorp/serf/serf"
)

// suspectAfter is how many probe rounds in a row a peer must miss before
// Brokers lists it as suspect. One lost UDP packet is not suspicion.
const suspectAfter = 2

// suspicion records, per member name, how many probe rounds in a row the
// member has not answered. memberlist keeps its own suspicion private, so
// this is the broker's own view, made the same way: a direct ping per
// alive peer every probe interval, bounded by the probe timeout.
type suspicion struct {
	mu     sync.Mutex
	missed map[string]int
}

// suspect reports whether name has missed suspectAfter rounds in a row.
func (sp *suspicion) suspect(name string) bool {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	return sp.missed[name] >= suspectAfter
}

// record stores one round's answers; members not in the round (no longer
// alive in Serf) are forgotten.
func (sp *suspicion) record(answered map[string]bool) {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	next := make(map[string]int, len(answered))
	for name, ok := range answered {
		if !ok {
			next[name] = sp.missed[name] + 1
		}
	}
	sp.missed = next
}

// probeLoop pings every other alive member once per probe interval until
// Close. It is Serf's only user of memberlist's public Ping.
func (s *Serf) probeLoop() {
	t := time.NewTicker(s.probeInterval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
		}
		s.suspicion.record(s.probeRound())
	}
}

// probeRound pings every other alive member in parallel and reports which
// answered within memberlist's probe timeout.
func (s *Serf) probeRound() map[string]bool {
	var (
		mu       sync.Mutex
		wg       sync.WaitGroup
		answered = map[string]bool{}
	)
	ml := s.gossip.Memberlist()
	for _, m := range s.gossip.Members() {
		if m.Status != serf.StatusAlive || m.Name == s.name {
			continue
		}
		addr := &net.UDPAddr{IP: m.Addr, Port: int(m.Port)}
		wg.Go(func() {
			_, err := ml.Ping(m.Name, addr)
			mu.Lock()
			answered[m.Name] = err == nil
			mu.Unlock()
		})
	}
	wg.Wait()
	return answered
}
