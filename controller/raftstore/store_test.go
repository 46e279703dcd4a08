package raftstore

import (
	"bytes"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/vfs/errorfs"
	"github.com/hashicorp/raft"
	raftbench "github.com/hashicorp/raft/bench"

	"github.com/fjord-streaming/fjord/storage"
)

// openDB opens the broker database in fs; the caller closes it.
func openDB(t testing.TB, fs vfs.FS) *storage.DB {
	t.Helper()
	db, err := storage.Open("db", storage.Options{FS: fs})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	return db
}

// newStore returns a Store on a fresh in-memory database closed at test end.
func newStore(t testing.TB) (*storage.DB, *Store) {
	t.Helper()
	db := openDB(t, vfs.NewMem())
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return db, New(db)
}

// entries are logs from..to inclusive, at term 1, with data naming the index.
func entries(from, to uint64) []*raft.Log {
	var logs []*raft.Log
	for i := from; i <= to; i++ {
		logs = append(logs, &raft.Log{Index: i, Term: 1, Type: raft.LogCommand, Data: []byte{byte(i)}})
	}
	return logs
}

func storeAll(t *testing.T, s *Store, idx ...uint64) {
	t.Helper()
	var logs []*raft.Log
	for _, i := range idx {
		logs = append(logs, &raft.Log{Index: i, Term: 1})
	}
	if err := s.StoreLogs(logs); err != nil {
		t.Fatalf("StoreLogs: %v", err)
	}
}

func checkBounds(t *testing.T, s *Store, first, last uint64) {
	t.Helper()
	f, err := s.FirstIndex()
	if err != nil {
		t.Fatalf("FirstIndex: %v", err)
	}
	l, err := s.LastIndex()
	if err != nil {
		t.Fatalf("LastIndex: %v", err)
	}
	if f != first || l != last {
		t.Fatalf("FirstIndex, LastIndex = %d, %d; want %d, %d", f, l, first, last)
	}
}

// checkPresent checks that exactly the indexes in want, among lo..hi, are
// stored.
func checkPresent(t *testing.T, s *Store, lo, hi uint64, want func(uint64) bool) {
	t.Helper()
	for i := lo; i <= hi; i++ {
		var l raft.Log
		err := s.GetLog(i, &l)
		switch {
		case want(i) && err != nil:
			t.Errorf("GetLog(%d): %v; want the entry", i, err)
		case want(i) && l.Index != i:
			t.Errorf("GetLog(%d) read index %d", i, l.Index)
		case !want(i) && !errors.Is(err, raft.ErrLogNotFound):
			t.Errorf("GetLog(%d) = %v; want raft.ErrLogNotFound", i, err)
		}
	}
}

func TestFirstLastIndex(t *testing.T) {
	tests := []struct {
		name        string
		stored      []uint64
		first, last uint64
	}{
		{"empty", nil, 0, 0},
		{"one", []uint64{7}, 7, 7},
		{"run", []uint64{1, 2, 3, 4, 5}, 1, 5},
		// Byte order must be numeric order: 256 sorts after 255 only
		// big-endian.
		{"out of order across byte boundaries", []uint64{300, 2, 65536, 256, 255}, 2, 65536},
		{"extremes", []uint64{math.MaxUint64, 1 << 63, 1}, 1, math.MaxUint64},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, s := newStore(t)
			if len(tt.stored) > 0 {
				storeAll(t, s, tt.stored...)
			}
			checkBounds(t, s, tt.first, tt.last)
		})
	}
}

