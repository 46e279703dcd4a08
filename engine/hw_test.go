package engine

import "testing"

func TestHighWatermark(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		cur, leo  int64
		isr       []int32
		followers map[int32]int64
		want      int64
	}{
		{name: "leader alone follows its log end", cur: 3, leo: 10, isr: []int32{1}, want: 10},
		{name: "smallest follower bounds it", cur: 3, leo: 10, isr: []int32{1, 2, 3},
			followers: map[int32]int64{2: 7, 3: 9}, want: 7},
		{name: "all caught up", cur: 3, leo: 10, isr: []int32{3, 1, 2},
			followers: map[int32]int64{2: 10, 3: 10}, want: 10},
		{name: "never backwards", cur: 8, leo: 10, isr: []int32{1, 2},
			followers: map[int32]int64{2: 5}, want: 8},
		{name: "an unknown member holds it", cur: 4, leo: 10, isr: []int32{1, 2, 3},
			followers: map[int32]int64{2: 10}, want: 4},
		{name: "a follower outside the ISR does not count", cur: 0, leo: 10, isr: []int32{1, 2},
			followers: map[int32]int64{2: 9, 3: 1}, want: 9},
		{name: "shrink in flight: the removed member still counts", cur: 2, leo: 10, isr: []int32{1, 2, 3},
			followers: map[int32]int64{2: 10, 3: 2}, want: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := highWatermark(tt.cur, 1, tt.leo, tt.isr, func(id int32) (int64, bool) {
				v, ok := tt.followers[id]
				return v, ok
			})
			if got != tt.want {
				t.Errorf("highWatermark = %d, want %d", got, tt.want)
			}
		})
	}
}
