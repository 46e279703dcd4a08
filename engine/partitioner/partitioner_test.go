package partitioner

import (
	"strconv"
	"sync"
	"testing"
)

// Vectors from Kafka's own clients/src/test/java/org/apache/kafka/common/utils/UtilsTest.java
// (testMurmur2), and from librdkafka's src/rdmurmur2.c unit test, whose
// java_murmur2_results were produced by the Java client. The librdkafka
// vectors add the empty key and every tail length.
func TestMurmur2KafkaVectors(t *testing.T) {
	tests := []struct {
		source string
		key    string
		want   int32
	}{
		{"kafka UtilsTest", "21", -973932308},
		{"kafka UtilsTest", "foobar", -790332482},
		{"kafka UtilsTest", "a-little-bit-long-string", -985981536},
		{"kafka UtilsTest", "a-little-bit-longer-string", -1486304829},
		{"kafka UtilsTest", "lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971},
		{"kafka UtilsTest", "abc", 479470107},
		{"librdkafka", "kafka", -798503068},                                  // 0xd067cf64
		{"librdkafka", "giberish123456789", -1890243828},                     // 0x8f552b0c
		{"librdkafka", "1234", -1614185708},                                  // 0x9fc97b14
		{"librdkafka", "234", -406844982},                                    // 0xe7c009ca
		{"librdkafka", "34", -2026295078},                                    // 0x873930da
		{"librdkafka", "4", 1514888353},                                      // 0x5a4b5ca1
		{"librdkafka", "PreAmbleWillBeRemoved,ThePrePartThatIs", 2017611548}, // 0x78424f1c
		{"librdkafka", "reAmbleWillBeRemoved,ThePrePartThatIs", 1247982455},  // 0x4a62b377
		{"librdkafka", "eAmbleWillBeRemoved,ThePrePartThatIs", -521871202},   // 0xe0e4e09e
		{"librdkafka", "AmbleWillBeRemoved,ThePrePartThatIs", 1656271935},    // 0x62b8b43f
		{"librdkafka", "", 275646681},                                        // 0x106e08d9
	}
	for _, tt := range tests {
		t.Run(tt.source+"/"+tt.key, func(t *testing.T) {
			if got := Murmur2([]byte(tt.key)); got != tt.want {
				t.Errorf("Murmur2(%q) = %d (%#x), want %d (%#x)", tt.key, got, uint32(got), tt.want, uint32(tt.want))
			}
		})
	}
}

func TestMurmur2NilEqualsEmpty(t *testing.T) {
	if a, b := Murmur2(nil), Murmur2([]byte{}); a != b {
		t.Errorf("Murmur2(nil) = %d, Murmur2(empty) = %d", a, b)
	}
}

func TestToPositive(t *testing.T) {
	tests := []struct{ in, want int32 }{
		{0, 0},
		{1, 1},
		{-1, 0x7fffffff},
		{-2147483648, 0},
		{2147483647, 2147483647},
		{-973932308, -973932308 & 0x7fffffff},
	}
	for _, tt := range tests {
		if got := ToPositive(tt.in); got != tt.want {
			t.Errorf("ToPositive(%d) = %d, want %d", tt.in, got, tt.want)
		}
	}
}

// The partitions Kafka's BuiltInPartitioner.partitionForKey (before 3.3,
// DefaultPartitioner) picks for these keys, derived from the vectors above:
// toPositive(murmur2(key)) % partitions.
func TestForKey(t *testing.T) {
	tests := []struct {
		key        string
		partitions int32
		want       int32
	}{
		{"21", 1, 0},
		{"21", 3, (-973932308 & 0x7fffffff) % 3},
		{"foobar", 6, (-790332482 & 0x7fffffff) % 6},
		{"abc", 10, 479470107 % 10},
		{"kafka", 12, (-798503068 & 0x7fffffff) % 12},
		{"", 7, 275646681 % 7},
		{"a-little-bit-longer-string", 100, (-1486304829 & 0x7fffffff) % 100},
		// Third-party checks of the Java client (partitionForKey with 10 partitions).
		{"a", 10, 4},
		{"b", 10, 6},
		{"c", 10, 4},
		{"d", 10, 3},
		{"e", 10, 4},
	}
	for _, tt := range tests {
		if got := ForKey([]byte(tt.key), tt.partitions); got != tt.want {
			t.Errorf("ForKey(%q, %d) = %d, want %d", tt.key, tt.partitions, got, tt.want)
		}
	}
}

func TestForKeyPanicsOnNoPartitions(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("ForKey with 0 partitions did not panic")
		}
	}()
	ForKey([]byte("k"), 0)
}

func TestStickyRotates(t *testing.T) {
	var s Sticky // zero value starts at partition 0
	for i := int32(0); i < 10; i++ {
		if got := s.Next(4); got != i%4 {
			t.Fatalf("call %d: Next(4) = %d, want %d", i, got, i%4)
		}
	}
}

func TestStickyIsEvenAcrossGoroutines(t *testing.T) {
	const (
		partitions = 5
		goroutines = 8
		perG       = 1000
	)
	s := NewSticky()
	var mu sync.Mutex
	counts := make([]int, partitions)
	var wg sync.WaitGroup
	for range goroutines {
		wg.Go(func() {
			local := make([]int, partitions)
			for range perG {
				p := s.Next(partitions)
				if p < 0 || p >= partitions {
					t.Errorf("Next(%d) = %d, out of range", partitions, p)
					return
				}
				local[p]++
			}
			mu.Lock()
			for i, n := range local {
				counts[i] += n
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	// goroutines*perG calls taken from one counter spread exactly evenly.
	for p, n := range counts {
		if n != goroutines*perG/partitions {
			t.Errorf("partition %d got %d requests, want %d (counts %v)", p, n, goroutines*perG/partitions, counts)
		}
	}
}

func TestStickyStartsAtRandomPartition(t *testing.T) {
	seen := make(map[int32]bool)
	for range 200 {
		seen[NewSticky().Next(1000)] = true
	}
	// 200 draws from 1000 partitions; all equal would mean no randomness.
	if len(seen) < 2 {
		t.Errorf("NewSticky always starts at the same partition: %v", seen)
	}
}

func TestStickyHandlesCountChange(t *testing.T) {
	var s Sticky
	for _, n := range []int32{3, 1, 7, 2, 2} {
		if got := s.Next(n); got < 0 || got >= n {
			t.Errorf("Next(%d) = %d, out of range", n, got)
		}
	}
}

func BenchmarkMurmur2(b *testing.B) {
	for _, size := range []int{8, 36, 256} {
		key := make([]byte, size)
		for i := range key {
			key[i] = byte(i)
		}
		b.Run(strconv.Itoa(size), func(b *testing.B) {
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				Murmur2(key)
			}
		})
	}
}
