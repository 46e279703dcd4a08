package wire

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/fjord-streaming/fjord/storage"
)

// rec builds an expected ProduceRecord with nothing given.
func rec() ProduceRecord {
	p := ProduceRecord{Partition: NoPartition}
	p.Timestamp = NoTimestamp
	return p
}

func textKey(s string) func(*ProduceRecord) {
	return func(p *ProduceRecord) { p.Record.KeyFormat, p.Record.Key = storage.FormatText, []byte(s) }
}

func bytesKey(b ...byte) func(*ProduceRecord) {
	return func(p *ProduceRecord) { p.Record.KeyFormat, p.Record.Key = storage.FormatBytes, b }
}

func jsonValue(s string) func(*ProduceRecord) {
	return func(p *ProduceRecord) { p.Record.ValueFormat, p.Record.Value = storage.FormatJSON, []byte(s) }
}

func bytesValue(b ...byte) func(*ProduceRecord) {
	return func(p *ProduceRecord) { p.Record.ValueFormat, p.Record.Value = storage.FormatBytes, b }
}

func headers(kv ...string) func(*ProduceRecord) {
	return func(p *ProduceRecord) {
		for i := 0; i < len(kv); i += 2 {
			p.Record.Headers = append(p.Record.Headers, storage.Header{Key: kv[i], Value: kv[i+1]})
		}
	}
}

func partition(n int32) func(*ProduceRecord) { return func(p *ProduceRecord) { p.Partition = n } }
func timestamp(n int64) func(*ProduceRecord) { return func(p *ProduceRecord) { p.Timestamp = n } }

func want(opts ...func(*ProduceRecord)) ProduceRecord {
	p := rec()
	for _, o := range opts {
		o(&p)
	}
	return p
}

// equalRecords compares records by content: nil and empty byte slices are the
// same, formats and order are not.
func equalRecords(t *testing.T, got, want []ProduceRecord) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d records, want %d:\n got %+v\nwant %+v", len(got), len(want), got, want)
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.Partition != w.Partition || g.Timestamp != w.Timestamp ||
			g.Record.KeyFormat != w.Record.KeyFormat || !bytes.Equal(g.Record.Key, w.Record.Key) ||
			g.Record.ValueFormat != w.Record.ValueFormat || !bytes.Equal(g.Record.Value, w.Record.Value) ||
			len(g.Record.Headers) != len(w.Record.Headers) ||
			(len(g.Record.Headers) > 0 && !reflect.DeepEqual(g.Record.Headers, w.Record.Headers)) {
			t.Errorf("record %d:\n got %+v (key %q value %q)\nwant %+v (key %q value %q)",
				i, g, g.Record.Key, g.Record.Value, w, w.Record.Key, w.Record.Value)
		}
	}
}

