package storage_test

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/fjord-streaming/fjord/storage"
)

// memDB is a database on an in-memory file system that a test can close and
// reopen; whatever is open at test end is closed.
type memDB struct {
	*storage.DB
	t  testing.TB
	fs vfs.FS
}

func openMem(t testing.TB, fs vfs.FS) *memDB {
	t.Helper()
	m := &memDB{t: t, fs: fs}
	m.open()
	t.Cleanup(func() {
		if m.DB != nil {
			_ = m.DB.Close()
		}
	})
	return m
}

func (m *memDB) open() {
	m.t.Helper()
	db, err := storage.Open("db", storage.Options{FS: m.fs, CacheBytes: 1 << 20, MemTableBytes: 1 << 20})
	if err != nil {
		m.t.Fatal(err)
	}
	m.DB = db
}

func (m *memDB) close() {
	m.t.Helper()
	if err := m.DB.Close(); err != nil {
		m.t.Fatal(err)
	}
	m.DB = nil
}

func (m *memDB) reopen() {
	m.t.Helper()
	m.close()
	m.open()
}

// appender appends batches to one partition the way the engine does, and
// keeps its own count of what the tail must be.
type appender struct {
	t     testing.TB
	db    *storage.DB
	id    storage.PartitionID
	tail  storage.Tail
	leo   int64 // expected tail
	bytes int64
	max   int64
	sizes []int64 // encoded size of each batch, in order
}

func newAppender(t testing.TB, db *storage.DB, id storage.PartitionID) *appender {
	return &appender{t: t, db: db, id: id, tail: storage.Tail{MaxTime: -1}, max: -1}
}

// add appends one batch per element of timestamps, each batch holding one
// record per timestamp, in one storage write. It returns the batches' bases.
func (a *appender) add(batches ...[]int64) []int64 {
	a.t.Helper()
	var bases []int64
	var encoded [][]byte
	for _, tss := range batches {
		recs := make([]storage.Record, len(tss))
		for i, ts := range tss {
			recs[i] = rec(ts, storage.FormatText, fmt.Sprintf("k%d", a.leo+int64(i)),
				storage.FormatJSON, fmt.Sprintf(`{"offset":%d}`, a.leo+int64(i)))
			a.max = max(a.max, ts)
		}
		b := storage.AppendBatch(nil, a.leo, 0, recs)
		encoded = append(encoded, b)
		a.bytes += int64(len(b))
		a.sizes = append(a.sizes, int64(len(b)))
		bases = append(bases, a.leo)
		a.leo += int64(len(tss))
	}
	tail, err := a.db.Append(a.id, a.tail, encoded, true)
	if err != nil {
		a.t.Fatal(err)
	}
	if want := (storage.Tail{EndOffset: a.leo, Bytes: a.bytes, MaxTime: a.max}); tail != want {
		a.t.Fatalf("Append returned tail %+v, want %+v", tail, want)
	}
	a.tail = tail
	return bases
}

// sumSizes is the encoded size of batches [from, to) in append order.
func (a *appender) sumSizes(from, to int) int64 {
	var n int64
	for _, s := range a.sizes[from:to] {
		n += s
	}
	return n
}

// readAll returns every record of the partition at or after from.
func readAll(t testing.TB, db *storage.DB, id storage.PartitionID, logStart, from int64) []storage.Record {
	t.Helper()
	it, err := db.ReadLog(id, logStart, from)
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	var out []storage.Record
	for it.Next() {
		b := append([]byte(nil), it.Batch()...)
		var recs []storage.Record
		if _, recs, err = storage.DecodeBatch(nil, b); err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			if r.Offset >= from {
				out = append(out, r)
			}
		}
	}
	if err := it.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func offsetsOf(recs []storage.Record) []int64 {
	var out []int64
	for _, r := range recs {
		out = append(out, r.Offset)
	}
	return out
}

