package bench

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
)

// payload builds produce bodies: records whose values are exactly size
// bytes as stored by the broker.
type payload struct {
	size   int
	format string // json or base64
	keys   string // none or random
}

func (p payload) validate() error {
	if p.format != "json" && p.format != "base64" {
		return fmt.Errorf("bench: --format must be json or base64, got %q", p.format)
	}
	if p.keys != "none" && p.keys != "random" {
		return fmt.Errorf("bench: --keys must be none or random, got %q", p.keys)
	}
	if p.size < 1 || p.size > 16<<20 {
		return fmt.Errorf("bench: --record-size must be 1 … 16 MiB, got %d", p.size)
	}
	return nil
}

// letters fill values: random, so that Pebble's block compression cannot
// shrink the benchmark's data much below its nominal size.
const letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

// appendJSONValue appends a JSON value of exactly size bytes: an object
// {"p":"…"} from 8 bytes up, a string below that, a digit for 1 byte.
func appendJSONValue(b []byte, size int, rng *rand.Rand) []byte {
	switch {
	case size >= 8:
		b = append(b, `{"p":"`...)
		b = appendLetters(b, size-8, rng)
		return append(b, `"}`...)
	case size >= 2:
		b = append(b, '"')
		b = appendLetters(b, size-2, rng)
		return append(b, '"')
	default:
		return append(b, '7')
	}
}

func appendLetters(b []byte, n int, rng *rand.Rand) []byte {
	for range n {
		b = append(b, letters[rng.IntN(len(letters))])
	}
	return b
}

// appendRecord appends one record object; headers alternate name, value.
func (p payload) appendRecord(b []byte, rng *rand.Rand, headers ...string) []byte {
	b = append(b, '{')
	if p.keys == "random" {
		var k [8]byte
		for i := range k {
			k[i] = byte(rng.Uint32())
		}
		b = append(b, `"key":"`...)
		b = hex.AppendEncode(b, k[:])
		b = append(b, `",`...)
	}
	if p.format == "base64" {
		raw := make([]byte, p.size)
		for i := range raw {
			raw[i] = byte(rng.Uint32())
		}
		b = append(b, `"value_base64":"`...)
		b = base64.StdEncoding.AppendEncode(b, raw)
		b = append(b, '"')
	} else {
		b = append(b, `"value":`...)
		b = appendJSONValue(b, p.size, rng)
	}
	if len(headers) > 0 {
		b = append(b, `,"headers":{`...)
		for i := 0; i+1 < len(headers); i += 2 {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, '"')
			b = append(b, headers[i]...)
			b = append(b, `":"`...)
			b = append(b, headers[i+1]...)
			b = append(b, '"')
		}
		b = append(b, '}')
	}
	return append(b, '}')
}

// body returns a produce body of n records.
func (p payload) body(n int, rng *rand.Rand) []byte {
	b := make([]byte, 0, 16+n*(p.size*4/3+40))
	b = append(b, `{"records":[`...)
	for i := range n {
		if i > 0 {
			b = append(b, ',')
		}
		b = p.appendRecord(b, rng)
	}
	return append(b, "]}"...)
}