func TestStoreGetLog(t *testing.T) {
	at := time.Date(2026, 3, 4, 5, 6, 7, 891011, time.UTC)
	tests := []struct {
		name string
		log  raft.Log
	}{
		{"bare", raft.Log{Index: 1, Term: 1}},
		{"command", raft.Log{Index: 2, Term: 3, Type: raft.LogCommand, Data: []byte("create topic orders")}},
		{"extensions", raft.Log{Index: 3, Term: 3, Type: raft.LogCommand, Data: []byte("d"), Extensions: []byte("ext")}},
		{"extensions only", raft.Log{Index: 4, Term: 3, Type: raft.LogCommand, Extensions: []byte("ext")}},
		{"noop", raft.Log{Index: 5, Term: 4, Type: raft.LogNoop, AppendedAt: at}},
		{"configuration", raft.Log{Index: 6, Term: 4, Type: raft.LogConfiguration, Data: bytes.Repeat([]byte{0xab}, 1000)}},
		{"barrier", raft.Log{Index: 7, Term: 5, Type: raft.LogBarrier}},
		// Values of 512 bytes or more go to Pebble blob files once flushed.
		{"large", raft.Log{Index: 8, Term: 5, Type: raft.LogCommand, Data: bytes.Repeat([]byte("x"), 70000)}},
		{"huge index and term", raft.Log{Index: math.MaxUint64, Term: math.MaxUint64, Type: raft.LogCommand, Data: []byte{0}}},
	}
	for _, flush := range []bool{false, true} {
		name := "memtable"
		if flush {
			name = "flushed"
		}
		t.Run(name, func(t *testing.T) {
			db, s := newStore(t)
			// Even entries are stored one by one, odd ones in a batch.
			var batch []*raft.Log
			for _, tt := range tests {
				l := tt.log
				if l.Index%2 == 0 {
					if err := s.StoreLog(&l); err != nil {
						t.Fatalf("StoreLog(%d): %v", l.Index, err)
					}
				} else {
					batch = append(batch, &l)
				}
			}
			if err := s.StoreLogs(batch); err != nil {
				t.Fatalf("StoreLogs: %v", err)
			}
			if flush {
				if err := db.Pebble().Flush(); err != nil {
					t.Fatalf("flush: %v", err)
				}
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					var got raft.Log
					if err := s.GetLog(tt.log.Index, &got); err != nil {
						t.Fatalf("GetLog(%d): %v", tt.log.Index, err)
					}
					checkLog(t, got, tt.log)
				})
			}
		})
	}
}

func checkLog(t *testing.T, got, want raft.Log) {
	t.Helper()
	if got.Index != want.Index || got.Term != want.Term || got.Type != want.Type ||
		!bytes.Equal(got.Data, want.Data) || !bytes.Equal(got.Extensions, want.Extensions) ||
		!got.AppendedAt.Equal(want.AppendedAt) {
		t.Errorf("GetLog = %+v\nwant %+v", got, want)
	}
}

func TestGetLogNotFound(t *testing.T) {
	_, s := newStore(t)
	storeAll(t, s, 5, 6, 8)
	for _, i := range []uint64{0, 1, 4, 7, 9, math.MaxUint64} {
		var l raft.Log
		if err := s.GetLog(i, &l); !errors.Is(err, raft.ErrLogNotFound) {
			t.Errorf("GetLog(%d) = %v; want raft.ErrLogNotFound", i, err)
		}
	}
}

// TestLogNotAliased checks that the store keeps its own copy of an entry:
// Raft reuses the buffers of logs it has stored and of logs it read.
func TestLogNotAliased(t *testing.T) {
	_, s := newStore(t)
	in := &raft.Log{Index: 1, Term: 1, Data: []byte("data"), Extensions: []byte("ext")}
	if err := s.StoreLog(in); err != nil {
		t.Fatal(err)
	}
	in.Data[0], in.Extensions[0] = 'X', 'X'
	var out raft.Log
	if err := s.GetLog(1, &out); err != nil {
		t.Fatal(err)
	}
	if string(out.Data) != "data" || string(out.Extensions) != "ext" {
		t.Fatalf("GetLog read %q %q after the stored log's buffers changed", out.Data, out.Extensions)
	}
	out.Data[0], out.Extensions[0] = 'Y', 'Y'
	var again raft.Log
	if err := s.GetLog(1, &again); err != nil {
		t.Fatal(err)
	}
	if string(again.Data) != "data" || string(again.Extensions) != "ext" {
		t.Fatalf("GetLog read %q %q after a read log's buffers changed", again.Data, again.Extensions)
	}
}