func equalInts(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func span(from, to int64) []int64 {
	var out []int64
	for i := from; i < to; i++ {
		out = append(out, i)
	}
	return out
}

func TestAppendAndReadLog(t *testing.T) {
	db := openMem(t, vfs.NewMem())
	id := storage.PartitionID{TopicID: 7, Partition: 2}
	a := newAppender(t, db.DB, id)
	a.add([]int64{10, 11, 12})
	a.add([]int64{20}, []int64{21, 22})
	a.add([]int64{30, 31, 32, 33})
	// Neighbours that sort right before and after the partition must not leak in.
	for _, other := range []storage.PartitionID{{TopicID: 7, Partition: 1}, {TopicID: 7, Partition: 3}, {TopicID: 6, Partition: 2}, {TopicID: 8, Partition: 0}} {
		newAppender(t, db.DB, other).add([]int64{1, 2})
	}
	for from := int64(0); from < a.leo; from++ {
		got := readAll(t, db.DB, id, 0, from)
		if !equalInts(offsetsOf(got), span(from, a.leo)) {
			t.Fatalf("read from %d: offsets %v", from, offsetsOf(got))
		}
		for _, r := range got {
			if want := fmt.Sprintf(`{"offset":%d}`, r.Offset); string(r.Value) != want {
				t.Fatalf("offset %d holds %s", r.Offset, r.Value)
			}
		}
	}
	// A read starting below the log start begins at the log start.
	if got := readAll(t, db.DB, id, 3, 0); !equalInts(offsetsOf(got), span(3, a.leo)) {
		t.Fatalf("read below log start: %v", offsetsOf(got))
	}
}

func TestReadLogExtremeIDs(t *testing.T) {
	db := openMem(t, vfs.NewMem())
	ids := []storage.PartitionID{
		{TopicID: ^uint64(0), Partition: ^uint32(0)},
		{TopicID: ^uint64(0), Partition: 0},
		{TopicID: 0, Partition: ^uint32(0)},
		{TopicID: 0, Partition: 0},
	}
	for i, id := range ids {
		a := newAppender(t, db.DB, id)
		for range i + 1 {
			a.add([]int64{int64(i)})
		}
	}
	for i, id := range ids {
		if got := readAll(t, db.DB, id, 0, 0); len(got) != i+1 {
			t.Fatalf("%v: %d records, want %d", id, len(got), i+1)
		}
		rec, err := db.LoadPartition(id)
		if err != nil || rec.Tail.EndOffset != int64(i+1) {
			t.Fatalf("%v: recovered %+v, %v", id, rec, err)
		}
	}
}

func TestLoadPartition(t *testing.T) {
	fs := vfs.NewMem()
	db := openMem(t, fs)
	id := storage.PartitionID{TopicID: 1, Partition: 0}
	fresh, err := db.LoadPartition(id)
	if err != nil {
		t.Fatal(err)
	}
	if fresh != emptyRecovered {
		t.Fatalf("fresh partition %+v, want %+v", fresh, emptyRecovered)
	}
	a := newAppender(t, db.DB, id)
	a.add([]int64{100, 50}, []int64{300})
	a.add([]int64{200})
	if err := db.PutLeaderEpoch(id, 0, 0); err != nil {
		t.Fatal(err)
	}
	if err := db.PutLeaderEpoch(id, 4, 3); err != nil {
		t.Fatal(err)
	}
	want := storage.Recovered{State: storage.PartitionState{MaxTimeBefore: -1},
		Tail: storage.Tail{EndOffset: 4, Bytes: a.bytes, MaxTime: 300}, LeaderEpoch: 4}
	check := func(what string) {
		t.Helper()
		got, err := db.LoadPartition(id)
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Fatalf("%s: recovered %+v, want %+v", what, got, want)
		}
	}
	check("open")
	db.reopen()
	check("after reopen")
	if got := readAll(t, db.DB, id, 0, 0); !equalInts(offsetsOf(got), span(0, 4)) {
		t.Fatalf("after reopen: offsets %v", offsetsOf(got))
	}
}

func TestSyncedAppendSurvivesCrash(t *testing.T) {
	fs := vfs.NewCrashableMem()
	db := openMem(t, fs)
	id := storage.PartitionID{TopicID: 9, Partition: 1}
	a := newAppender(t, db.DB, id)
	for i := range 50 {
		a.add([]int64{int64(i)}, []int64{int64(i), int64(i)})
	}
	// The crash clone holds exactly what was synced.
	crashed := fs.CrashClone(vfs.CrashCloneCfg{})
	db2 := openMem(t, crashed)
	got, err := db2.LoadPartition(id)
	if err != nil {
		t.Fatal(err)
	}
	if got.Tail != (storage.Tail{EndOffset: a.leo, Bytes: a.bytes, MaxTime: 49}) || got.RetainedBytes() != a.bytes {
		t.Fatalf("after crash: %+v, want end %d bytes %d", got, a.leo, a.bytes)
	}
	if recs := readAll(t, db2.DB, id, 0, 0); !equalInts(offsetsOf(recs), span(0, a.leo)) {
		t.Fatalf("after crash: offsets %v", offsetsOf(recs))
	}
}

