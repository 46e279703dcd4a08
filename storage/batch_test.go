package storage_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"strings"
	"testing"

	"github.com/fjord-streaming/fjord/storage"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// fixCRC rewrites the CRC of an encoded batch so that it matches its bytes,
// letting a test reach the record decoder with crafted contents.
func fixCRC(b []byte) {
	binary.BigEndian.PutUint32(b[1:], crc32.Checksum(b[5:], castagnoli))
}

// sameRecords reports the first difference between two record lists, or "".
func sameRecords(got, want []storage.Record) string {
	if len(got) != len(want) {
		return fmt.Sprintf("%d records, want %d", len(got), len(want))
	}
	for i := range want {
		g, w := &got[i], &want[i]
		switch {
		case g.Offset != w.Offset:
			return fmt.Sprintf("record %d: offset %d, want %d", i, g.Offset, w.Offset)
		case g.Timestamp != w.Timestamp:
			return fmt.Sprintf("record %d: timestamp %d, want %d", i, g.Timestamp, w.Timestamp)
		case g.KeyFormat != w.KeyFormat || g.ValueFormat != w.ValueFormat:
			return fmt.Sprintf("record %d: formats %d/%d, want %d/%d", i, g.KeyFormat, g.ValueFormat, w.KeyFormat, w.ValueFormat)
		case !bytes.Equal(g.Key, w.Key):
			return fmt.Sprintf("record %d: key %q, want %q", i, g.Key, w.Key)
		case !bytes.Equal(g.Value, w.Value):
			return fmt.Sprintf("record %d: value %q, want %q", i, trim(g.Value), trim(w.Value))
		case len(g.Headers) != len(w.Headers):
			return fmt.Sprintf("record %d: %d headers, want %d", i, len(g.Headers), len(w.Headers))
		}
		for j := range w.Headers {
			if g.Headers[j] != w.Headers[j] {
				return fmt.Sprintf("record %d: header %d is %q, want %q", i, j, g.Headers[j], w.Headers[j])
			}
		}
		if w.KeyFormat == storage.FormatNull && g.Key != nil {
			return fmt.Sprintf("record %d: null key decoded as %q", i, g.Key)
		}
		if w.ValueFormat == storage.FormatNull && g.Value != nil {
			return fmt.Sprintf("record %d: null value decoded as %q", i, g.Value)
		}
	}
	return ""
}

func trim(b []byte) []byte {
	if len(b) > 64 {
		return b[:64]
	}
	return b
}

// withOffsets returns copies of recs numbered from base.
func withOffsets(base int64, recs []storage.Record) []storage.Record {
	out := append([]storage.Record(nil), recs...)
	for i := range out {
		out[i].Offset = base + int64(i)
	}
	return out
}

func rec(ts int64, kf storage.Format, key string, vf storage.Format, value string, hs ...storage.Header) storage.Record {
	r := storage.Record{Timestamp: ts, KeyFormat: kf, ValueFormat: vf, Headers: hs}
	if kf != storage.FormatNull {
		r.Key = []byte(key)
	}
	if vf != storage.FormatNull {
		r.Value = []byte(value)
	}
	return r
}

