package engine

import (
	"math/rand/v2"
	"testing"
)

func woken(w *hwWaiter) bool {
	select {
	case <-w.ch:
		return true
	default:
		return false
	}
}

func TestHWWaiters(t *testing.T) {
	tests := []struct {
		name   string
		ends   []int64
		remove []int // indexes into ends, removed before the wake
		hw     int64
		want   []bool // woken, per end
	}{
		{name: "none reached", ends: []int64{5, 7}, hw: 4, want: []bool{false, false}},
		{name: "exactly at end", ends: []int64{5, 7}, hw: 5, want: []bool{true, false}},
		{name: "all passed", ends: []int64{9, 5, 7}, hw: 100, want: []bool{true, true, true}},
		{name: "out of order", ends: []int64{30, 10, 20, 10, 40}, hw: 20, want: []bool{false, true, true, true, false}},
		{name: "a removed waiter is not woken", ends: []int64{10, 20, 30}, remove: []int{1}, hw: 25, want: []bool{true, false, false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h hwWaiters
			ws := make([]*hwWaiter, len(tt.ends))
			for i, end := range tt.ends {
				ws[i] = h.add(end)
			}
			for _, i := range tt.remove {
				h.remove(ws[i])
			}
			h.wake(tt.hw)
			for i, w := range ws {
				if got := woken(w); got != tt.want[i] {
					t.Errorf("waiter for %d woken %v at HW %d; want %v", w.end, got, tt.hw, tt.want[i])
				}
			}
			h.wakeAll()
			if len(h) != 0 {
				t.Fatalf("%d waiters left after wakeAll", len(h))
			}
			for i, w := range ws {
				removed := false
				for _, r := range tt.remove {
					removed = removed || r == i
				}
				if woken(w) == removed {
					t.Errorf("waiter for %d: woken %v after wakeAll, removed %v", w.end, woken(w), removed)
				}
			}
			h.remove(ws[0]) // a woken waiter's remove is a no-op
		})
	}
}

// TestHWWaitersModel runs random adds, removes and HW moves against a
// plain list: every waiter is woken once its end is reached, never before,
// and a removed one never.
func TestHWWaitersModel(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var h hwWaiters
	var live []*hwWaiter
	var hw int64
	for step := range 20000 {
		switch op := r.IntN(3); {
		case op == 0 || len(live) == 0:
			live = append(live, h.add(hw+1+r.Int64N(50)))
		case op == 1:
			i := r.IntN(len(live))
			h.remove(live[i])
			if woken(live[i]) {
				t.Fatalf("step %d: a waiter removed before its end was woken", step)
			}
			live = append(live[:i], live[i+1:]...)
		default:
			hw += r.Int64N(10)
			h.wake(hw)
			kept := live[:0]
			for _, w := range live {
				if got, want := woken(w), w.end <= hw; got != want {
					t.Fatalf("step %d: waiter for %d woken %v at HW %d", step, w.end, got, hw)
				}
				if w.end > hw {
					kept = append(kept, w)
				}
			}
			live = kept
		}
		if len(h) != len(live) {
			t.Fatalf("step %d: heap holds %d waiters, %d are waiting", step, len(h), len(live))
		}
	}
}
