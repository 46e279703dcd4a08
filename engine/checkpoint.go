package engine

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/fjord-streaming/fjord/storage"
)

// checkpointInterval is how often the engine records every partition's HW
// (Kafka's replica.high.watermark.checkpoint.interval.ms).
const checkpointInterval = 5 * time.Second

// checkpointKey is the broker metadata key of the HW checkpoint.
const checkpointKey = "hw_checkpoint"

// hwCheckpoint is the HW of every partition as last recorded. A recorded HW
// was true when it was written, so starting a replica from it never exposes
// a record the ISR did not have; the leader's HW then moves forward from
// there as its followers fetch.
type hwCheckpoint struct {
	present bool
	hw      map[string]int64
}

func loadCheckpoint(db *storage.DB) (hwCheckpoint, error) {
	v, err := db.GetMeta(checkpointKey)
	if err != nil || v == nil {
		return hwCheckpoint{}, err
	}
	c := hwCheckpoint{present: true}
	if err := json.Unmarshal(v, &c.hw); err != nil {
		return hwCheckpoint{}, fmt.Errorf("%w: %s: %v", storage.ErrCorrupt, checkpointKey, err)
	}
	return c, nil
}

// at is the HW partition id starts with after a restart: the recorded one
// within the log, the log start for a partition made since, and the log end
// when nothing was ever recorded (a broker that has not run since
// replication existed: one broker, whose log is all committed).
func (c hwCheckpoint) at(id storage.PartitionID, rec storage.Recovered) int64 {
	if !c.present {
		return rec.Tail.EndOffset
	}
	hw, ok := c.hw[id.String()]
	if !ok {
		return rec.State.LogStart
	}
	return min(max(hw, rec.State.LogStart), rec.Tail.EndOffset)
}

// saveCheckpoint records every partition's HW.
func (e *Engine) saveCheckpoint() {
	hw := map[string]int64{}
	for _, t := range e.topicList() {
		for _, p := range t.Partitions() {
			hw[p.id.String()] = p.LocalOffsets().HighWatermark
		}
	}
	b, err := json.Marshal(hw)
	if err == nil {
		err = e.db.PutMeta(checkpointKey, b)
	}
	if err != nil {
		e.cfg.Logger.Warn("recording high watermarks", "err", err)
	}
}