func TestBatchRoundTrip(t *testing.T) {
	big := strings.Repeat("v", 1<<20)
	many := make([]storage.Record, 500)
	for i := range many {
		many[i] = rec(int64(1_000_000+i*7), storage.FormatText, fmt.Sprintf("k%d", i),
			storage.FormatJSON, fmt.Sprintf(`{"i":%d}`, i))
	}
	tests := []struct {
		name   string
		base   int64
		epoch  int32
		recs   []storage.Record
		maxTS  int64
		firstT int64
	}{
		{name: "null key and value", recs: []storage.Record{rec(5, storage.FormatNull, "", storage.FormatNull, "")}, maxTS: 5, firstT: 5},
		{name: "text key json value", base: 42, epoch: 3, recs: []storage.Record{
			rec(1767225600123, storage.FormatText, "user-42", storage.FormatJSON, `{"any": "json", "n": [1.0, 1e2, -0]}`),
			rec(1767225600123, storage.FormatText, "ünïcødé ✓", storage.FormatJSON, `"esc\"aped\u00e9 \n"`),
			rec(1767225600124, storage.FormatText, "", storage.FormatJSON, `  [ 1 ,  2 ]  `),
		}, maxTS: 1767225600124, firstT: 1767225600123},
		{name: "bytes key and value", base: 1 << 40, recs: []storage.Record{
			rec(0, storage.FormatBytes, "\x00\x01\xff", storage.FormatBytes, "\x00hello\xfe"),
			rec(0, storage.FormatBytes, "", storage.FormatBytes, ""),
		}},
		{name: "headers", recs: []storage.Record{
			rec(10, storage.FormatNull, "", storage.FormatJSON, `1`,
				storage.Header{Key: "trace", Value: "abc"}, storage.Header{Key: "b", Value: ""},
				storage.Header{Key: "", Value: "empty name"}, storage.Header{Key: "ü", Value: "✓\x00"}),
			rec(11, storage.FormatText, "k", storage.FormatNull, ""),
		}, maxTS: 11, firstT: 10},
		{name: "negative timestamp deltas", recs: []storage.Record{
			rec(1000, storage.FormatNull, "", storage.FormatJSON, `1`),
			rec(500, storage.FormatNull, "", storage.FormatJSON, `2`),
			rec(2000, storage.FormatNull, "", storage.FormatJSON, `3`),
			rec(0, storage.FormatNull, "", storage.FormatJSON, `4`),
			rec(1<<50, storage.FormatNull, "", storage.FormatJSON, `5`),
		}, maxTS: 1 << 50, firstT: 1000},
		{name: "large value", epoch: 1 << 30, recs: []storage.Record{
			rec(7, storage.FormatText, strings.Repeat("k", 300), storage.FormatBytes, big,
				storage.Header{Key: strings.Repeat("h", 200), Value: strings.Repeat("x", 70000)}),
		}, maxTS: 7, firstT: 7},
		{name: "many records", base: 9, recs: many, maxTS: many[len(many)-1].Timestamp, firstT: many[0].Timestamp},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Encode after a prefix: AppendBatch must append, not overwrite.
			prefix := []byte("prefix")
			b := storage.AppendBatch(append([]byte(nil), prefix...), tt.base, tt.epoch, tt.recs)
			if !bytes.Equal(b[:len(prefix)], prefix) {
				t.Fatalf("prefix overwritten")
			}
			b = b[len(prefix):]
			h, err := storage.DecodeBatchHeader(b)
			if err != nil {
				t.Fatal(err)
			}
			want := storage.BatchHeader{BaseOffset: tt.base, Count: int32(len(tt.recs)), FirstTimestamp: tt.firstT,
				MaxTimestamp: tt.maxTS, LeaderEpoch: tt.epoch}
			if h != want {
				t.Fatalf("header %+v, want %+v", h, want)
			}
			if h.LastOffset() != tt.base+int64(len(tt.recs))-1 || h.NextOffset() != tt.base+int64(len(tt.recs)) {
				t.Fatalf("last/next offset %d/%d", h.LastOffset(), h.NextOffset())
			}
			dst := []storage.Record{{Offset: -99}}
			h2, got, err := storage.DecodeBatch(dst, b)
			if err != nil {
				t.Fatal(err)
			}
			if h2 != h || got[0].Offset != -99 {
				t.Fatalf("DecodeBatch header %+v or dst prefix %d changed", h2, got[0].Offset)
			}
			if diff := sameRecords(got[1:], withOffsets(tt.base, tt.recs)); diff != "" {
				t.Fatal(diff)
			}
		})
	}
}

