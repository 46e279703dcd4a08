package wire

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/fjord-streaming/fjord/storage"
)

func TestAppendRecord(t *testing.T) {
	tests := []struct {
		name      string
		topic     string
		partition int32
		r         storage.Record
		want      string
	}{
		{"api example", "orders", 0, storage.Record{
			Offset: 42, Timestamp: 1767225600123,
			KeyFormat: storage.FormatText, Key: []byte("user-42"),
			ValueFormat: storage.FormatJSON, Value: []byte(`{"any":"json"}`),
			Headers: []storage.Header{{Key: "trace", Value: "abc"}},
		}, `{"topic":"orders","partition":0,"offset":42,"timestamp":1767225600123,"key":"user-42","value":{"any":"json"},"headers":{"trace":"abc"}}`},
		{"partition read form", "", 9, storage.Record{
			Offset: 43, Timestamp: 1767225600123,
			KeyFormat: storage.FormatBytes, Key: []byte{0, 1},
			ValueFormat: storage.FormatBytes, Value: []byte("hello"),
		}, `{"offset":43,"timestamp":1767225600123,"key_base64":"AAE=","value_base64":"aGVsbG8="}`},
		{"null key and tombstone", "t", 3, storage.Record{Offset: 0, Timestamp: 5},
			`{"topic":"t","partition":3,"offset":0,"timestamp":5,"value":null}`},
		{"empty text key and empty bytes value", "", 0, storage.Record{
			KeyFormat: storage.FormatText, Key: []byte{},
			ValueFormat: storage.FormatBytes, Value: nil,
		}, `{"offset":0,"timestamp":0,"key":"","value_base64":""}`},
		{"empty JSON value is null", "", 0, storage.Record{ValueFormat: storage.FormatJSON},
			`{"offset":0,"timestamp":0,"value":null}`},
		{"value kept byte for byte", "", 0, storage.Record{
			ValueFormat: storage.FormatJSON, Value: []byte("{ \"a\" : 1.0e0,\n\"b\":\"\\u00e9\" }"),
		}, "{\"offset\":0,\"timestamp\":0,\"value\":{ \"a\" : 1.0e0,\n\"b\":\"\\u00e9\" }}"},
		{"headers in order and escaped", "", 0, storage.Record{
			Headers: []storage.Header{{Key: "z", Value: "1"}, {Key: "a\"", Value: "\n"}, {Key: "", Value: ""}},
		}, `{"offset":0,"timestamp":0,"value":null,"headers":{"z":"1","a\"":"\n","":""}}`},
		{"escaped topic and key", "we\"ird", 1, storage.Record{
			KeyFormat: storage.FormatText, Key: []byte("k\x01\xff"),
		}, `{"topic":"we\"ird","partition":1,"offset":0,"timestamp":0,"key":"k\u0001\ufffd","value":null}`},
		{"negative timestamp", "", 0, storage.Record{Offset: 1, Timestamp: -1},
			`{"offset":1,"timestamp":-1,"value":null}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prefix := []byte("[")
			got := AppendRecord(prefix, tt.topic, tt.partition, &tt.r)
			if string(got) != "["+tt.want {
				t.Errorf("AppendRecord =\n%s\nwant\n%s", got[1:], tt.want)
			}
			if !json.Valid(got[1:]) {
				t.Errorf("AppendRecord produced invalid JSON: %s", got[1:])
			}
		})
	}
}

func TestAppendString(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", `""`},
		{"plain", `"plain"`},
		{`"quoted" \ back`, `"\"quoted\" \\ back"`},
		{"\n\r\t\b\f", `"\n\r\t\b\f"`},
		{"\x00\x01\x1f\x7f", `"\u0000\u0001\u001f` + "\x7f" + `"`},
		{"<>&", `"<>&"`},
		{"/", `"/"`},
		{"é日本😀", `"é日本😀"`},
		{"\u2028\u2029", `"\u2028\u2029"`},
		{"a\xffb", `"a\ufffdb"`},
		{"\xc3", `"\ufffd"`},                               // truncated sequence
		{"\xed\xa0\x80", `"\ufffd\ufffd\ufffd"`},           // surrogate encoded in UTF-8
		{"\xf4\x90\x80\x80", `"\ufffd\ufffd\ufffd\ufffd"`}, // above U+10FFFF
	}
	for _, tt := range tests {
		if got := string(AppendString(nil, tt.in)); got != tt.want {
			t.Errorf("AppendString(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

// Random strings, heavy in bytes that need care, come back through
// encoding/json as themselves, with each invalid byte as U+FFFD.
func TestAppendStringRoundTrip(t *testing.T) {
	alphabet := []string{"a", "\"", "\\", "\n", "\x00", "\x1f", "\x7f", "é", "😀", "\u2028", "\xff", "\xc3", "<", " "}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		var sb strings.Builder
		for range rng.IntN(20) {
			sb.WriteString(alphabet[rng.IntN(len(alphabet))])
		}
		s := sb.String()
		out := AppendString(nil, s)
		var back string
		if err := json.Unmarshal(out, &back); err != nil {
			t.Fatalf("AppendString(%q) = %s: not valid JSON: %v", s, out, err)
		}
		if want := replaceInvalid(s); back != want {
			t.Fatalf("AppendString(%q) = %s, decodes to %q, want %q", s, out, back, want)
		}
	}
}

func replaceInvalid(s string) string {
	var sb strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		sb.WriteRune(r) // RuneError for each invalid byte
		i += size
	}
	return sb.String()
}

// Records decoded from a produce body and encoded for a consumer carry the
// same key, value and headers.
func TestProduceConsumeRoundTrip(t *testing.T) {
	body := `{"records":[
		{"key":"user-42","value":{"any":"json", "n": 1.50},"headers":{"trace":"abc","b":"\u00e9"}},
		{"key_base64":"AAE=","value_base64":"aGVsbG8=","partition":2,"timestamp":1767225600000},
		{"value":null},
		{"key":"\u2028\"","value":"\ud83d\ude00"}
	]}`
	recs, err := DecodeProduceJSON(strings.NewReader(body), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range recs {
		out := AppendRecord(nil, "orders", 1, &recs[i].Record)
		var got struct {
			Topic       string            `json:"topic"`
			Partition   int32             `json:"partition"`
			Key         *string           `json:"key"`
			KeyBase64   []byte            `json:"key_base64"`
			Value       json.RawMessage   `json:"value"`
			ValueBase64 []byte            `json:"value_base64"`
			Headers     map[string]string `json:"headers"`
		}
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatalf("record %d: %s: %v", i, out, err)
		}
		r := recs[i].Record
		switch r.KeyFormat {
		case storage.FormatText:
			if got.Key == nil || *got.Key != string(r.Key) {
				t.Errorf("record %d: key %v, want %q", i, got.Key, r.Key)
			}
		case storage.FormatBytes:
			if string(got.KeyBase64) != string(r.Key) {
				t.Errorf("record %d: key_base64 %q, want %q", i, got.KeyBase64, r.Key)
			}
		}
		switch r.ValueFormat {
		case storage.FormatJSON:
			if string(got.Value) != string(r.Value) {
				t.Errorf("record %d: value %s, want %s", i, got.Value, r.Value)
			}
		case storage.FormatBytes:
			if string(got.ValueBase64) != string(r.Value) {
				t.Errorf("record %d: value_base64 %q, want %q", i, got.ValueBase64, r.Value)
			}
		case storage.FormatNull:
			if string(got.Value) != "null" {
				t.Errorf("record %d: value %s, want null", i, got.Value)
			}
		}
		for _, h := range r.Headers {
			if got.Headers[h.Key] != h.Value {
				t.Errorf("record %d: header %q = %q, want %q", i, h.Key, got.Headers[h.Key], h.Value)
			}
		}
	}
}

// TestDigits appends sequences of numbers with one Digits and compares each with
// strconv: repeats, counting up across carries and digit-count changes,
// negative numbers, jumps and the int64 extremes.
func TestDigits(t *testing.T) {
	tests := [][]int64{
		{0, 0, 1, 2, 2, 3},
		{7, 8, 9, 10, 11, 19, 20, 99, 100, 101},
		{998, 999, 1000, 1001},
		{-3, -2, -1, 0, 1},
		{1767225600123, 1767225600123, 1767225600124, 5, 6},
		{math.MaxInt64 - 1, math.MaxInt64, math.MinInt64, math.MinInt64 + 1},
		{109, 110, 199, 200, 1099, 1100},
	}
	for _, seq := range tests {
		var c Digits
		for _, v := range seq {
			if got, want := string(c.Append([]byte("x"), v)), "x"+strconv.FormatInt(v, 10); got != want {
				t.Fatalf("sequence %v: Append(%d) = %q, want %q", seq, v, got, want)
			}
		}
	}
}

// TestEncoderMatchesAppendRecord writes a read's worth of records with one
// Encoder and record by record with AppendRecord: the bytes must agree.
func TestEncoderMatchesAppendRecord(t *testing.T) {
	var e Encoder
	var viaEncoder, single []byte
	for i := range 2500 {
		r := storage.Record{Offset: int64(95 + i), Timestamp: 1767225600000 + int64(i/7), ValueFormat: storage.FormatJSON, Value: []byte(strconv.Itoa(i))}
		part := int32(i / 1000)
		viaEncoder = e.AppendRecord(viaEncoder, "t", part, &r)
		single = AppendRecord(single, "t", part, &r)
	}
	if !bytes.Equal(viaEncoder, single) {
		t.Fatal("an Encoder wrote other bytes than AppendRecord")
	}
}