func TestGetLogCorrupt(t *testing.T) {
	valid := encode(&raft.Log{Index: 5, Term: 1, Data: []byte("data"), Extensions: []byte("ext")})
	tests := []struct {
		name  string
		value []byte
	}{
		{"empty", nil},
		{"short header", valid[:25]},
		{"no data length", valid[:26]},
		{"unknown version", append([]byte{2}, valid[1:]...)},
		{"data past the end", valid[:len(valid)-5]},
		{"no extensions length", valid[:26+1+4]},
		{"extensions past the end", valid[:len(valid)-1]},
		{"trailing bytes", append(append([]byte(nil), valid...), 0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, s := newStore(t)
			if err := db.Pebble().Set(logKey(5), tt.value, pebble.Sync); err != nil {
				t.Fatal(err)
			}
			var l raft.Log
			if err := s.GetLog(5, &l); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("GetLog = %v; want ErrCorrupt", err)
			}
		})
	}
}

// TestDeleteRange plays Raft's two truncations on entries 1..10: of the head
// once a snapshot covers it, and of a conflicting tail before appending the
// leader's entries.
func TestDeleteRange(t *testing.T) {
	tests := []struct {
		name        string
		min, max    uint64
		first, last uint64
		kept        func(uint64) bool // among the stored 1..10
	}{
		{"head after snapshot", 1, 5, 6, 10, func(i uint64) bool { return i >= 6 }},
		{"head past a compacted start", 0, 3, 4, 10, func(i uint64) bool { return i >= 4 }},
		{"one head entry", 1, 1, 2, 10, func(i uint64) bool { return i >= 2 }},
		{"tail after conflict", 7, 10, 1, 6, func(i uint64) bool { return i <= 6 }},
		{"tail to the end of the index space", 7, math.MaxUint64, 1, 6, func(i uint64) bool { return i <= 6 }},
		{"one tail entry", 10, 10, 1, 9, func(i uint64) bool { return i <= 9 }},
		{"everything", 1, 10, 0, 0, func(uint64) bool { return false }},
		{"everything, open ended", 0, math.MaxUint64, 0, 0, func(uint64) bool { return false }},
		{"beyond the log", 11, 20, 1, 10, func(i uint64) bool { return i <= 10 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, s := newStore(t)
			if err := s.StoreLogs(entries(1, 10)); err != nil {
				t.Fatal(err)
			}
			if err := s.DeleteRange(tt.min, tt.max); err != nil {
				t.Fatalf("DeleteRange(%d, %d): %v", tt.min, tt.max, err)
			}
			checkBounds(t, s, tt.first, tt.last)
			checkPresent(t, s, 0, 21, func(i uint64) bool { return i >= 1 && i <= 10 && tt.kept(i) })
		})
	}
}

// TestTruncateTailThenAppend is what a follower does when the leader's
// entries conflict with its tail: delete from the conflict and store the
// leader's entries at the same indexes.
// TestDeleteRangeIndexSpaceEnd deletes through the largest index, whose
// range has no key after it within the log prefix.
func TestDeleteRangeIndexSpaceEnd(t *testing.T) {
	_, s := newStore(t)
	storeAll(t, s, 1, 2, math.MaxUint64-1, math.MaxUint64)
	if err := s.DeleteRange(2, math.MaxUint64); err != nil {
		t.Fatal(err)
	}
	checkBounds(t, s, 1, 1)
	for _, i := range []uint64{2, math.MaxUint64 - 1, math.MaxUint64} {
		var l raft.Log
		if err := s.GetLog(i, &l); !errors.Is(err, raft.ErrLogNotFound) {
			t.Errorf("GetLog(%d) = %v; want raft.ErrLogNotFound", i, err)
		}
	}
}

