package membership

import (
	"errors"
	"fmt"
	"net"
	"strconv"

	"github.com/hashicorp/serf/serf"
)

// ErrDuplicateID is wrapped by the error Serf.Fatal delivers when another
// live broker already has this broker's id.
var ErrDuplicateID = errors.New("membership: duplicate broker id")

// mergeDelegate is Serf's MergeDelegate. Serf calls it with the remote
// side's members on every join, both on the joining broker and on the one it
// contacted, and with the sender of every memberlist alive message.
type mergeDelegate struct{ s *Serf }

var _ serf.MergeDelegate = mergeDelegate{}

// NotifyMerge refuses a merge that carries a claim on this broker's name by
// another broker; see Serf.checkClaim.
func (d mergeDelegate) NotifyMerge(members []*serf.Member) error {
	for _, m := range members {
		if err := d.s.checkClaim(*m); err != nil {
			return err
		}
	}
	return nil
}

// checkClaim looks at a member as seen in a merge or a member event. It
// returns an error wrapping ErrDuplicateID when m claims this broker's name
// from another gossip address with another incarnation and is not known to
// be gone.
//
// Memberlist keeps the first address it saw for a name and reports later
// claimants as conflicts, so third brokers keep the original without help.
// The two claimants themselves decide here:
//   - A broker that is not yet part of a cluster (its --join has not
//     succeeded and no live broker has joined it) is the newcomer: it
//     refuses the merge, so its join fails, logs at error level and reports
//     on Fatal. It never joins again.
//   - A broker that is part of a cluster is the original: it refuses the
//     merge or alive message and logs a warning, and carries on.
//
// A claim from this broker's own address is its previous life (a restart
// after the disk was wiped, or the stale record of a crash): memberlist
// refutes the old record with a newer incarnation and the tags of the
// running broker win. A claim with our own incarnation is the same disk.
//
// In a merge, Serf marks only left members; memberlist's dead records
// (kept for GossipToTheDeadTime, 30 s on LAN) look alive there, so a
// broker that moves to a new address with a wiped disk right after its old
// self failed is refused until memberlist forgets the old record.
func (s *Serf) checkClaim(m serf.Member) error {
	if m.Name != s.name {
		return nil
	}
	if _, ok := brokerID(m); !ok {
		return nil // not a fjord broker: ignored
	}
	if m.Addr.Equal(s.selfIP) && int(m.Port) == s.selfPort {
		return nil
	}
	if m.Tags[tagInc] == s.cfg.Incarnation {
		return nil
	}
	switch m.Status {
	case serf.StatusLeaving, serf.StatusLeft, serf.StatusFailed:
		return nil
	}
	other := net.JoinHostPort(m.Addr.String(), strconv.Itoa(int(m.Port)))
	if !s.established() {
		err := fmt.Errorf("%w: %s is already alive at %s (incarnation %s); this broker at %s (incarnation %s) refuses to join",
			ErrDuplicateID, s.name, other, m.Tags[tagInc], s.gossipAddr, s.cfg.Incarnation)
		s.fail(err)
		return err
	}
	s.log.Warn("membership: refusing another broker that claims our id",
		"name", s.name, "claimant", other, "claimant_incarnation", m.Tags[tagInc],
		"gossip_addr", s.gossipAddr, "incarnation", s.cfg.Incarnation)
	return fmt.Errorf("%w: %s at %s (incarnation %s) claims the id of this broker at %s",
		ErrDuplicateID, s.name, other, m.Tags[tagInc], s.gossipAddr)
}

// established reports whether this broker is part of a cluster: its join
// succeeded (or it had nothing to join) or a live broker joined it.
func (s *Serf) established() bool {
	return s.joined.Load() || s.livePeers.Load() > 0
}

// fail reports err on Fatal once, logs it at error level and stops joining.
func (s *Serf) fail(err error) {
	s.fatalOnce.Do(func() {
		s.failed.Store(true)
		s.log.Error(err.Error(), "name", s.name, "gossip_addr", s.gossipAddr)
		s.fatal <- err // buffered for exactly this one error
		s.stopJoin()
	})
}
