package partitioner

import (
	"math/rand/v2"
	"sync/atomic"
)

// Sticky picks the partition for records without a key. Each call to Next
// serves one produce request: all its keyless records share the returned
// partition, and successive calls rotate across the partitions, starting at a
// random one so that brokers restarted together do not all begin with
// partition 0.
//
// A Sticky is safe for use by concurrent goroutines. Use NewSticky to create
// one; the zero value also works and starts at partition 0. Use one Sticky per
// topic so that each topic's rotation is even on its own.
type Sticky struct {
	next atomic.Uint64
}

// NewSticky returns a Sticky whose rotation starts at a random partition.
func NewSticky() *Sticky {
	s := new(Sticky)
	s.next.Store(rand.Uint64())
	return s
}

// Next returns the partition, in [0, partitions), for the keyless records of
// one produce request, and moves the rotation on by one. Changing the
// partition count between calls is fine: the rotation simply continues modulo
// the new count.
//
// Next panics if partitions is not positive.
func (s *Sticky) Next(partitions int32) int32 {
	if partitions <= 0 {
		panic("partitioner: partition count must be positive")
	}
	n := s.next.Add(1) - 1
	return int32(n % uint64(partitions))
}