func TestTruncateTailThenAppend(t *testing.T) {
	_, s := newStore(t)
	if err := s.StoreLogs(entries(1, 10)); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteRange(7, 10); err != nil {
		t.Fatal(err)
	}
	leader := []*raft.Log{
		{Index: 7, Term: 2, Type: raft.LogCommand, Data: []byte("new 7")},
		{Index: 8, Term: 2, Type: raft.LogCommand, Data: []byte("new 8")},
	}
	if err := s.StoreLogs(leader); err != nil {
		t.Fatal(err)
	}
	checkBounds(t, s, 1, 8)
	for _, want := range leader {
		var got raft.Log
		if err := s.GetLog(want.Index, &got); err != nil {
			t.Fatal(err)
		}
		checkLog(t, got, *want)
	}
	var l raft.Log
	if err := s.GetLog(9, &l); !errors.Is(err, raft.ErrLogNotFound) {
		t.Fatalf("GetLog(9) = %v; want raft.ErrLogNotFound", err)
	}
}

func TestStableStore(t *testing.T) {
	tests := []struct {
		name string
		key  []byte
		val  []byte
	}{
		{"vote candidate", []byte("LastVoteCand"), []byte("10.0.0.1:8080")},
		{"binary", []byte{0, 1, 2}, []byte{0xff, 0, 0xfe}},
		{"empty key", []byte{}, []byte("v")},
		// A stable key that looks like a log key stays a stable key.
		{"log-like key", []byte{'l', 0, 0, 0, 0, 0, 0, 0, 1}, []byte("v")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, s := newStore(t)
			if err := s.Set(tt.key, []byte("old")); err != nil {
				t.Fatal(err)
			}
			if err := s.Set(tt.key, tt.val); err != nil {
				t.Fatal(err)
			}
			got, err := s.Get(tt.key)
			if err != nil || !bytes.Equal(got, tt.val) {
				t.Fatalf("Get(%q) = %q, %v; want %q", tt.key, got, err, tt.val)
			}
			got[0] ^= 0xff
			if again, _ := s.Get(tt.key); !bytes.Equal(again, tt.val) {
				t.Fatalf("Get(%q) = %q after the caller changed an earlier result", tt.key, again)
			}
			// Stable values are not log entries.
			checkBounds(t, s, 0, 0)
		})
	}
}

func TestStableUint64(t *testing.T) {
	for _, v := range []uint64{0, 1, 255, 256, math.MaxUint32 + 1, math.MaxUint64} {
		_, s := newStore(t)
		if err := s.SetUint64([]byte("CurrentTerm"), v); err != nil {
			t.Fatal(err)
		}
		got, err := s.GetUint64([]byte("CurrentTerm"))
		if err != nil || got != v {
			t.Errorf("GetUint64 = %d, %v; want %d", got, err, v)
		}
	}
}

// TestStableNotFound checks what Raft relies on for a fresh node: raft.NewRaft
// and raft.HasExistingState accept only a nil error or one whose text is
// exactly "not found" (as hashicorp's InmemStore and raft-boltdb return), and
// GetUint64 of a missing key is 0.
func TestStableNotFound(t *testing.T) {
	_, s := newStore(t)
	if err := s.Set([]byte("other"), []byte("v")); err != nil {
		t.Fatal(err)
	}
	v, err := s.Get([]byte("LastVoteCand"))
	if err == nil || err.Error() != "not found" {
		t.Fatalf("Get(missing) = %q, %v; want error \"not found\"", v, err)
	}
	n, err := s.GetUint64([]byte("CurrentTerm"))
	if n != 0 || (err != nil && err.Error() != "not found") {
		t.Fatalf("GetUint64(missing) = %d, %v; want 0", n, err)
	}
	has, err := raft.HasExistingState(s, s, raft.NewInmemSnapshotStore())
	if err != nil || has {
		t.Fatalf("HasExistingState of an empty store = %v, %v; want false, nil", has, err)
	}
}