func TestDecodeProduceJSON(t *testing.T) {
	tests := []struct {
		name string
		body string
		want []ProduceRecord
	}{
		{"api example", `{"records":[
  {"key":"user-42","value":{"any":"json"},"headers":{"trace":"abc"}},
  {"key_base64":"AAE=","value_base64":"aGVsbG8=","partition":2,"timestamp":1767225600000},
  {"value":null}
]}`, []ProduceRecord{
			want(textKey("user-42"), jsonValue(`{"any":"json"}`), headers("trace", "abc")),
			want(bytesKey(0, 1), bytesValue([]byte("hello")...), partition(2), timestamp(1767225600000)),
			want(),
		}},
		{"empty record is a null key and tombstone", `{"records":[{}]}`, []ProduceRecord{want()}},
		{"null fields mean absent", `{"records":[{"key":null,"value":null,"headers":null,"partition":null,"timestamp":null}]}`,
			[]ProduceRecord{want()}},
		{"null key_base64 and value_base64", `{"records":[{"key_base64":null,"value_base64":null}]}`, []ProduceRecord{want()}},
		{"empty text key", `{"records":[{"key":""}]}`, []ProduceRecord{want(textKey(""))}},
		{"empty base64", `{"records":[{"key_base64":"","value_base64":""}]}`, []ProduceRecord{want(bytesKey(), bytesValue())}},
		{"escaped key", `{"records":[{"key":"a\"b\\c\u00e9\n"}]}`, []ProduceRecord{want(textKey("a\"b\\cé\n"))}},
		{"unicode key", `{"records":[{"key":"日本語"}]}`, []ProduceRecord{want(textKey("日本語"))}},
		{"escaped slash in base64", `{"records":[{"key_base64":"\/w=="}]}`, []ProduceRecord{want(bytesKey(0xff))}},
		{"escaped field name", `{"records":[{"\u006bey":"k"}]}`, []ProduceRecord{want(textKey("k"))}},
		{"escaped records name", `{"r\u0065cords":[{}]}`, []ProduceRecord{want()}},
		{"zero partition and timestamp", `{"records":[{"partition":0,"timestamp":0}]}`,
			[]ProduceRecord{want(partition(0), timestamp(0))}},
		{"largest partition and timestamp", `{"records":[{"partition":2147483647,"timestamp":9223372036854775807}]}`,
			[]ProduceRecord{want(partition(2147483647), timestamp(9223372036854775807))}},
		{"headers keep order", `{"records":[{"headers":{"z":"1","a":"2","m":"3","":""}}]}`,
			[]ProduceRecord{want(headers("z", "1", "a", "2", "m", "3", "", ""))}},
		{"escaped headers", `{"records":[{"headers":{"k\"1":"v\u0000\t"}}]}`,
			[]ProduceRecord{want(headers("k\"1", "v\x00\t"))}},
		{"empty headers", `{"records":[{"headers":{}}]}`, []ProduceRecord{want()}},
		{"whitespace around everything", " \r\n\t{ \"records\" : [ { \"key\" : \"k\" , \"value\" : 1 } ] } \n",
			[]ProduceRecord{want(textKey("k"), jsonValue("1"))}},
		{"duplicate names inside a value are kept", `{"records":[{"value":{"a":1,"a":2}}]}`,
			[]ProduceRecord{want(jsonValue(`{"a":1,"a":2}`))}},
		{"field order does not matter", `{"records":[{"timestamp":5,"headers":{"h":"v"},"value":"x","partition":1,"key_base64":"AA=="}]}`,
			[]ProduceRecord{want(timestamp(5), headers("h", "v"), jsonValue(`"x"`), partition(1), bytesKey(0))}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeProduceJSON(strings.NewReader(tt.body), Limits{})
			if err != nil {
				t.Fatalf("DecodeProduceJSON: %v", err)
			}
			equalRecords(t, got, tt.want)
		})
	}
}

// Values are kept byte for byte: number spelling, escapes, whitespace and
// key order inside the value all survive.
func TestDecodeValueIsByteExact(t *testing.T) {
	values := []string{
		`{"any":"json"}`,
		`{ "nested" : { "deep" : [ 1 , 2.50 , { "x" : null } ] } , "b" : true }`,
		"{\n\t\"indented\": [\n\t\t1\n\t]\n}",
		`1.0`,
		`1e2`,
		`1E+2`,
		`-0`,
		`-0.0e-0`,
		`12345678901234567890123456789`,
		`"h\u00e9llo \"quoted\" \\ \/ \b\f\n\r\t"`,
		`"\ud83d\ude00"`,
		`"😀 日本語 é"`,
		`"<script>&amp;</script>"`,
		`true`,
		`false`,
		`[]`,
		`{}`,
		`[null]`,
		`{"z":1,"a":2}`,
		`""`,
	}
	for _, v := range values {
		t.Run(v, func(t *testing.T) {
			body := `{"records":[{"value":` + v + `},{"value":  ` + v + "\n\t}]}"
			got, err := DecodeProduceJSON(strings.NewReader(body), Limits{})
			if err != nil {
				t.Fatalf("DecodeProduceJSON: %v", err)
			}
			for i, r := range got {
				if r.Record.ValueFormat != storage.FormatJSON || string(r.Record.Value) != v {
					t.Errorf("record %d: value %q (format %d), want %q", i, r.Record.Value, r.Record.ValueFormat, v)
				}
				out := AppendRecord(nil, "t", 0, &r.Record)
				if !bytes.Contains(out, []byte(`"value":`+v)) {
					t.Errorf("record %d: AppendRecord = %s, does not carry the value unchanged", i, out)
				}
			}
		})
	}
}

