package wire

import (
	"bytes"
	"fmt"
	"io"
	"strconv"
	"strings"
	"testing"

	"github.com/fjord-streaming/fjord/storage"
)

// benchValue returns a JSON object of exactly 100 bytes that varies with i.
func benchValue(i int) string {
	v := fmt.Sprintf(`{"order_id":%07d,"user":"user-%05d","amount":19.99,"currency":"EUR","items":["a","b"],"note":"`, 1_000_000+i%9_000_000, i%100000)
	return v + strings.Repeat("x", 100-len(v)-2) + `"}`
}

// benchBody returns n records as a produce body, JSON ({"records":[...]}) or
// NDJSON. Each has a text key, a 100-byte JSON value and one header.
func benchBody(n int, ndjson bool) []byte {
	var b bytes.Buffer
	if !ndjson {
		b.WriteString(`{"records":[`)
	}
	for i := range n {
		if i > 0 && !ndjson {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"key":"user-%05d","value":%s,"headers":{"trace":"%08x"}}`, i%100000, benchValue(i), i)
		if ndjson {
			b.WriteByte('\n')
		}
	}
	if !ndjson {
		b.WriteString("]}")
	}
	return b.Bytes()
}

func TestBenchValueIs100Bytes(t *testing.T) {
	for _, i := range []int{0, 999, 1234567} {
		if v := benchValue(i); len(v) != 100 {
			t.Fatalf("benchValue(%d) has %d bytes: %s", i, len(v), v)
		}
	}
	recs, err := DecodeProduceJSON(bytes.NewReader(benchBody(3, false)), Limits{})
	if err != nil || len(recs) != 3 {
		t.Fatalf("bench body does not decode: %d records, %v", len(recs), err)
	}
}

func BenchmarkDecodeProduceJSON(b *testing.B) {
	benchmarkDecode(b, false, DecodeProduceJSON)
}

func BenchmarkDecodeProduceNDJSON(b *testing.B) {
	benchmarkDecode(b, true, DecodeProduceNDJSON)
}

func benchmarkDecode(b *testing.B, ndjson bool, decode func(io.Reader, Limits) ([]ProduceRecord, error)) {
	for _, n := range []int{10, 1000} {
		body := benchBody(n, ndjson)
		b.Run("records="+strconv.Itoa(n), func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				recs, err := decode(httpBody{bytes.NewReader(body)}, Limits{})
				if err != nil || len(recs) != n {
					b.Fatalf("%d records, %v", len(recs), err)
				}
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
		})
	}
}

// httpBody hides the length of a reader, as an HTTP request body does, so
// that the decoders read it as they would in the server.
type httpBody struct{ r io.Reader }

func (b httpBody) Read(p []byte) (int, error) { return b.r.Read(p) }

func BenchmarkAppendRecord(b *testing.B) {
	for _, n := range []int{10, 1000} {
		recs := make([]storage.Record, n)
		for i := range recs {
			recs[i] = storage.Record{
				Offset:      int64(1_000_000 + i),
				Timestamp:   1767225600123 + int64(i),
				KeyFormat:   storage.FormatText,
				Key:         []byte(fmt.Sprintf("user-%05d", i)),
				ValueFormat: storage.FormatJSON,
				Value:       []byte(benchValue(i)),
				Headers:     []storage.Header{{Key: "trace", Value: fmt.Sprintf("%08x", i)}},
			}
		}
		var dst []byte
		for i := range recs {
			dst = AppendRecord(dst, "orders", 3, &recs[i])
		}
		size := len(dst)
		b.Run("records="+strconv.Itoa(n), func(b *testing.B) {
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				dst = dst[:0]
				for i := range recs {
					dst = AppendRecord(dst, "orders", 3, &recs[i])
				}
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
		})
		b.Run("records="+strconv.Itoa(n)+"/encoder", func(b *testing.B) {
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				dst = dst[:0]
				var e Encoder
				for i := range recs {
					dst = e.AppendRecord(dst, "orders", 3, &recs[i])
				}
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
		})
	}
}
