package group

import "time"

// Status is the Burrow-style health of a partition (OK, WARNING, STOP,
// STALL, REWIND) or of a group (OK, WARNING, ERROR).
type Status string

// Statuses, spelled as the API reports them.
const (
	StatusOK      Status = "OK"
	StatusWarning Status = "WARNING"
	StatusStop    Status = "STOP"
	StatusStall   Status = "STALL"
	StatusRewind  Status = "REWIND"
	StatusError   Status = "ERROR"
)

// Lag window defaults (both are broker flags).
const (
	DefaultWindowSize  = 10
	DefaultMinDistance = time.Second
)

// WindowEntry is one commit remembered for lag evaluation.
type WindowEntry struct {
	Offset int64     // committed offset
	Lag    int64     // high watermark - Offset at commit time, never negative
	Time   time.Time // when the commit was made
}

// Window is the recent commit history of one partition, oldest first. Size
// is its capacity and MinDistance the spacing below which a commit replaces
// the previous entry instead of being added; zero values mean
// DefaultWindowSize and DefaultMinDistance.
type Window struct {
	Size        int
	MinDistance time.Duration
	Entries     []WindowEntry
}

func (w *Window) size() int {
	if w.Size <= 0 {
		return DefaultWindowSize
	}
	return w.Size
}

func (w *Window) minDistance() time.Duration {
	if w.MinDistance <= 0 {
		return DefaultMinDistance
	}
	return w.MinDistance
}

// Add records a commit. A commit less than MinDistance after the newest
// entry replaces it; otherwise it is appended and the oldest entry dropped
// once the window holds Size entries.
func (w *Window) Add(e WindowEntry) {
	if n := len(w.Entries); n > 0 && e.Time.Sub(w.Entries[n-1].Time) < w.minDistance() {
		w.Entries[n-1] = e
		return
	}
	w.Entries = append(w.Entries, e)
	if extra := len(w.Entries) - w.size(); extra > 0 {
		n := copy(w.Entries, w.Entries[extra:])
		w.Entries = w.Entries[:n]
	}
}

// Full reports whether the window holds Size entries.
func (w *Window) Full() bool { return len(w.Entries) >= w.size() }

// Lag is highWatermark - committed, never negative. With nothing committed
// the caller passes the log start offset as committed.
func Lag(committed, highWatermark int64) int64 {
	return max(0, highWatermark-committed)
}

// Evaluate applies Burrow's rules to a partition, in this order:
//  1. window not full -> OK; current lag 0 -> OK;
//  2. STOP if now - last commit > last commit - first commit, unless the
//     committed offset has reached the high watermark;
//  3. OK if any commit in the window had lag 0;
//  4. REWIND if the offset ever went backwards within the window;
//  5. STALL if every offset in the window is the same;
//  6. WARNING if the lag never decreased from one commit to the next;
//  7. OK otherwise.
//
// committed is the current committed offset (the log start when there is
// none) and highWatermark the partition's current high watermark.
func Evaluate(w Window, committed, highWatermark int64, now time.Time) Status {
	if !w.Full() || Lag(committed, highWatermark) == 0 {
		return StatusOK
	}
	es := w.Entries[len(w.Entries)-w.size():]
	first, last := es[0], es[len(es)-1]
	if now.Sub(last.Time) > last.Time.Sub(first.Time) && committed < highWatermark {
		return StatusStop
	}
	rewound, still, growing := false, true, true
	for i, e := range es {
		if e.Lag == 0 {
			return StatusOK
		}
		if i == 0 {
			continue
		}
		prev := es[i-1]
		rewound = rewound || e.Offset < prev.Offset
		still = still && e.Offset == prev.Offset
		growing = growing && e.Lag >= prev.Lag
	}
	switch {
	case rewound:
		return StatusRewind
	case still:
		return StatusStall
	case growing:
		return StatusWarning
	}
	return StatusOK
}

// GroupStatus rolls partition statuses up to a group status: the worst of
// them, with STOP, STALL and REWIND counted as ERROR (OK < WARNING < ERROR).
// No partitions is OK.
func GroupStatus(statuses []Status) Status {
	worst := StatusOK
	for _, s := range statuses {
		switch s {
		case StatusWarning:
			if worst == StatusOK {
				worst = StatusWarning
			}
		case StatusStop, StatusStall, StatusRewind, StatusError:
			return StatusError
		}
	}
	return worst
}