func TestDecodeProduceJSONInvalid(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		message string // part of the error message
	}{
		{"empty body", ``, "empty body"},
		{"whitespace body", " \n ", "empty body"},
		{"body is an array", `[{"key":"k"}]`, "body must be a JSON object"},
		{"body is null", `null`, "body must be a JSON object"},
		{"records missing", `{}`, `no "records"`},
		{"records null", `{"records":null}`, `"records" must be an array, not null`},
		{"records object", `{"records":{}}`, `"records" must be an array, not an object`},
		{"records string", `{"records":"x"}`, `"records" must be an array`},
		{"no records", `{"records":[]}`, "no records"},
		{"unknown body field", `{"records":[{}],"acks":1}`, `unknown field "acks" in body`},
		{"duplicate records", `{"records":[{}],"records":[{}]}`, `duplicate field "records"`},
		{"trailing object", `{"records":[{}]}{"records":[{}]}`, "trailing data"},
		{"trailing garbage", `{"records":[{}]} x`, ""},
		{"trailing comma", `{"records":[{}],}`, ""},
		{"unterminated", `{"records":[{"key":"k"}`, ""},
		{"unterminated string", `{"records":[{"key":"k`, ""},
		{"missing colon", `{"records":[{"key" "k"}]}`, ""},
		{"single quotes", `{'records':[]}`, ""},
		{"record null", `{"records":[null]}`, "record 0: a record must be a JSON object, not null"},
		{"record array", `{"records":[[]]}`, "record 0: a record must be a JSON object, not an array"},
		{"record string", `{"records":[{}, "k"]}`, "record 1: a record must be a JSON object, not a string"},
		{"unknown field", `{"records":[{},{"Key":"k"}]}`, `record 1: unknown field "Key"`},
		{"unknown field offset", `{"records":[{"offset":1}]}`, `unknown field "offset"`},
		{"duplicate key", `{"records":[{"key":"a","key":"b"}]}`, `duplicate field "key"`},
		{"duplicate value", `{"records":[{"value":1,"value":1}]}`, `duplicate field "value"`},
		{"duplicate escaped field", `{"records":[{"value":1,"v\u0061lue":1}]}`, `duplicate field "value"`},
		{"duplicate header", `{"records":[{"headers":{"a":"1","a":"2"}}]}`, `duplicate header "a"`},
		{"key and key_base64", `{"records":[{"key":"a","key_base64":"AA=="}]}`, "both key and key_base64"},
		{"null key and key_base64", `{"records":[{"key":null,"key_base64":"AA=="}]}`, "both key and key_base64"},
		{"value and value_base64", `{"records":[{"value":1,"value_base64":"AA=="}]}`, "both value and value_base64"},
		{"null value and value_base64", `{"records":[{"value":null,"value_base64":"AA=="}]}`, "both value and value_base64"},
		{"bad base64 key", `{"records":[{"key_base64":"AA="}]}`, "key_base64: illegal base64"},
		{"bad base64 value", `{"records":[{"value_base64":"not base64!"}]}`, "value_base64: illegal base64"},
		{"url-safe base64", `{"records":[{"value_base64":"_-8="}]}`, "value_base64: illegal base64"},
		{"key number", `{"records":[{"key":42}]}`, "key must be a string or null, not a number"},
		{"key object", `{"records":[{"key":{"a":1}}]}`, "key must be a string or null, not an object"},
		{"key_base64 bool", `{"records":[{"key_base64":true}]}`, "key_base64 must be a base64 string or null, not a boolean"},
		{"value_base64 array", `{"records":[{"value_base64":["AA=="]}]}`, "value_base64 must be a base64 string or null, not an array"},
		{"headers array", `{"records":[{"headers":[["a","b"]]}]}`, "headers must be an object of strings, not an array"},
		{"headers string", `{"records":[{"headers":"a=b"}]}`, "headers must be an object of strings, not a string"},
		{"header number", `{"records":[{"headers":{"a":1}}]}`, `header "a" must be a string, not a number`},
		{"header null", `{"records":[{"headers":{"a":null}}]}`, `header "a" must be a string, not null`},
		{"partition string", `{"records":[{"partition":"1"}]}`, "partition must be an integer from 0 to 2147483647, not a string"},
		{"partition fraction", `{"records":[{"partition":1.5}]}`, "not 1.5"},
		{"partition 1.0", `{"records":[{"partition":1.0}]}`, "not 1.0"},
		{"partition exponent", `{"records":[{"partition":1e2}]}`, "not 1e2"},
		{"partition negative", `{"records":[{"partition":-1}]}`, "not -1"},
		{"partition negative zero", `{"records":[{"partition":-0}]}`, "not -0"},
		{"partition above int32", `{"records":[{"partition":2147483648}]}`, "not 2147483648"},
		{"partition huge", `{"records":[{"partition":123456789012345678901234567890}]}`, "partition must be"},
		{"timestamp negative", `{"records":[{"timestamp":-5}]}`, "timestamp must be an integer number of milliseconds"},
		{"timestamp fraction", `{"records":[{"timestamp":1767225600000.5}]}`, "not 1767225600000.5"},
		{"timestamp exponent", `{"records":[{"timestamp":1e12}]}`, "not 1e12"},
		{"timestamp above int64", `{"records":[{"timestamp":9223372036854775808}]}`, "not 9223372036854775808"},
		{"timestamp string", `{"records":[{"timestamp":"1767225600000"}]}`, "not a string"},
		{"timestamp bool", `{"records":[{"timestamp":false}]}`, "not a boolean"},
		{"invalid utf-8 in value", "{\"records\":[{\"value\":\"\xff\"}]}", "invalid UTF-8"},
		{"invalid utf-8 in key", "{\"records\":[{\"key\":\"a\xc3\"}]}", "invalid UTF-8"},
		{"bad escape in key", `{"records":[{"key":"\x"}]}`, ""},
		{"raw control character", "{\"records\":[{\"key\":\"a\nb\"}]}", ""},
		{"bad literal value", `{"records":[{"value":nul}]}`, ""},
		{"leading zero value", `{"records":[{"value":01}]}`, ""},
		{"NaN value", `{"records":[{"value":NaN}]}`, ""},
		{"comment", `{"records":[{}]} // done`, ""},
		{"record error names record", `{"records":[{},{},{"key":1}]}`, "record 2: key must be"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeProduceJSON(strings.NewReader(tt.body), Limits{})
			if err == nil {
				t.Fatalf("DecodeProduceJSON(%s) = %+v, want an error", tt.body, got)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error %q is not ErrInvalid", err)
			}
			if errors.Is(err, ErrTooLarge) {
				t.Errorf("error %q is ErrTooLarge", err)
			}
			if !strings.Contains(err.Error(), tt.message) {
				t.Errorf("error %q does not contain %q", err, tt.message)
			}
			if got != nil {
				t.Errorf("records returned with an error: %+v", got)
			}
		})
	}
}

