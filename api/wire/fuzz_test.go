package wire

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strconv"
	"testing"

	"github.com/fjord-streaming/fjord/storage"
)

// fuzzSeeds are added to the checked-in corpus under testdata/fuzz.
var fuzzSeeds = []string{
	`{"records":[{"key":"user-42","value":{"any":"json"},"headers":{"trace":"abc"}},{"key_base64":"AAE=","value_base64":"aGVsbG8=","partition":2,"timestamp":1767225600000},{"value":null}]}`,
	`{"records":[{"value":1.0},{"value":1e2},{"value":"\u00e9\ud83d\ude00"},{"value":[ 1 , {"a" : [] } ]}]}`,
	`{"records":[{"key":"a","key_base64":"AA=="}]}`,
	`{"records":[]}`,
	`{"records":[{"partition":2147483648}]}`,
	`{"records":[{"headers":{"a":"1","a":"2"}}]} `,
	`{"records":[{}]}{}`,
}

func FuzzDecodeProduceJSON(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		recs, err := DecodeProduceJSON(bytes.NewReader(body), Limits{MaxRecordBytes: 1 << 16})
		checkDecoded(t, recs, err)
		if err != nil {
			return
		}
		if !json.Valid(body) {
			t.Fatalf("accepted a body that is not valid JSON: %q", body)
		}
		// Encoding the records as a produce body again decodes to the same.
		again := []byte(`{"records":[`)
		for i := range recs {
			if i > 0 {
				again = append(again, ',')
			}
			again = appendProduceRecord(again, &recs[i])
		}
		again = append(again, "]}"...)
		recs2, err := DecodeProduceJSON(bytes.NewReader(again), Limits{})
		if err != nil {
			t.Fatalf("re-encoded body %s does not decode: %v", again, err)
		}
		equalRecords(t, recs2, recs)
	})
}

func FuzzDecodeProduceNDJSON(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	f.Add([]byte("{\"key\":\"a\"}\n\n{\"value\":[1,2]}\r\n  {}  "))
	f.Add([]byte("{} {}\n"))
	f.Fuzz(func(t *testing.T, body []byte) {
		recs, err := DecodeProduceNDJSON(bytes.NewReader(body), Limits{MaxRecords: 1000})
		checkDecoded(t, recs, err)
		if err != nil {
			return
		}
		lines := 0
		for line := range bytes.SplitSeq(body, []byte{'\n'}) {
			if len(bytes.TrimLeft(line, " \t\r")) == 0 {
				continue
			}
			lines++
			if !json.Valid(line) {
				t.Fatalf("accepted a line that is not valid JSON: %q", line)
			}
		}
		if lines != len(recs) {
			t.Fatalf("%d records from %d non-blank lines", len(recs), lines)
		}
		var again []byte
		for i := range recs {
			again = appendProduceRecord(again, &recs[i])
			again = append(again, '\n')
		}
		recs2, err := DecodeProduceNDJSON(bytes.NewReader(again), Limits{})
		if err != nil {
			t.Fatalf("re-encoded body %q does not decode: %v", again, err)
		}
		equalRecords(t, recs2, recs)
	})
}

// checkDecoded checks the invariants of any decode result.
func checkDecoded(t *testing.T, recs []ProduceRecord, err error) {
	t.Helper()
	if err != nil {
		if !errors.Is(err, ErrInvalid) && !errors.Is(err, ErrTooLarge) {
			t.Fatalf("error %v is neither ErrInvalid nor ErrTooLarge", err)
		}
		if recs != nil {
			t.Fatalf("records returned with error %v", err)
		}
		return
	}
	if len(recs) == 0 {
		t.Fatal("success with no records")
	}
	for i := range recs {
		p := &recs[i]
		r := &p.Record
		if p.Partition < NoPartition || p.Timestamp < NoTimestamp {
			t.Fatalf("record %d: partition %d, timestamp %d", i, p.Partition, p.Timestamp)
		}
		switch r.KeyFormat {
		case storage.FormatNull:
			if r.Key != nil {
				t.Fatalf("record %d: null key with bytes %q", i, r.Key)
			}
		case storage.FormatText, storage.FormatBytes:
		default:
			t.Fatalf("record %d: key format %d", i, r.KeyFormat)
		}
		switch r.ValueFormat {
		case storage.FormatNull:
			if r.Value != nil {
				t.Fatalf("record %d: null value with bytes %q", i, r.Value)
			}
		case storage.FormatJSON:
			if !json.Valid(r.Value) {
				t.Fatalf("record %d: JSON value %q is not valid JSON", i, r.Value)
			}
		case storage.FormatBytes:
		default:
			t.Fatalf("record %d: value format %d", i, r.ValueFormat)
		}
		for _, topic := range []string{"", "t"} {
			if out := AppendRecord(nil, topic, 0, r); !json.Valid(out) {
				t.Fatalf("record %d: AppendRecord = %q, not valid JSON", i, out)
			}
		}
	}
}

// appendProduceRecord encodes p as a produce record object, the inverse of
// decodeRecord.
func appendProduceRecord(dst []byte, p *ProduceRecord) []byte {
	r := &p.Record
	switch r.ValueFormat {
	case storage.FormatJSON:
		dst = append(dst, `{"value":`...)
		dst = append(dst, r.Value...)
	case storage.FormatBytes:
		dst = append(dst, `{"value_base64":"`...)
		dst = base64.StdEncoding.AppendEncode(dst, r.Value)
		dst = append(dst, '"')
	default:
		dst = append(dst, `{"value":null`...)
	}
	switch r.KeyFormat {
	case storage.FormatText:
		dst = append(dst, `,"key":`...)
		dst = AppendString(dst, string(r.Key))
	case storage.FormatBytes:
		dst = append(dst, `,"key_base64":"`...)
		dst = base64.StdEncoding.AppendEncode(dst, r.Key)
		dst = append(dst, '"')
	}
	if len(r.Headers) > 0 {
		dst = append(dst, `,"headers":{`...)
		for i, h := range r.Headers {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = AppendString(dst, h.Key)
			dst = append(dst, ':')
			dst = AppendString(dst, h.Value)
		}
		dst = append(dst, '}')
	}
	if p.Partition != NoPartition {
		dst = append(dst, `,"partition":`...)
		dst = strconv.AppendInt(dst, int64(p.Partition), 10)
	}
	if p.Timestamp != NoTimestamp {
		dst = append(dst, `,"timestamp":`...)
		dst = strconv.AppendInt(dst, p.Timestamp, 10)
	}
	return append(dst, '}')
}
