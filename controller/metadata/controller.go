package metadata

import (
	"slices"
	"time"
)

// Voters returns the ids that should vote in the metadata log: the lowest
// max distinct ids of brokerIDs, sorted. The others are non-voters. A max
// below 1 gives none. brokerIDs is not changed.
func Voters(brokerIDs []int32, max int) []int32 {
	if max < 1 {
		return nil
	}
	ids := slices.Compact(slices.Sorted(slices.Values(brokerIDs)))
	return slices.Clip(ids[:min(max, len(ids))])
}

// VoterView is what the controller knows of one voter: whether gossip has
// it alive, and for how long without a break.
type VoterView struct {
	ID       int32
	Alive    bool
	AliveFor time.Duration
}

// PreferredController picks the voter the controller, current, should
// hand leadership to: the lowest-id voter below current that is alive and
// has been for at least settle. transfer is false, and target current,
// when there is none. A lower voter that has not settled yet does not hold
// back a settled one above it: the role moves down step by step rather
// than waiting on a broker that may be flapping.
func PreferredController(current int32, voters []VoterView, settle time.Duration) (target int32, transfer bool) {
	target = current
	for _, v := range voters {
		if v.Alive && v.AliveFor >= settle && v.ID < target {
			target, transfer = v.ID, true
		}
	}
	return target, transfer
}
