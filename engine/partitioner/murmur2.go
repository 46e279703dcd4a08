package partitioner

// Murmur2 returns the 32-bit MurmurHash2 of data as computed by Kafka's
// org.apache.kafka.common.utils.Utils.murmur2: seed 0x9747b28c, little-endian
// 4-byte blocks, and the trailing 1 to 3 bytes mixed in before the final
// avalanche. The result is the same signed int that Java returns.
func Murmur2(data []byte) int32 {
	const (
		seed = 0x9747b28c
		m    = 0x5bd1e995
		r    = 24
	)
	length := len(data)
	h := uint32(seed) ^ uint32(length)

	blocks := length &^ 3
	for i := 0; i < blocks; i += 4 {
		k := uint32(data[i]) | uint32(data[i+1])<<8 | uint32(data[i+2])<<16 | uint32(data[i+3])<<24
		k *= m
		k ^= k >> r
		k *= m
		h *= m
		h ^= k
	}

	// The tail falls through from three bytes to one, as the Java switch does.
	switch length & 3 {
	case 3:
		h ^= uint32(data[blocks+2]) << 16
		fallthrough
	case 2:
		h ^= uint32(data[blocks+1]) << 8
		fallthrough
	case 1:
		h ^= uint32(data[blocks])
		h *= m
	}

	h ^= h >> 13
	h *= m
	h ^= h >> 15
	return int32(h)
}

// ToPositive clears the sign bit of n, as Kafka's Utils.toPositive does. It is
// not the absolute value: ToPositive(-1) is 2147483647.
func ToPositive(n int32) int32 {
	return n & 0x7fffffff
}

// ForKey returns the partition, in [0, partitions), of a record whose key is
// key: ToPositive(Murmur2(key)) % partitions, the partition Kafka's Java
// producer picks for the same key bytes. An empty key is a key like any other.
//
// ForKey panics if partitions is not positive; a topic always has at least one
// partition.
func ForKey(key []byte, partitions int32) int32 {
	if partitions <= 0 {
		panic("partitioner: partition count must be positive")
	}
	return ToPositive(Murmur2(key)) % partitions
}
