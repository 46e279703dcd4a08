package metadata

import (
	"fmt"
	"reflect"
	"slices"
	"testing"
)

// TestAssignReplicasKafkaExample checks the example in Kafka's
// AdminUtils doc comment: 5 brokers, 10 partitions, 3 replicas, start 0.
func TestAssignReplicasKafkaExample(t *testing.T) {
	got, err := AssignReplicas([]int32{0, 1, 2, 3, 4}, 10, 3, 0, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := [][]int32{
		{0, 1, 2}, {1, 2, 3}, {2, 3, 4}, {3, 4, 0}, {4, 0, 1},
		{0, 2, 3}, {1, 3, 4}, {2, 4, 0}, {3, 0, 1}, {4, 1, 2},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v\nwant %v", got, want)
	}
}

// TestAssignReplicasEven places 1000 partitions on 3 and 5 brokers at
// every start and shift: leaders and replicas spread within one of each
// other, every partition's replicas are distinct, and the result is a
// function of the arguments.
func TestAssignReplicasEven(t *testing.T) {
	for _, brokers := range [][]int32{{1, 2, 3}, {10, 20, 30, 40, 50}} {
		for rf := 1; rf <= 3; rf++ {
			for start := range len(brokers) {
				for shift := range len(brokers) {
					name := fmt.Sprintf("n=%d/rf=%d/start=%d/shift=%d", len(brokers), rf, start, shift)
					t.Run(name, func(t *testing.T) {
						got, err := AssignReplicas(brokers, 1000, rf, 0, start, shift)
						if err != nil {
							t.Fatal(err)
						}
						checkEven(t, brokers, got, rf)
						reversed := slices.Clone(brokers)
						slices.Reverse(reversed)
						again, _ := AssignReplicas(reversed, 1000, rf, 0, start, shift)
						if !reflect.DeepEqual(got, again) {
							t.Fatal("same arguments (brokers reordered) placed differently")
						}
					})
				}
			}
		}
	}
}

func checkEven(t *testing.T, brokers []int32, got [][]int32, rf int) {
	t.Helper()
	if len(got) != 1000 {
		t.Fatalf("%d partitions", len(got))
	}
	leaders, replicas := map[int32]int{}, map[int32]int{}
	for p, r := range got {
		if len(r) != rf {
			t.Fatalf("partition %d: %d replicas", p, len(r))
		}
		if len(slices.Compact(slices.Sorted(slices.Values(r)))) != rf {
			t.Fatalf("partition %d: replicas %v repeat", p, r)
		}
		leaders[r[0]]++
		for _, b := range r {
			if !slices.Contains(brokers, b) {
				t.Fatalf("partition %d: unknown broker %d", p, b)
			}
			replicas[b]++
		}
	}
	within1(t, "leaders", brokers, leaders)
	within1(t, "replicas", brokers, replicas)
}

func within1(t *testing.T, what string, brokers []int32, counts map[int32]int) {
	t.Helper()
	lo, hi := counts[brokers[0]], counts[brokers[0]]
	for _, b := range brokers {
		lo, hi = min(lo, counts[b]), max(hi, counts[b])
	}
	if hi-lo > 1 {
		t.Fatalf("%s per broker %v: spread %d", what, counts, hi-lo)
	}
}

// TestAssignReplicasContinues checks that added partitions continue the
// leaders' round robin from the topic's partition count.
func TestAssignReplicasContinues(t *testing.T) {
	brokers := []int32{1, 2, 3, 4}
	all, _ := AssignReplicas(brokers, 10, 2, 0, 3, 1)
	head, _ := AssignReplicas(brokers, 6, 2, 0, 3, 1)
	tail, err := AssignReplicas(brokers, 4, 2, 6, 3, 1)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(head, all[:6]) {
		t.Fatalf("head %v, want %v", head, all[:6])
	}
	for i, r := range tail {
		if r[0] != all[6+i][0] {
			t.Fatalf("added partition %d led by %d, want %d", 6+i, r[0], all[6+i][0])
		}
	}
}

func TestAssignReplicasErrors(t *testing.T) {
	for _, c := range []struct {
		name                                 string
		brokers                              []int32
		partitions, rf, startP, start, shift int
	}{
		{"rf 0", []int32{1, 2}, 1, 0, 0, 0, 0},
		{"rf above brokers", []int32{1, 2}, 1, 3, 0, 0, 0},
		{"no brokers", nil, 1, 1, 0, 0, 0},
		{"negative partitions", []int32{1}, -1, 1, 0, 0, 0},
		{"negative start partition", []int32{1}, 1, 1, -1, 0, 0},
		{"negative start", []int32{1}, 1, 1, 0, -1, 0},
		{"negative shift", []int32{1}, 1, 1, 0, 0, -1},
		{"repeated broker", []int32{1, 1}, 1, 2, 0, 0, 0},
		{"beyond int32", []int32{1}, 2, 1, 1<<31 - 2, 0, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			if _, err := AssignReplicas(c.brokers, c.partitions, c.rf, c.startP, c.start, c.shift); err == nil {
				t.Fatal("no error")
			}
		})
	}
	// Huge start and shift values are taken modulo the broker count.
	a, err := AssignReplicas([]int32{1, 2, 3}, 3, 2, 0, 1<<62+1, 1<<62)
	b, _ := AssignReplicas([]int32{1, 2, 3}, 3, 2, 0, (1<<62+1)%3, (1<<62)%2)
	if err != nil || !reflect.DeepEqual(a, b) {
		t.Fatalf("large start/shift: %v %v %v", a, b, err)
	}
	if got, err := AssignReplicas([]int32{7}, 0, 1, 0, 0, 0); err != nil || len(got) != 0 {
		t.Fatalf("zero partitions: %v %v", got, err)
	}
}