func TestBatchCorruption(t *testing.T) {
	recs := []storage.Record{
		rec(100, storage.FormatText, "key", storage.FormatJSON, `{"a":1}`, storage.Header{Key: "h", Value: "v"}),
		rec(90, storage.FormatBytes, "\x00\x01", storage.FormatBytes, "\xff\xfe"),
		rec(120, storage.FormatNull, "", storage.FormatNull, ""),
	}
	good := storage.AppendBatch(nil, 7, 2, recs)
	mustCorrupt := func(t *testing.T, what string, b []byte) {
		t.Helper()
		dst := make([]storage.Record, 1, 8)
		_, got, err := storage.DecodeBatch(dst, b)
		if !errors.Is(err, storage.ErrCorrupt) {
			t.Fatalf("%s: err %v, want ErrCorrupt", what, err)
		}
		if len(got) != 1 {
			t.Fatalf("%s: %d records returned with the error", what, len(got)-1)
		}
	}
	t.Run("flip every byte", func(t *testing.T) {
		for i := range good {
			for _, mask := range []byte{0x01, 0x80, 0xff} {
				b := append([]byte(nil), good...)
				b[i] ^= mask
				mustCorrupt(t, fmt.Sprintf("byte %d ^ %#x", i, mask), b)
			}
		}
	})
	t.Run("truncate", func(t *testing.T) {
		for n := range len(good) {
			mustCorrupt(t, fmt.Sprintf("first %d bytes", n), append([]byte(nil), good[:n]...))
		}
	})
	t.Run("trailing byte", func(t *testing.T) {
		b := append(append([]byte(nil), good...), 0)
		mustCorrupt(t, "trailing byte", b)
		fixCRC(b)
		mustCorrupt(t, "trailing byte with valid crc", b)
	})
	// With a valid CRC the record decoder itself must catch bad contents.
	crafted := []struct {
		name string
		edit func(b []byte) []byte
	}{
		{"count one too many", func(b []byte) []byte { binary.BigEndian.PutUint32(b[13:], 4); return b }},
		{"count zero", func(b []byte) []byte { binary.BigEndian.PutUint32(b[13:], 0); return b }},
		{"negative count", func(b []byte) []byte { binary.BigEndian.PutUint32(b[13:], 0xffffffff); return b }},
		{"negative base offset", func(b []byte) []byte { b[5] = 0x80; return b }},
		{"base offset overflows", func(b []byte) []byte { binary.BigEndian.PutUint64(b[5:], 1<<63-2); return b }},
		{"unknown magic", func(b []byte) []byte { b[0] = 2; return b }},
		{"unknown format", func(b []byte) []byte { b[storage.BatchHeaderSize+2] = 0x44; return b }},
		{"record length past end", func(b []byte) []byte { b[storage.BatchHeaderSize] = 0x7f; return b }},
		{"records cut short", func(b []byte) []byte { return b[:len(b)-1] }},
	}
	for _, c := range crafted {
		t.Run(c.name, func(t *testing.T) {
			b := c.edit(append([]byte(nil), good...))
			fixCRC(b)
			mustCorrupt(t, c.name, b)
		})
	}
	t.Run("header of short input", func(t *testing.T) {
		if _, err := storage.DecodeBatchHeader(good[:storage.BatchHeaderSize-1]); !errors.Is(err, storage.ErrCorrupt) {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("wrapped error keeps the mark", func(t *testing.T) {
		_, _, err := storage.DecodeBatch(nil, good[:3])
		if !errors.Is(fmt.Errorf("read orders/0: %w", err), storage.ErrCorrupt) {
			t.Fatal("ErrCorrupt lost by wrapping")
		}
	})
}

func TestRecordSize(t *testing.T) {
	r := rec(1, storage.FormatText, "abc", storage.FormatJSON, "12345", storage.Header{Key: "k", Value: "vv"})
	if got, want := r.Size(), 16+3+5+2+1+2; got != want {
		t.Fatalf("Size %d, want %d", got, want)
	}
}

func TestDecodeBatchRange(t *testing.T) {
	recs := make([]storage.Record, 10)
	for i := range recs {
		recs[i] = rec(int64(i), storage.FormatText, fmt.Sprintf("k%d", i), storage.FormatJSON, fmt.Sprintf(`{"i":%d}`, i))
	}
	b := storage.AppendBatch(nil, 100, 0, recs)
	for i := range recs {
		recs[i].Offset = int64(100 + i)
	}
	tests := []struct {
		name          string
		from          int64
		limit         int
		first, length int // offsets 100+first .. in the result
	}{
		{"whole batch", 100, 10, 0, 10},
		{"from before the batch", 0, 100, 0, 10},
		{"from inside", 104, 100, 4, 6},
		{"limit inside", 100, 3, 0, 3},
		{"from and limit inside", 103, 2, 3, 2},
		{"from the last record", 109, 5, 9, 1},
		{"from past the batch", 110, 5, 10, 0},
		{"zero limit", 100, 0, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dst := []storage.Record{{Offset: -1}}
			h, got, err := storage.DecodeBatchRange(dst, b, tt.from, tt.limit)
			if err != nil {
				t.Fatal(err)
			}
			if h.BaseOffset != 100 || h.Count != 10 {
				t.Fatalf("header %+v", h)
			}
			if len(got) != 1+tt.length || got[0].Offset != -1 {
				t.Fatalf("got %d records after dst's one, want %d", len(got)-1, tt.length)
			}
			if diff := sameRecords(got[1:], recs[tt.first:tt.first+tt.length]); diff != "" {
				t.Fatal(diff)
			}
		})
	}
	// The CRC covers the records a range steps over.
	bad := bytes.Clone(b)
	bad[len(bad)/2] ^= 0xff
	if _, got, err := storage.DecodeBatchRange(nil, bad, 109, 1); !errors.Is(err, storage.ErrCorrupt) || len(got) != 0 {
		t.Fatalf("corrupt batch: %d records, err %v", len(got), err)
	}
}
