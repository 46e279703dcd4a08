package peer

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
	"reflect"
	"testing"

	"github.com/fjord-streaming/fjord/engine"
	"github.com/fjord-streaming/fjord/storage"
)

func sampleResults() []engine.ReadResult {
	recs := []storage.Record{
		{Offset: 7, Timestamp: 1767225600000, KeyFormat: storage.FormatText, Key: []byte("k"), ValueFormat: storage.FormatJSON, Value: []byte(` {"a" : 1} `)},
		{Offset: 8, Timestamp: 1767225599999, KeyFormat: storage.FormatNull, ValueFormat: storage.FormatBytes, Value: []byte{0, 0xff},
			Headers: []storage.Header{{Key: "h", Value: "v"}, {Key: "h", Value: ""}}},
		{Offset: 9, Timestamp: 3, KeyFormat: storage.FormatBytes, Key: []byte{1}, ValueFormat: storage.FormatNull},
	}
	off := engine.Offsets{LogStart: 2, HighWatermark: 10, LogEnd: 12, LeaderEpoch: 4, Bytes: 999}
	return []engine.ReadResult{
		{Offsets: off, NextOffset: 10, Broker: 2},
		{Offsets: off, Records: recs, NextOffset: 10, Broker: 2},
		{Offsets: off, Records: recs[:1], NextOffset: 8, Broker: -1},
	}
}

func TestFetchAnswerRoundTrip(t *testing.T) {
	for i, res := range sampleResults() {
		b, err := encodeFetchAnswer(res)
		if err != nil {
			t.Fatal(err)
		}
		got, err := decodeFetchAnswer(b)
		if err != nil {
			t.Fatalf("result %d: %v", i, err)
		}
		if !reflect.DeepEqual(normalized(got), normalized(res)) {
			t.Fatalf("result %d: decoded\n%+v\nwant\n%+v", i, got, res)
		}
	}
	// Records that are not consecutive cannot be one batch.
	res := sampleResults()[1]
	res.Records = []storage.Record{res.Records[0], res.Records[2]}
	if _, err := encodeFetchAnswer(res); err == nil {
		t.Fatal("encoded records with a gap")
	}
}

func TestFetchAnswerRejects(t *testing.T) {
	good, err := encodeFetchAnswer(sampleResults()[1])
	if err != nil {
		t.Fatal(err)
	}
	flip := func(i int) []byte {
		b := append([]byte(nil), good...)
		b[i] ^= 0x01
		return b
	}
	tests := []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"short header", good[:fetchHeaderSize-1]},
		{"version", flip(0)},
		{"cut batch", good[:len(good)-1]},
		{"trailing byte", append(append([]byte(nil), good...), 0)},
		{"batch crc", flip(len(good) - 1)},
		{"batch length", flip(52)},
		{"next offset inside the batch", func() []byte {
			res := sampleResults()[1]
			res.NextOffset = 8
			b, _ := encodeFetchAnswer(res)
			return b
		}()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := decodeFetchAnswer(tt.b); !errors.Is(err, ErrBadAnswer) {
				t.Fatalf("decoded a bad answer: %v", err)
			}
		})
	}
}

// normalized makes empty and nil slices compare equal.
func normalized(res engine.ReadResult) engine.ReadResult {
	if len(res.Records) == 0 {
		res.Records = nil
	}
	out := res
	out.Records = nil
	for _, r := range res.Records {
		if len(r.Key) == 0 {
			r.Key = nil
		}
		if len(r.Value) == 0 {
			r.Value = nil
		}
		if len(r.Headers) == 0 {
			r.Headers = nil
		}
		out.Records = append(out.Records, r)
	}
	return out
}

// FuzzDecodeFetchAnswer checks the fetch answer decoder: it never panics,
// and what it accepts has consecutive offsets ending at or before the next
// offset, and encodes again to an answer that decodes to the same result.
func FuzzDecodeFetchAnswer(f *testing.F) {
	for _, res := range sampleResults() {
		b, err := encodeFetchAnswer(res)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{fetchVersion})
	f.Add(make([]byte, fetchHeaderSize))
	f.Fuzz(func(t *testing.T, b []byte) {
		checkFetchAnswer(t, b)
		// The same answer with a batch CRC that matches reaches the record
		// decoder, which random bytes hardly ever do.
		if len(b) > fetchHeaderSize+5 {
			fixed := append([]byte(nil), b...)
			batch := fixed[fetchHeaderSize:]
			binary.BigEndian.PutUint32(batch[1:], crc32.Checksum(batch[5:], crc32.MakeTable(crc32.Castagnoli)))
			checkFetchAnswer(t, fixed)
		}
	})
}

func checkFetchAnswer(t *testing.T, b []byte) {
	t.Helper()
	{
		res, err := decodeFetchAnswer(b)
		if err != nil {
			if !errors.Is(err, ErrBadAnswer) {
				t.Fatalf("error %v does not match ErrBadAnswer", err)
			}
			return
		}
		for i, r := range res.Records {
			if r.Offset != res.Records[0].Offset+int64(i) {
				t.Fatalf("record %d at offset %d after %d", i, r.Offset, res.Records[0].Offset)
			}
		}
		if n := len(res.Records); n > 0 && res.NextOffset <= res.Records[n-1].Offset {
			t.Fatalf("next offset %d is not past the last record %d", res.NextOffset, res.Records[n-1].Offset)
		}
		again, err := encodeFetchAnswer(res)
		if err != nil {
			t.Fatalf("accepted answer does not encode again: %v", err)
		}
		res2, err := decodeFetchAnswer(again)
		if err != nil {
			t.Fatalf("re-encoded answer does not decode: %v", err)
		}
		if !reflect.DeepEqual(normalized(res2), normalized(res)) {
			t.Fatalf("re-encoded answer decodes to\n%+v\nwant\n%+v", res2, res)
		}
	}
}
