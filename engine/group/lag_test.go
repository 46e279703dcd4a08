package group

import (
	"testing"
	"time"
)

// win builds a full window (Size = number of pairs) from (offset, lag)
// pairs committed one second apart from t=0.
func win(pairs ...[2]int64) Window {
	w := Window{Size: len(pairs)}
	for i, p := range pairs {
		w.Entries = append(w.Entries, WindowEntry{Offset: p[0], Lag: p[1], Time: ms(int64(i) * 1000)})
	}
	return w
}

func ms(n int64) time.Time { return time.UnixMilli(n) }

// steady builds a full window from parallel offset and lag lists.
func steady(offsets, lags []int64) Window {
	pairs := make([][2]int64, len(offsets))
	for i := range offsets {
		pairs[i] = [2]int64{offsets[i], lags[i]}
	}
	return win(pairs...)
}

func TestEvaluate(t *testing.T) {
	last := ms(9000) // last entry time of a 10-entry window; span 9 s
	for _, tc := range []struct {
		name          string
		w             Window
		committed, hw int64
		now           time.Time
		want          Status
	}{
		{"incomplete window", Window{Size: 10, Entries: win([2]int64{5, 5}).Entries}, 5, 100, last, StatusOK},
		{"empty window", Window{}, 0, 100, last, StatusOK},
		{"current lag zero", steady(seq(0, 10, 10), rep(10, 5)), 100, 100, last, StatusOK},
		{"committed beyond hw", steady(seq(0, 10, 10), rep(10, 5)), 120, 100, last, StatusOK},
		{"stop", steady(seq(0, 10, 10), down(20, 10)), 90, 95, ms(18001), StatusStop},
		{"stop boundary not stopped", steady(seq(0, 10, 10), down(20, 10)), 90, 95, ms(18000), StatusOK},
		{"stop exception at hw", steady(seq(0, 10, 10), rep(10, 5)), 95, 95, ms(60000), StatusOK},
		{"ok with a zero-lag commit", steady(seq(0, 10, 10), with(rep(10, 5), 3, 0)), 90, 95, last, StatusOK},
		{"zero lag beats rewind", steady(with(seq(0, 10, 10), 4, 1), with(rep(10, 5), 7, 0)), 90, 95, last, StatusOK},
		{"rewind", steady(with(seq(0, 10, 10), 5, 2), down(30, 10)), 90, 95, last, StatusRewind},
		{"rewind beats stall-like", steady(with(rep(10, 7), 9, 6), rep(10, 5)), 6, 20, last, StatusRewind},
		{"stall", steady(rep(10, 7), seq(1, 1, 10)), 7, 20, last, StatusStall},
		{"warning lag never decreased", steady(seq(0, 10, 10), seq(5, 1, 10)), 90, 110, last, StatusWarning},
		{"warning with flat lag", steady(seq(0, 10, 10), rep(10, 5)), 90, 95, last, StatusWarning},
		{"ok lag decreased once", steady(seq(0, 10, 10), with(seq(5, 1, 10), 6, 2)), 90, 110, last, StatusOK},
		{"ok lag shrinking", steady(seq(0, 10, 10), down(50, 10)), 90, 100, last, StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Evaluate(tc.w, tc.committed, tc.hw, tc.now); got != tc.want {
				t.Fatalf("Evaluate = %s, want %s", got, tc.want)
			}
		})
	}
}

// seq returns n values from start by step.
func seq(start, step int64, n int) []int64 {
	out := make([]int64, n)
	for i := range out {
		out[i] = start + int64(i)*step
	}
	return out
}

func rep(n int, v int64) []int64 { return seq(v, 0, n) }

// down returns n values decreasing by one from start.
func down(start int64, n int) []int64 { return seq(start, -1, n) }

// with returns s with s[i] = v.
func with(s []int64, i int, v int64) []int64 {
	s = append([]int64(nil), s...)
	s[i] = v
	return s
}

func TestWindowAdd(t *testing.T) {
	w := Window{Size: 3, MinDistance: time.Second}
	add := func(off, at int64) { w.Add(WindowEntry{Offset: off, Lag: 1, Time: ms(at)}) }
	add(1, 0)
	add(2, 999) // closer than 1 s: replaces
	if len(w.Entries) != 1 || w.Entries[0].Offset != 2 {
		t.Fatalf("replace: %+v", w.Entries)
	}
	add(3, 1999) // exactly 1 s later: appended
	add(4, 3000)
	if w.Full() != true || len(w.Entries) != 3 {
		t.Fatalf("fill: %+v", w.Entries)
	}
	add(5, 4000) // full: the oldest goes
	add(6, 4500) // replaces 5
	var got []int64
	for _, e := range w.Entries {
		got = append(got, e.Offset)
	}
	if len(got) != 3 || got[0] != 3 || got[1] != 4 || got[2] != 6 {
		t.Fatalf("entries %v, want [3 4 6]", got)
	}
}

func TestWindowDefaults(t *testing.T) {
	var w Window
	for i := range 12 {
		w.Add(WindowEntry{Offset: int64(i), Time: ms(int64(i) * 1000)})
	}
	if len(w.Entries) != DefaultWindowSize || w.Entries[0].Offset != 2 {
		t.Fatalf("default size: %d entries from %d", len(w.Entries), w.Entries[0].Offset)
	}
	w.Add(WindowEntry{Offset: 99, Time: ms(11999)})
	if len(w.Entries) != DefaultWindowSize || w.Entries[9].Offset != 99 {
		t.Fatalf("default min distance did not replace: %+v", w.Entries[9])
	}
}

func TestLag(t *testing.T) {
	for _, tc := range []struct{ committed, hw, want int64 }{
		{0, 0, 0}, {3, 10, 7}, {10, 10, 0}, {12, 10, 0},
	} {
		if got := Lag(tc.committed, tc.hw); got != tc.want {
			t.Errorf("Lag(%d, %d) = %d, want %d", tc.committed, tc.hw, got, tc.want)
		}
	}
}

func TestGroupStatus(t *testing.T) {
	for _, tc := range []struct {
		in   []Status
		want Status
	}{
		{nil, StatusOK},
		{[]Status{StatusOK, StatusOK}, StatusOK},
		{[]Status{StatusOK, StatusWarning, StatusOK}, StatusWarning},
		{[]Status{StatusWarning, StatusStop}, StatusError},
		{[]Status{StatusStall, StatusWarning}, StatusError},
		{[]Status{StatusOK, StatusRewind}, StatusError},
	} {
		if got := GroupStatus(tc.in); got != tc.want {
			t.Errorf("GroupStatus(%v) = %s, want %s", tc.in, got, tc.want)
		}
	}
}
