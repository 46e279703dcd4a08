package bench

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"strconv"
	"testing"
)

func TestCountArray(t *testing.T) {
	tests := []struct {
		name string
		in   string
		n    int
		err  bool
	}{
		{"read answer", `{"topic":"t","partition":0,"next_offset":3,"records":[{"offset":1,"value":{"a":[1,2]}},{"offset":2,"value":"x]}"},{"offset":3,"value":null}]}`, 3, false},
		{"records frame, key order differs", `{"records":[{"headers":{"k":"v"}}],"type":"records","id":"s1"}`, 1, false},
		{"escaped quotes and brackets in strings", `{"records":["a\"]","\\",{"k":"\\\"}"}]}`, 3, false},
		{"whitespace", " {\n \"records\" : [ 1 , 2 ,\t3 ] } ", 3, false},
		{"empty array", `{"records":[]}`, 0, false},
		{"null", `{"records":null}`, 0, false},
		{"absent", `{"other":[1,2]}`, 0, false},
		{"empty object", `{}`, 0, false},
		{"nested records key is not top-level", `{"x":{"records":[1,2]},"records":[1]}`, 1, false},
		{"not an object", `[1,2]`, 0, true},
		{"unterminated string", `{"records":["abc]}`, 0, true},
		{"unterminated array", `{"records":[1,2`, 0, true},
		{"not an array", `{"records":5}`, 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n, err := countArray([]byte(tc.in), "records")
			if (err != nil) != tc.err || n != tc.n {
				t.Fatalf("countArray = %d, %v; want %d, error %v", n, err, tc.n, tc.err)
			}
		})
	}
}

func TestIntField(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		err  bool
	}{
		{`{"topic":"a\"b","next_offset":42,"records":[]}`, 42, false},
		{`{"records":[],"next_offset":-1}`, -1, false},
		{`{"records":[]}`, 0, true},
		{`{"next_offset":"7"}`, 0, true},
	}
	for _, tc := range tests {
		got, err := intField([]byte(tc.in), "next_offset")
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("intField(%s) = %d, %v; want %d, error %v", tc.in, got, err, tc.want, tc.err)
		}
	}
}

// FuzzCountArray checks the scanner against encoding/json on every valid
// object: the same element count for "records".
func FuzzCountArray(f *testing.F) {
	for _, s := range []string{
		`{"records":[{"a":"]"},2,"x",[3,[4]],null,true]}`,
		`{"type":"records","id":"s","records":[{"value":{"p":"\"\\"}}]}`,
		`{"records":[]}`, `{"a":{"records":[1]}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var obj map[string]json.RawMessage
		if json.Unmarshal(b, &obj) != nil {
			return
		}
		var records []json.RawMessage
		if raw, ok := obj["records"]; !ok || json.Unmarshal(raw, &records) != nil {
			return
		}
		if len(obj) != countKeys(t, b) {
			return // duplicate keys: encoding/json keeps the last, the scanner the first
		}
		n, err := countArray(b, "records")
		if err != nil || n != len(records) {
			t.Fatalf("countArray(%q) = %d, %v; encoding/json counts %d", b, n, err, len(records))
		}
	})
}

// countKeys counts the top-level keys of a valid object, duplicates included.
func countKeys(t *testing.T, b []byte) int {
	dec := json.NewDecoder(bytes.NewReader(b))
	if _, err := dec.Token(); err != nil {
		t.Fatal(err)
	}
	n := 0
	for dec.More() {
		if _, err := dec.Token(); err != nil { // key
			t.Fatal(err)
		}
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
		n++
	}
	return n
}

// BenchmarkCountArray measures the scanner on a read answer of 1000
// records of 100-byte JSON values: it must be far faster than the broker
// produces such answers.
func BenchmarkCountArray(b *testing.B) {
	p := payload{size: 100, format: "json", keys: "none"}
	rng := rand.New(rand.NewPCG(1, 1))
	body := []byte(`{"topic":"bench","partition":0,"log_start_offset":0,"high_watermark":1000,"next_offset":1000,"records":[`)
	for i := range 1000 {
		if i > 0 {
			body = append(body, ',')
		}
		body = append(body, `{"offset":`...)
		body = strconv.AppendInt(body, int64(i), 10)
		body = append(body, `,"timestamp":1767225600123,"value":`...)
		body = appendJSONValue(body, p.size, rng)
		body = append(body, '}')
	}
	body = append(body, "]}"...)
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if n, err := countArray(body, "records"); err != nil || n != 1000 {
			b.Fatal(n, err)
		}
	}
}