func TestFindTime(t *testing.T) {
	db := openMem(t, vfs.NewMem())
	id := storage.PartitionID{TopicID: 3, Partition: 0}
	a := newAppender(t, db.DB, id)
	a.add([]int64{100, 90})          // base 0, running max 100
	a.add([]int64{80}, []int64{250}) // bases 2 (max stays 100) and 3 (250)
	a.add([]int64{400, 10})          // base 4
	tests := []struct {
		ts    int64
		base  int64
		found bool
	}{
		{-5, 0, true}, {0, 0, true}, {100, 0, true}, {101, 3, true}, {250, 3, true},
		{251, 4, true}, {400, 4, true}, {401, 0, false}, {1 << 62, 0, false},
	}
	for _, tt := range tests {
		base, found, err := db.FindTime(id, tt.ts)
		if err != nil || found != tt.found || (found && base != tt.base) {
			t.Errorf("FindTime(%d) = %d, %v, %v; want %d, %v", tt.ts, base, found, err, tt.base, tt.found)
		}
	}
	if _, found, err := db.FindTime(storage.PartitionID{TopicID: 3, Partition: 1}, 0); found || err != nil {
		t.Fatalf("empty partition: found %v, %v", found, err)
	}
}

// TestFindTimeMatchesScan checks the binary search against a linear scan on
// logs of many batches of different sizes, with timestamps that go back and
// forth, before and after a head truncation.
func TestFindTimeMatchesScan(t *testing.T) {
	db := openMem(t, vfs.NewMem())
	rng := rand.New(rand.NewPCG(3, 4))
	for part, nBatches := range []int{1, 2, 3, 17, 300} {
		id := storage.PartitionID{TopicID: 4, Partition: uint32(part)}
		a := newAppender(t, db.DB, id)
		var bases, maxes []int64 // per batch: base and running max
		for range nBatches {
			tss := make([]int64, 1+rng.IntN(4))
			for i := range tss {
				tss[i] = 1000 + int64(len(bases))*10 + rng.Int64N(60) - 30
			}
			bases = append(bases, a.add(tss)...)
			maxes = append(maxes, a.max)
		}
		check := func(first int) {
			t.Helper()
			for ts := int64(900); ts < 1000+int64(nBatches)*10+40; ts++ {
				want := -1
				for i := first; i < len(bases); i++ {
					if maxes[i] >= ts {
						want = i
						break
					}
				}
				base, found, err := db.FindTime(id, ts)
				if err != nil || found != (want >= 0) || (found && base != bases[want]) {
					t.Fatalf("%d batches from %d: FindTime(%d) = %d, %v, %v; want batch %d", nBatches, first, ts, base, found, err, want)
				}
			}
		}
		check(0)
		if nBatches > 1 {
			cut := nBatches / 2
			if _, err := db.TruncateHead(id, bases[cut]); err != nil {
				t.Fatal(err)
			}
			check(cut)
		}
	}
}

