package engine

import (
	"slices"
	"testing"
	"time"
)

func TestMayJoinISR(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name                string
		leo, hw, epochStart int64
		want                bool
	}{
		{"caught up to the HW in this epoch", 10, 10, 4, true},
		{"past the HW", 12, 10, 4, true},
		{"below the HW", 9, 10, 4, false},
		{"at the HW but before the epoch's start", 6, 6, 8, false},
		{"at the epoch's start, HW below it", 8, 6, 8, true},
	}
	for _, tt := range tests {
		if got := mayJoinISR(tt.leo, tt.hw, tt.epochStart); got != tt.want {
			t.Errorf("%s: mayJoinISR(%d, %d, %d) = %v, want %v", tt.name, tt.leo, tt.hw, tt.epochStart, got, tt.want)
		}
	}
}

func TestOutOfSync(t *testing.T) {
	t.Parallel()
	now := time.Unix(1000, 0)
	lag := 30 * time.Second
	ago := func(d time.Duration) time.Time { return now.Add(-d) }
	tests := []struct {
		name      string
		followers map[int32]*followerState
		since     time.Time
		want      []int32
	}{
		{name: "all caught up", since: ago(time.Hour), want: []int32{1, 2, 3},
			followers: map[int32]*followerState{2: {leo: 100, lastCaughtUp: ago(time.Minute)}, 3: {leo: 100}}},
		{name: "behind but caught up recently", since: ago(time.Hour), want: []int32{1, 2, 3},
			followers: map[int32]*followerState{2: {leo: 90, lastCaughtUp: ago(10 * time.Second)}, 3: {leo: 100}}},
		{name: "behind for longer than the lag", since: ago(time.Hour), want: []int32{1, 3},
			followers: map[int32]*followerState{2: {leo: 90, lastCaughtUp: ago(31 * time.Second)}, 3: {leo: 100}}},
		{name: "never fetched since a recent election", since: ago(10 * time.Second), want: []int32{1, 2, 3},
			followers: map[int32]*followerState{3: {leo: 100}}},
		{name: "never fetched for longer than the lag", since: ago(time.Minute), want: []int32{1, 3},
			followers: map[int32]*followerState{3: {leo: 100}}},
		{name: "behind since before the election counts from the election", since: ago(5 * time.Second),
			want:      []int32{1, 2, 3},
			followers: map[int32]*followerState{2: {leo: 50, lastCaughtUp: ago(time.Hour)}, 3: {leo: 100}}},
	}
	for _, tt := range tests {
		got := outOfSync([]int32{1, 2, 3}, 1, 100, tt.followers, tt.since, lag, now)
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s: outOfSync = %v, want %v", tt.name, got, tt.want)
		}
	}
}
