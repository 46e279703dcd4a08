package bench

import (
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/fjord-streaming/fjord/storage"
)

// pebbleOptions are the flags of `fjord bench pebble`.
type pebbleOptions struct {
	common
	Dir         string `json:"dir,omitempty"`
	Records     int64  `json:"records"`
	RecordSize  int    `json:"record_size"`
	Batch       int    `json:"batch"`
	Concurrency int    `json:"concurrency"`
}

// runPebble measures raw Pebble synced appends of record-batch-sized
// values: what the broker's durable produce path would cost with no HTTP,
// JSON or engine around it.
func runPebble(ctx context.Context, fs *flag.FlagSet, args []string, stdout, stderr io.Writer) error {
	var o pebbleOptions
	o.common.register(fs, false)
	fs.StringVar(&o.Dir, "dir", "", "database directory (default: a temporary one, removed afterwards); put it on the broker's disk")
	fs.Int64Var(&o.Records, "records", 1_000_000, "records to append, rounded up to whole batches (0 with --duration: no limit)")
	fs.IntVar(&o.RecordSize, "record-size", 100, "value size in bytes")
	fs.IntVar(&o.Batch, "batch", 1000, "records per append (one Pebble batch, one key)")
	fs.IntVar(&o.Concurrency, "concurrency", 4, "concurrent appenders (Pebble shares WAL syncs among them)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if o.Duration > 0 && !isSet(fs, "records") {
		o.Records = 0
	}
	if o.Batch < 1 || o.Concurrency < 1 || o.RecordSize < 1 || o.Records < 0 || (o.Records == 0 && o.Duration <= 0) {
		return errors.New("bench: pebble needs positive --batch, --concurrency, --record-size and --records or --duration")
	}
	dir := o.Dir
	if dir == "" {
		tmp, err := os.MkdirTemp("", "fjord-bench-pebble-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	}
	a, err := openAppender(dir, o.Batch, o.RecordSize)
	if err != nil {
		return err
	}
	defer a.close()
	s := &Summary{Command: "pebble", Params: &o}
	return o.measure(ctx, s, stdout, stderr, func(ctx context.Context, rec *Recorder) error {
		var wg sync.WaitGroup
		errs := make(chan error, o.Concurrency)
		for range o.Concurrency {
			wg.Go(func() {
				for ctx.Err() == nil {
					base := a.next.Add(int64(o.Batch)) - int64(o.Batch)
					if o.Records > 0 && base >= o.Records {
						return
					}
					start := time.Now()
					if err := a.append(base); err != nil {
						errs <- err
						return
					}
					rec.Request(time.Since(start), int64(o.Batch), int64(o.Batch*o.RecordSize), int64(len(a.value)))
				}
			})
		}
		wg.Wait()
		close(errs)
		return <-errs
	})
}

// appender appends batch-sized values under log-like keys of one partition
// with pebble.Sync, in a Pebble opened by storage.Open (so with the broker's
// options) but written directly, without the broker's log format.
type appender struct {
	store *storage.DB
	value []byte
	batch int
	next  atomic.Int64 // next base offset to claim
}

// The value is as large as the broker's batch would be: the storage batch
// header plus about recordFraming bytes per record; keys are log keys.
const (
	batchHeader     = 37
	recordFraming   = 6
	benchTopicBytes = 8 + 4 + 8
)

func openAppender(dir string, batch, recordSize int) (*appender, error) {
	store, err := storage.Open(dir, storage.Options{})
	if err != nil {
		return nil, fmt.Errorf("bench: pebble open %s: %w", dir, err)
	}
	v := make([]byte, batchHeader+batch*(recordSize+recordFraming))
	rng := rand.New(rand.NewPCG(7, 7))
	for i := range v {
		v[i] = letters[rng.IntN(len(letters))]
	}
	return &appender{store: store, value: v, batch: batch}, nil
}

// append writes the batch at base and waits for its WAL sync.
func (a *appender) append(base int64) error {
	key := make([]byte, 1, 1+benchTopicBytes)
	key[0] = 'l'
	key = binary.BigEndian.AppendUint64(key, 1)
	key = binary.BigEndian.AppendUint32(key, 0)
	key = binary.BigEndian.AppendUint64(key, uint64(base))
	b := a.store.Pebble().NewBatch()
	defer b.Close()
	if err := b.Set(key, a.value, nil); err != nil {
		return err
	}
	if err := b.Commit(pebble.Sync); err != nil {
		return fmt.Errorf("bench: pebble append: %w", err)
	}
	return nil
}

func (a *appender) close() error { return a.store.Close() }
