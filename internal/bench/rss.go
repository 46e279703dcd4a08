package bench

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"
)

// RSSSummary is what the sampler saw of the broker's memory.
type RSSSummary struct {
	PID int `json:"pid"`
	// MaxBytes is the largest VmRSS sampled during the run.
	MaxBytes int64 `json:"max_bytes"`
	// LastBytes is the VmRSS at the end of the run.
	LastBytes int64 `json:"last_bytes"`
	// HWMBytes is VmHWM at the end: the process's peak since it started,
	// which may predate this run.
	HWMBytes int64 `json:"hwm_bytes"`
	Samples  int   `json:"samples"`
}

// rssSampler reads VmRSS of a process from /proc/PID/status.
type rssSampler struct {
	pid int

	mu      sync.Mutex // guards the fields below
	max     int64
	cur     int64
	hwm     int64
	samples int
}

// run samples every interval until ctx ends.
func (r *rssSampler) run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			_ = r.sample() // a process that exited keeps its last figures
		}
	}
}

// sample reads the process's status once.
func (r *rssSampler) sample() error {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", r.pid))
	if err != nil {
		return err
	}
	rss, ok := statusKB(b, "VmRSS:")
	if !ok {
		return fmt.Errorf("no VmRSS in /proc/%d/status", r.pid)
	}
	hwm, _ := statusKB(b, "VmHWM:")
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cur, r.hwm = rss, hwm
	r.max = max(r.max, rss)
	r.samples++
	return nil
}

func (r *rssSampler) last() int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.cur
}

func (r *rssSampler) summary() *RSSSummary {
	r.mu.Lock()
	defer r.mu.Unlock()
	return &RSSSummary{PID: r.pid, MaxBytes: r.max, LastBytes: r.cur, HWMBytes: r.hwm, Samples: r.samples}
}

// statusKB finds a "Name:   1234 kB" line and returns its value in bytes.
func statusKB(status []byte, name string) (int64, bool) {
	i := bytes.Index(status, []byte(name))
	if i < 0 {
		return 0, false
	}
	line := status[i+len(name):]
	if j := bytes.IndexByte(line, '\n'); j >= 0 {
		line = line[:j]
	}
	f := bytes.Fields(line)
	if len(f) == 0 {
		return 0, false
	}
	n, err := strconv.ParseInt(string(f[0]), 10, 64)
	if err != nil {
		return 0, false
	}
	return n * 1024, true
}