func TestDecodeProduceNDJSON(t *testing.T) {
	body := "{\"key\":\"a\",\"value\":{\"n\":1}}\n" +
		"\n" +
		"   \t\r\n" +
		"{\"key_base64\":\"AAE=\",\"value_base64\":\"aGk=\",\"partition\":3}\r\n" +
		"  {\"value\" : [1, 2] , \"headers\":{\"h\":\"v\"}}  \n" +
		"{}" // no final newline
	got, err := DecodeProduceNDJSON(strings.NewReader(body), Limits{})
	if err != nil {
		t.Fatalf("DecodeProduceNDJSON: %v", err)
	}
	equalRecords(t, got, []ProduceRecord{
		want(textKey("a"), jsonValue(`{"n":1}`)),
		want(bytesKey(0, 1), bytesValue('h', 'i'), partition(3)),
		want(jsonValue(`[1, 2]`), headers("h", "v")),
		want(),
	})
}

func TestDecodeProduceNDJSONInvalid(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		message string
	}{
		{"empty", "", "no records"},
		{"only blank lines", "\n  \n\r\n", "no records"},
		{"bad line named", "{}\n\n{\"key\":1}\n{}\n", "line 3: key must be"},
		{"two records on a line", "{}\n{} {}\n", "line 2: trailing data"},
		{"record split over lines", "{}\n{\"key\":\n\"k\"}\n", "line 2: a record must be on one line"},
		{"records glued together", "{}{}\n", "line 1: trailing data"},
		{"error after blank lines", "\n\n{}\n\n{\"key\":\"k\",}\n", "line 5:"},
		{"truncated last record", "{}\n{\"key\":\"k\"", "line 2: unexpected EOF"},
		{"wrapper body is not NDJSON", `{"records":[{}]}`, `line 1: unknown field "records"`},
		{"array line", "[{}]\n", "line 1: a record must be a JSON object, not an array"},
		{"unknown field", "{}\n{\"nope\":1}", `line 2: unknown field "nope"`},
		{"bad base64", "{\"value_base64\":\"%%%\"}", "line 1: value_base64: illegal base64"},
		{"bad json", "{}\n{\"key\":\"k\",}\n", "line 2:"},
		{"control character line", "{}\n\x01\n", "line 2:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeProduceNDJSON(strings.NewReader(tt.body), Limits{})
			if err == nil {
				t.Fatalf("DecodeProduceNDJSON(%q) = %+v, want an error", tt.body, got)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error %q is not ErrInvalid", err)
			}
			if !strings.Contains(err.Error(), tt.message) {
				t.Errorf("error %q does not contain %q", err, tt.message)
			}
		})
	}
}