func TestTruncateHead(t *testing.T) {
	fs := vfs.NewMem()
	db := openMem(t, fs)
	id := storage.PartitionID{TopicID: 5, Partition: 0}
	a := newAppender(t, db.DB, id)
	bases := a.add([]int64{100, 101, 102}, []int64{200, 201, 202})
	bases = append(bases, a.add([]int64{300, 301, 302}, []int64{400, 401, 402})...)

	truncate := func(newStart int64, want storage.PartitionState) {
		t.Helper()
		st, err := db.TruncateHead(id, newStart)
		if err != nil || st != want {
			t.Fatalf("TruncateHead(%d) = %+v, %v; want %+v", newStart, st, err, want)
		}
	}
	at6 := storage.PartitionState{LogStart: 6, BytesBefore: a.sumSizes(0, 2), MaxTimeBefore: 202}
	truncate(bases[2], at6)
	if got := readAll(t, db.DB, id, bases[2], 0); !equalInts(offsetsOf(got), span(6, 12)) {
		t.Fatalf("after truncate: offsets %v", offsetsOf(got))
	}
	// The dropped batches are gone from storage, not just hidden by the bound.
	if got := readAll(t, db.DB, id, 0, 0); !equalInts(offsetsOf(got), span(6, 12)) {
		t.Fatalf("after truncate, unbounded read: offsets %v", offsetsOf(got))
	}
	// Time lookups find the first retained batch that reaches the time.
	for _, tc := range []struct{ ts, base int64 }{{0, 6}, {150, 6}, {300, 6}, {350, 9}, {402, 9}} {
		base, found, err := db.FindTime(id, tc.ts)
		if err != nil || !found || base != tc.base {
			t.Fatalf("FindTime(%d) after truncate = %d, %v, %v; want %d", tc.ts, base, found, err, tc.base)
		}
	}
	if _, found, err := db.FindTime(id, 403); found || err != nil {
		t.Fatalf("FindTime past the max after truncate: %v, %v", found, err)
	}
	// Truncating to where the log already starts, or below, changes nothing;
	// a newStart inside a batch or past the end is refused.
	truncate(bases[1], at6)
	truncate(bases[2], at6)
	for _, bad := range []int64{7, 13} {
		if _, err := db.TruncateHead(id, bad); err == nil {
			t.Fatalf("TruncateHead(%d) succeeded", bad)
		}
	}
	db.reopen()
	got, err := db.LoadPartition(id)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != at6 || got.Tail != (storage.Tail{EndOffset: 12, Bytes: a.bytes, MaxTime: 402}) ||
		got.RetainedBytes() != a.sumSizes(2, 4) {
		t.Fatalf("recovered after truncate: %+v", got)
	}
	// Truncating everything leaves an empty log that still ends at the LEO
	// and keeps the byte count and running max of what was dropped.
	all := storage.PartitionState{LogStart: 12, BytesBefore: a.bytes, MaxTimeBefore: 402}
	truncate(a.leo, all)
	db.reopen()
	if got, err = db.LoadPartition(id); err != nil {
		t.Fatal(err)
	}
	if got.State != all || got.Tail != (storage.Tail{EndOffset: 12, Bytes: a.bytes, MaxTime: 402}) || got.RetainedBytes() != 0 {
		t.Fatalf("recovered after truncating all: %+v", got)
	}
	if recs := readAll(t, db.DB, id, 12, 12); len(recs) != 0 {
		t.Fatalf("empty log read %d records", len(recs))
	}
	if _, found, err := db.FindTime(id, 0); found || err != nil {
		t.Fatalf("FindTime on an emptied log: %v, %v", found, err)
	}
	// Appending continues from the recovered tail.
	a.db, a.tail = db.DB, got.Tail
	a.add([]int64{50})
	if recs := readAll(t, db.DB, id, 12, 12); !equalInts(offsetsOf(recs), []int64{12}) {
		t.Fatalf("append after truncating all: %v", offsetsOf(recs))
	}
	if base, found, err := db.FindTime(id, 0); !found || err != nil || base != 12 {
		t.Fatalf("FindTime after appending to an emptied log: %d, %v, %v", base, found, err)
	}
}

