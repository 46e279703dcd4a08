package main

import (
	"os"

	"github.com/bytedance/gopkg/util/gctuner"
)

// tuneGC lets a small live heap grow to threshold bytes between
// collections. A broker's live Go heap is small (a few MB: Pebble keeps its
// memtables and block cache outside it) while it allocates hundreds of MB/s
// for requests, so Go's default pacing (collect when the heap doubles)
// collects dozens of times a second: a fifth of each broker's CPU at RF=3.
// gctuner raises GOGC after each collection to reach threshold, up to 800,
// and never sets it below Go's 100, so a large live heap is paced as
// before and --memory-limit still caps it. threshold 0, or GOGC in the
// environment, leaves Go's pacing alone.
func tuneGC(threshold uint64) {
	if threshold == 0 || os.Getenv("GOGC") != "" {
		return
	}
	gctuner.SetMinGCPercent(100)
	gctuner.SetMaxGCPercent(800)
	gctuner.Tuning(threshold)
}
