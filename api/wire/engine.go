package wire

import "github.com/fjord-streaming/fjord/engine"

// ToEngine converts decoded produce records into the engine's form: a
// missing partition lets the partitioner choose, a missing timestamp takes
// the broker's clock.
func ToEngine(in []ProduceRecord) []engine.ProduceRecord {
	out := make([]engine.ProduceRecord, len(in))
	for i := range in {
		out[i] = engine.ProduceRecord{Partition: in[i].Partition, Record: in[i].Record}
		out[i].Timestamp = in[i].Timestamp
		if in[i].Timestamp == NoTimestamp {
			out[i].Timestamp = -1
		}
	}
	return out
}
