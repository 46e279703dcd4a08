package metadata

import (
	"reflect"
	"testing"
	"time"
)

func TestVoters(t *testing.T) {
	for _, c := range []struct {
		ids  []int32
		max  int
		want []int32
	}{
		{[]int32{3, 1, 2}, 5, []int32{1, 2, 3}},
		{[]int32{7, 3, 9, 1, 5, 2, 8}, 5, []int32{1, 2, 3, 5, 7}},
		{[]int32{4, 4, 2, 2}, 5, []int32{2, 4}},
		{[]int32{4, 2, 6}, 1, []int32{2}},
		{nil, 5, []int32{}},
		{[]int32{1, 2}, 0, nil},
	} {
		in := append([]int32(nil), c.ids...)
		got := Voters(in, c.max)
		if len(got) != len(c.want) || (len(got) > 0 && !reflect.DeepEqual(got, c.want)) {
			t.Errorf("Voters(%v, %d) = %v, want %v", c.ids, c.max, got, c.want)
		}
		if !reflect.DeepEqual(in, c.ids) {
			t.Errorf("Voters changed its input: %v", in)
		}
	}
}

func TestPreferredController(t *testing.T) {
	const settle = 3 * time.Second
	alive := func(id int32, d time.Duration) VoterView { return VoterView{ID: id, Alive: true, AliveFor: d} }
	for _, c := range []struct {
		name     string
		current  int32
		voters   []VoterView
		target   int32
		transfer bool
	}{
		{"already lowest", 1, []VoterView{alive(1, time.Hour), alive(2, time.Hour), alive(3, time.Hour)}, 1, false},
		{"lower settled voter", 3, []VoterView{alive(1, time.Hour), alive(2, time.Hour), alive(3, time.Hour)}, 1, true},
		{"lowest settled, unsorted", 5, []VoterView{alive(4, time.Hour), alive(2, time.Hour), alive(3, time.Hour)}, 2, true},
		{"exactly settled", 2, []VoterView{alive(1, settle), alive(2, time.Hour)}, 1, true},
		{"not settled yet", 2, []VoterView{alive(1, settle-time.Millisecond), alive(2, time.Hour)}, 2, false},
		{"lower dead", 3, []VoterView{{ID: 1, AliveFor: time.Hour}, alive(3, time.Hour)}, 3, false},
		{"skips unsettled lowest", 3, []VoterView{alive(1, time.Second), alive(2, time.Hour), alive(3, time.Hour)}, 2, true},
		{"only higher", 1, []VoterView{alive(2, time.Hour), alive(3, time.Hour)}, 1, false},
		{"no voters", 2, nil, 2, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			target, transfer := PreferredController(c.current, c.voters, settle)
			if target != c.target || transfer != c.transfer {
				t.Fatalf("got (%d, %t), want (%d, %t)", target, transfer, c.target, c.transfer)
			}
		})
	}
}
