package storage_test

import (
	"errors"
	"testing"

	"github.com/fjord-streaming/fjord/storage"
)

// FuzzDecodeBatch checks the batch decoder against arbitrary bytes. Seeds
// live in testdata/fuzz/FuzzDecodeBatch. Invariants:
//   - DecodeBatch never panics; every failure is ErrCorrupt and yields no records;
//   - whatever decodes re-encodes into a batch that decodes to the same records.
//
// Random bytes rarely carry a valid CRC, so each input is also tried with its
// CRC fixed up, which sends it through the record decoder.
func FuzzDecodeBatch(f *testing.F) {
	f.Add(storage.AppendBatch(nil, 0, 0, []storage.Record{rec(1, storage.FormatText, "k", storage.FormatJSON, `{"a":1}`)}))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		checkDecode(t, data)
		if len(data) >= 5 {
			fixed := append([]byte(nil), data...)
			fixCRC(fixed)
			checkDecode(t, fixed)
		}
	})
}

func checkDecode(t *testing.T, data []byte) {
	h, recs, err := storage.DecodeBatch(nil, data)
	if err != nil {
		if !errors.Is(err, storage.ErrCorrupt) {
			t.Fatalf("error %v is not ErrCorrupt", err)
		}
		if len(recs) != 0 {
			t.Fatalf("%d records returned with error %v", len(recs), err)
		}
		return
	}
	if len(recs) != int(h.Count) {
		t.Fatalf("%d records for count %d", len(recs), h.Count)
	}
	again := storage.AppendBatch(nil, h.BaseOffset, h.LeaderEpoch, recs)
	h2, recs2, err := storage.DecodeBatch(nil, again)
	if err != nil {
		t.Fatalf("re-encoded batch does not decode: %v", err)
	}
	if h2.BaseOffset != h.BaseOffset || h2.Count != h.Count || h2.LeaderEpoch != h.LeaderEpoch {
		t.Fatalf("re-encoded header %+v, original %+v", h2, h)
	}
	if diff := sameRecords(recs2, recs); diff != "" {
		t.Fatalf("re-encoded batch differs: %s", diff)
	}
	// A range of the batch decodes to the same slice of its records.
	skip := int(h.Count) / 3
	for _, limit := range []int{0, 1, int(h.Count)} {
		_, part, err := storage.DecodeBatchRange(nil, data, h.BaseOffset+int64(skip), limit)
		if err != nil {
			t.Fatalf("range from %d limit %d: %v", skip, limit, err)
		}
		want := recs[skip:min(len(recs), skip+limit)]
		if diff := sameRecords(part, want); diff != "" {
			t.Fatalf("range from %d limit %d differs: %s", skip, limit, diff)
		}
	}
}