func TestDeleteTopic(t *testing.T) {
	db := openMem(t, vfs.NewMem())
	gone := []storage.PartitionID{{TopicID: 10, Partition: 0}, {TopicID: 10, Partition: 1}}
	kept := storage.PartitionID{TopicID: 11, Partition: 0}
	before := storage.PartitionID{TopicID: 9, Partition: ^uint32(0)}
	for _, id := range append(gone, kept, before) {
		newAppender(t, db.DB, id).add([]int64{1, 2}, []int64{3})
		if err := db.PutLeaderEpoch(id, 0, 0); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{"topic/a", "topic/b"} {
		if err := db.PutMeta(name, []byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.DeleteTopic(10, "topic/a"); err != nil {
		t.Fatal(err)
	}
	for _, id := range gone {
		got, err := db.LoadPartition(id)
		if err != nil || got != emptyRecovered {
			t.Fatalf("%v after delete: %+v, %v", id, got, err)
		}
		if recs := readAll(t, db.DB, id, 0, 0); len(recs) != 0 {
			t.Fatalf("%v after delete: %d records", id, len(recs))
		}
		if _, found, _ := db.FindTime(id, 0); found {
			t.Fatalf("%v after delete: time index survives", id)
		}
	}
	for _, id := range []storage.PartitionID{kept, before} {
		if recs := readAll(t, db.DB, id, 0, 0); len(recs) != 3 {
			t.Fatalf("%v was hit by the delete: %d records", id, len(recs))
		}
	}
	if v, _ := db.GetMeta("topic/a"); v != nil {
		t.Fatalf("meta survived delete: %q", v)
	}
	if v, _ := db.GetMeta("topic/b"); string(v) != "x" {
		t.Fatalf("other meta hit: %q", v)
	}
}

func TestMeta(t *testing.T) {
	fs := vfs.NewMem()
	db := openMem(t, fs)
	if v, err := db.GetMeta("absent"); v != nil || err != nil {
		t.Fatalf("absent: %q, %v", v, err)
	}
	for _, name := range []string{"topic/b", "topic/a", "topicx", "group/a"} {
		if err := db.PutMeta(name, []byte("v-"+name)); err != nil {
			t.Fatal(err)
		}
	}
	db.reopen()
	var names []string
	err := db.ScanMeta("topic/", func(name string, value []byte) error {
		if string(value) != "v-"+name {
			t.Errorf("%s = %q", name, value)
		}
		names = append(names, name)
		return nil
	})
	if err != nil || fmt.Sprint(names) != "[topic/a topic/b]" {
		t.Fatalf("ScanMeta: %v, %v", names, err)
	}
	stop := errors.New("stop")
	if err := db.ScanMeta("", func(string, []byte) error { return stop }); !errors.Is(err, stop) {
		t.Fatalf("ScanMeta error: %v", err)
	}
}

func TestFormatCheck(t *testing.T) {
	fs := vfs.NewMem()
	db := openMem(t, fs)
	v, err := db.GetMeta("format")
	if err != nil || string(v) != "2" {
		t.Fatalf("format of a new database: %q, %v", v, err)
	}
	db.reopen() // the same format opens again
	db.close()
	for _, tc := range []struct {
		format string
		want   error
	}{
		{"1", storage.ErrOlderFormat}, // time index and per-append state: not read any more
		{"3", storage.ErrNewerFormat},
		{"next", storage.ErrNewerFormat},
	} {
		// Write the format key behind storage's back, as another fjord would have.
		p, err := pebble.Open("db", &pebble.Options{FS: fs})
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Set([]byte("mformat"), []byte(tc.format), pebble.Sync); err != nil {
			t.Fatal(err)
		}
		if err := p.Close(); err != nil {
			t.Fatal(err)
		}
		if _, err := storage.Open("db", storage.Options{FS: fs}); !errors.Is(err, tc.want) {
			t.Errorf("opening format %q: %v, want %v", tc.format, err, tc.want)
		}
	}
}

func TestCorruptState(t *testing.T) {
	db := openMem(t, vfs.NewMem())
	id := storage.PartitionID{TopicID: 2, Partition: 0}
	key := []byte{'s', 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0}
	// A format-1 state (16 bytes) is as corrupt as a short one.
	for _, v := range [][]byte{{1, 2, 3}, make([]byte, 16)} {
		if err := db.Pebble().Set(key, v, pebble.Sync); err != nil {
			t.Fatal(err)
		}
		if _, err := db.LoadPartition(id); !errors.Is(err, storage.ErrCorrupt) {
			t.Fatalf("%d-byte state: %v", len(v), err)
		}
	}
	// A corrupt last batch, or a value too short for its prefix, is
	// reported, not read past.
	lkey := append([]byte{'l', 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0}, make([]byte, 8)...)
	for _, v := range [][]byte{bytes.Repeat([]byte{9}, 60), {1, 2, 3}} {
		if err := db.Pebble().Set(lkey, v, pebble.Sync); err != nil {
			t.Fatal(err)
		}
		id := storage.PartitionID{TopicID: 3}
		if _, err := db.LoadPartition(id); !errors.Is(err, storage.ErrCorrupt) {
			t.Fatalf("corrupt %d-byte log value: %v", len(v), err)
		}
		if _, err := db.TruncateHead(id, 1); err == nil {
			t.Fatalf("truncating past a corrupt %d-byte log value succeeded", len(v))
		}
	}
	// Iteration stops at a short value and reports it.
	it, err := db.ReadLog(storage.PartitionID{TopicID: 3}, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if it.Next() || !errors.Is(it.Err(), storage.ErrCorrupt) || !errors.Is(it.Close(), storage.ErrCorrupt) {
		t.Fatalf("iterating over a short log value: %v", it.Err())
	}
	if _, _, err := db.FindTime(storage.PartitionID{TopicID: 3}, 0); !errors.Is(err, storage.ErrCorrupt) {
		t.Fatalf("FindTime over a short log value: %v", err)
	}
}
