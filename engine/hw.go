package engine

// highWatermark is the high watermark a leader may expose (Invariant 1): the
// smallest durable log end offset over the committed ISR, the leader's own
// being leo, and never below cur (the HW only moves forward). A member whose
// log end is not known yet (no fetch from it since this broker became
// leader) holds the HW where it is. A follower that is being added to the
// ISR does not count until the metadata log has committed it; one being
// removed counts until then, so the HW never advances on an ISR that is
// not committed.
func highWatermark(cur int64, self int32, leo int64, isr []int32, followerLEO func(id int32) (int64, bool)) int64 {
	hw := leo
	for _, id := range isr {
		if id == self {
			continue
		}
		f, ok := followerLEO(id)
		if !ok {
			return cur
		}
		hw = min(hw, f)
	}
	return max(cur, hw)
}