func TestLimits(t *testing.T) {
	three := `{"records":[{"key":"a"},{"key":"b"},{"key":"c"}]}`
	threeND := "{\"key\":\"a\"}\n{\"key\":\"b\"}\n{\"key\":\"c\"}\n"
	// key "k" (1) + value {"v":"0123456789"} (18) + header "h":"vv" (3) = 22 bytes.
	sized := `{"records":[{},{"key":"k","value":{"v":"0123456789"},"headers":{"h":"vv"}}]}`
	sizedND := "{}\n{\"key\":\"k\",\"value\":{\"v\":\"0123456789\"},\"headers\":{\"h\":\"vv\"}}\n"
	base64Sized := `{"records":[{"key_base64":"AAAA","value_base64":"AAAAAA=="}]}` // 3 + 4 bytes decoded

	tests := []struct {
		name    string
		ndjson  bool
		body    string
		limits  Limits
		wantErr error
		message string
	}{
		{"records at limit", false, three, Limits{MaxRecords: 3}, nil, ""},
		{"records over limit", false, three, Limits{MaxRecords: 2}, ErrInvalid, "more than 2 records"},
		{"ndjson records at limit", true, threeND, Limits{MaxRecords: 3}, nil, ""},
		{"ndjson records over limit", true, threeND, Limits{MaxRecords: 2}, ErrInvalid, "line 3: more than 2 records"},
		{"size at limit", false, sized, Limits{MaxRecordBytes: 22}, nil, ""},
		{"size over limit", false, sized, Limits{MaxRecordBytes: 21}, ErrTooLarge, "record 1: key, value and headers take 22 bytes, more than the limit of 21"},
		{"ndjson size over limit", true, sizedND, Limits{MaxRecordBytes: 21}, ErrTooLarge, "line 2: key, value and headers take 22 bytes"},
		{"decoded base64 size at limit", false, base64Sized, Limits{MaxRecordBytes: 7}, nil, ""},
		{"decoded base64 size over limit", false, base64Sized, Limits{MaxRecordBytes: 6}, ErrTooLarge, "take 7 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			decode := DecodeProduceJSON
			if tt.ndjson {
				decode = DecodeProduceNDJSON
			}
			_, err := decode(strings.NewReader(tt.body), tt.limits)
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("error %v, want %v", err, tt.wantErr)
			}
			if tt.wantErr == ErrTooLarge && errors.Is(err, ErrInvalid) {
				t.Errorf("ErrTooLarge error %q is also ErrInvalid", err)
			}
			if !strings.Contains(err.Error(), tt.message) {
				t.Errorf("error %q does not contain %q", err, tt.message)
			}
		})
	}
}