func TestStableUint64WrongSize(t *testing.T) {
	_, s := newStore(t)
	if err := s.Set([]byte("CurrentTerm"), []byte{1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	if n, err := s.GetUint64([]byte("CurrentTerm")); err == nil {
		t.Fatalf("GetUint64 of a 3-byte value = %d, nil; want an error", n)
	}
}

// TestStableReadError checks that a failed read is not taken for a missing
// key: a term read as 0 would let the node vote twice in one term.
func TestStableReadError(t *testing.T) {
	fail := &errorfs.Toggle{Injector: errorfs.InjectorFunc(func(op errorfs.Op) error {
		if op.Kind == errorfs.OpFileReadAt && strings.HasSuffix(op.Path, ".sst") {
			return errorfs.ErrInjected
		}
		return nil
	})}
	db := openDB(t, errorfs.Wrap(vfs.NewMem(), fail))
	t.Cleanup(func() {
		fail.Off()
		if err := db.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	s := New(db)
	if err := s.SetUint64([]byte("CurrentTerm"), 7); err != nil {
		t.Fatal(err)
	}
	// Out of the memtable, so the read goes to a table file.
	if err := db.Pebble().Flush(); err != nil {
		t.Fatal(err)
	}
	fail.On()
	if v, err := s.Get([]byte("CurrentTerm")); err == nil || err.Error() == "not found" {
		t.Errorf("Get with failing reads = %q, %v; want the read error", v, err)
	}
	if n, err := s.GetUint64([]byte("CurrentTerm")); err == nil || err.Error() == "not found" {
		t.Errorf("GetUint64 with failing reads = %d, %v; want the read error", n, err)
	}
	fail.Off()
	if n, err := s.GetUint64([]byte("CurrentTerm")); err != nil || n != 7 {
		t.Fatalf("GetUint64 after reads recover = %d, %v; want 7", n, err)
	}
}

// persisted is the state a reopened store must show.
type persisted struct {
	first, last uint64 // stored entries first..last, each of entries()
	term        uint64 // CurrentTerm; 0 for missing
	vote        string // LastVoteCand; "" for missing
}

// checkPersisted opens the database in fs and checks that its store holds
// want.
func checkPersisted(t *testing.T, fs vfs.FS, want persisted) {
	t.Helper()
	db := openDB(t, fs)
	defer func() {
		if err := db.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	}()
	s := New(db)
	checkBounds(t, s, want.first, want.last)
	checkPresent(t, s, 0, 21, func(i uint64) bool { return want.first <= i && i <= want.last && i > 0 })
	for i := want.first; i <= want.last && i > 0; i++ {
		var l raft.Log
		if err := s.GetLog(i, &l); err == nil {
			checkLog(t, l, *entries(i, i)[0])
		}
	}
	if n, err := s.GetUint64([]byte("CurrentTerm")); err != nil || n != want.term {
		t.Errorf("GetUint64(CurrentTerm) = %d, %v; want %d", n, err, want.term)
	}
	v, err := s.Get([]byte("LastVoteCand"))
	if want.vote == "" && (err == nil || err.Error() != "not found") {
		t.Errorf("Get(LastVoteCand) = %q, %v; want not found", v, err)
	} else if want.vote != "" && (err != nil || string(v) != want.vote) {
		t.Errorf("Get(LastVoteCand) = %q, %v; want %q", v, err, want.vote)
	}
}

// durabilitySteps change a store one write at a time; each is followed by
// the state it leaves.
var durabilitySteps = []struct {
	name  string
	write func(*Store) error
	want  persisted
}{
	{"StoreLogs", func(s *Store) error { return s.StoreLogs(entries(1, 20)) }, persisted{1, 20, 0, ""}},
	{"DeleteRange head", func(s *Store) error { return s.DeleteRange(1, 4) }, persisted{5, 20, 0, ""}},
	{"DeleteRange tail", func(s *Store) error { return s.DeleteRange(16, 20) }, persisted{5, 15, 0, ""}},
	{"SetUint64", func(s *Store) error { return s.SetUint64([]byte("CurrentTerm"), 3) }, persisted{5, 15, 3, ""}},
	{"Set", func(s *Store) error { return s.Set([]byte("LastVoteCand"), []byte("b2")) }, persisted{5, 15, 3, "b2"}},
	{"StoreLog", func(s *Store) error { return s.StoreLog(entries(16, 16)[0]) }, persisted{5, 16, 3, "b2"}},
}

// TestReopen checks that the log and stable values survive closing and
// reopening the database.
func TestReopen(t *testing.T) {
	fs := vfs.NewMem()
	db := openDB(t, fs)
	s := New(db)
	for _, step := range durabilitySteps {
		if err := step.write(s); err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	checkPersisted(t, fs, durabilitySteps[len(durabilitySteps)-1].want)
}

// TestCrash checks that every write is durable once it returns, as Raft
// assumes: after each one, a crash that loses everything not synced keeps
// it.
func TestCrash(t *testing.T) {
	fs := vfs.NewCrashableMem()
	db := openDB(t, fs)
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	s := New(db)
	for _, step := range durabilitySteps {
		if err := step.write(s); err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		t.Run("after "+step.name, func(t *testing.T) {
			checkPersisted(t, fs.CrashClone(vfs.CrashCloneCfg{}), step.want)
		})
	}
}

// TestOtherKeysUntouched checks that the store keeps to its 'r' 'l' and 'r'
// 's' ranges of the broker's database: other keys, however close they sort,
// are neither deleted nor read as log entries.
func TestOtherKeysUntouched(t *testing.T) {
	db, s := newStore(t)
	others := [][]byte{
		{'l', 0, 0, 0, 0, 0, 0, 0, 1}, // a partition log key
		{'m', 'f', 'o', 'r', 'm', 'a', 't'},
		{'q', 0xff},
		{'r'},
		{'r', 'k', 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
		{'r', 'l'}, // sorts before the first log key
		{'r', 'm'},
		{'r', 'm', 0},
		{'s', 0, 0, 0, 0, 0, 0, 0, 1},
		{0xff, 0xff},
	}
	for _, k := range others {
		if err := db.Pebble().Set(k, []byte("other"), pebble.Sync); err != nil {
			t.Fatal(err)
		}
	}
	checkBounds(t, s, 0, 0)
	if err := s.SetUint64([]byte("CurrentTerm"), 9); err != nil {
		t.Fatal(err)
	}
	if err := s.StoreLogs(entries(1, 10)); err != nil {
		t.Fatal(err)
	}
	checkBounds(t, s, 1, 10)
	if err := s.DeleteRange(0, math.MaxUint64); err != nil {
		t.Fatal(err)
	}
	checkBounds(t, s, 0, 0)
	for _, k := range others {
		v, closer, err := db.Pebble().Get(k)
		if err != nil {
			t.Errorf("key %q: %v after DeleteRange over the whole log", k, err)
			continue
		}
		if string(v) != "other" {
			t.Errorf("key %q = %q; want %q", k, v, "other")
		}
		closer.Close()
	}
	if n, err := s.GetUint64([]byte("CurrentTerm")); err != nil || n != 9 {
		t.Errorf("GetUint64(CurrentTerm) = %d, %v after DeleteRange; want 9", n, err)
	}
}

// BenchmarkStore runs hashicorp/raft's shared store benchmarks.
func BenchmarkStore(b *testing.B) {
	logs := []struct {
		name string
		fn   func(*testing.B, raft.LogStore)
	}{
		{"FirstIndex", raftbench.FirstIndex}, {"LastIndex", raftbench.LastIndex}, {"GetLog", raftbench.GetLog},
		{"StoreLog", raftbench.StoreLog}, {"StoreLogs", raftbench.StoreLogs}, {"DeleteRange", raftbench.DeleteRange},
	}
	stable := []struct {
		name string
		fn   func(*testing.B, raft.StableStore)
	}{
		{"Set", raftbench.Set}, {"Get", raftbench.Get}, {"SetUint64", raftbench.SetUint64}, {"GetUint64", raftbench.GetUint64},
	}
	for _, bm := range logs {
		b.Run(bm.name, func(b *testing.B) { _, s := newStore(b); bm.fn(b, s) })
	}
	for _, bm := range stable {
		b.Run(bm.name, func(b *testing.B) { _, s := newStore(b); bm.fn(b, s) })
	}
}