// A body cut off by http.MaxBytesReader must come back as the reader's error,
// so that the API answers request_too_large rather than invalid_request.
func TestBodyLimitErrorIsKept(t *testing.T) {
	body := `{"records":[{"key":"a","value":"` + strings.Repeat("x", 1000) + `"}]}`
	for _, decode := range []struct {
		name string
		fn   func(r io.Reader, l Limits) ([]ProduceRecord, error)
	}{{"json", DecodeProduceJSON}, {"ndjson", DecodeProduceNDJSON}} {
		t.Run(decode.name, func(t *testing.T) {
			r := http.MaxBytesReader(httptest.NewRecorder(), io.NopCloser(strings.NewReader(body)), 100)
			_, err := decode.fn(r, Limits{})
			var mbe *http.MaxBytesError
			if !errors.As(err, &mbe) {
				t.Fatalf("error %v does not wrap *http.MaxBytesError", err)
			}
			if mbe.Limit != 100 {
				t.Errorf("MaxBytesError.Limit = %d, want 100", mbe.Limit)
			}
			if errors.Is(err, ErrInvalid) {
				t.Errorf("body limit error %q is ErrInvalid", err)
			}
		})
	}
}

func TestDecodeRecordsArray(t *testing.T) {
	got, err := DecodeRecordsArray([]byte(` [{"key":"a","value":1},{"value_base64":"AA=="}] `), Limits{})
	if err != nil {
		t.Fatalf("DecodeRecordsArray: %v", err)
	}
	equalRecords(t, got, []ProduceRecord{want(textKey("a"), jsonValue("1")), want(bytesValue(0))})

	invalid := []struct{ raw, message string }{
		{``, "empty input"},
		{`[]`, "no records"},
		{`{}`, "must be an array, not an object"},
		{`[{}] [{}]`, "trailing data"},
		{`[{"key":1}]`, "record 0: key must be"},
		{`[{}`, ""},
	}
	for _, tt := range invalid {
		_, err := DecodeRecordsArray([]byte(tt.raw), Limits{})
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.message) {
			t.Errorf("DecodeRecordsArray(%q) error = %v, want ErrInvalid containing %q", tt.raw, err, tt.message)
		}
	}
	if _, err := DecodeRecordsArray([]byte(`[{},{},{}]`), Limits{MaxRecords: 2}); !errors.Is(err, ErrInvalid) {
		t.Errorf("DecodeRecordsArray over MaxRecords: error = %v, want ErrInvalid", err)
	}
}

func TestDecodeRecord(t *testing.T) {
	got, err := DecodeRecord([]byte(`{"key":"k","headers":{"a":"b"},"partition":7}`), Limits{})
	if err != nil {
		t.Fatalf("DecodeRecord: %v", err)
	}
	equalRecords(t, []ProduceRecord{got}, []ProduceRecord{want(textKey("k"), headers("a", "b"), partition(7))})
	for _, raw := range []string{``, `{} {}`, `[]`, `{"x":1}`} {
		if _, err := DecodeRecord([]byte(raw), Limits{}); !errors.Is(err, ErrInvalid) {
			t.Errorf("DecodeRecord(%q) error = %v, want ErrInvalid", raw, err)
		}
	}
	if _, err := DecodeRecord([]byte(`{"value":"12345"}`), Limits{MaxRecordBytes: 6}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("DecodeRecord over MaxRecordBytes: error = %v, want ErrTooLarge", err)
	}
}

// Decoded slices share memory (the body, the arena); appending to one must
// never write into another.
func TestDecodedSlicesAreCapped(t *testing.T) {
	body := `{"records":[` +
		`{"key_base64":"AAE=","value_base64":"AgM="},` +
		`{"key":"a\nb","value":{"x":1}},` +
		`{"key":"plain","value":[2]}]}`
	got, err := DecodeProduceJSON(strings.NewReader(body), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	before := make([]string, 0, 2*len(got))
	for _, r := range got {
		before = append(before, string(r.Record.Key), string(r.Record.Value))
	}
	for _, r := range got {
		if cap(r.Record.Key) != len(r.Record.Key) || cap(r.Record.Value) != len(r.Record.Value) {
			t.Errorf("key %q cap %d, value %q cap %d: slices must be capped at their length",
				r.Record.Key, cap(r.Record.Key), r.Record.Value, cap(r.Record.Value))
		}
		_ = append(r.Record.Key, "XXXXXXXX"...)
		_ = append(r.Record.Value, "XXXXXXXX"...)
	}
	for i, r := range got {
		if string(r.Record.Key) != before[2*i] || string(r.Record.Value) != before[2*i+1] {
			t.Errorf("record %d changed by appends to others: key %q value %q", i, r.Record.Key, r.Record.Value)
		}
	}
}
