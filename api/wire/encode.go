package wire

import (
	"encoding/base64"
	"strconv"
	"unicode/utf8"
	"unsafe"

	"github.com/fjord-streaming/fjord/storage"
)

// AppendRecord appends r to dst as the record object of API.md and returns
// the extended slice:
//
//	{"topic":"orders","partition":0,"offset":42,"timestamp":1767225600123,
//	 "key":"user-42","value":{"any":"json"},"headers":{"trace":"abc"}}
//
// With topic "" the topic and partition fields are left out, as in the
// records of a partition read. The key is "key" (FormatText), "key_base64"
// (FormatBytes) or absent (FormatNull). The value is written as stored for
// FormatJSON, as "value_base64" for FormatBytes and as "value":null for
// FormatNull. Headers are left out when there are none.
//
// A FormatJSON value is trusted to be valid JSON, as the decoders guarantee;
// an empty one is written as null.
//
// An Encoder writes the same bytes faster when it writes many records.
func AppendRecord(dst []byte, topic string, partition int32, r *storage.Record) []byte {
	var e Encoder
	return e.AppendRecord(dst, topic, partition, r)
}

// Encoder appends the records of one answer. Down a read, partitions repeat,
// offsets count up by one and timestamps repeat within a batch, so it keeps
// the digits it wrote last for each and reuses or counts them up instead of
// formatting every number anew. The zero value is ready; use one per answer
// (or per goroutine).
type Encoder struct {
	partition, offset, timestamp Digits
}

// AppendRecord appends r as AppendRecord does.
func (e *Encoder) AppendRecord(dst []byte, topic string, partition int32, r *storage.Record) []byte {
	if topic != "" {
		dst = append(dst, `{"topic":`...)
		dst = AppendString(dst, topic)
		dst = append(dst, `,"partition":`...)
		dst = e.partition.Append(dst, int64(partition))
		dst = append(dst, `,"offset":`...)
	} else {
		dst = append(dst, `{"offset":`...)
	}
	dst = e.offset.Append(dst, r.Offset)
	dst = append(dst, `,"timestamp":`...)
	dst = e.timestamp.Append(dst, r.Timestamp)

	switch r.KeyFormat {
	case storage.FormatNull:
	case storage.FormatText:
		dst = append(dst, `,"key":`...)
		dst = appendBytesString(dst, r.Key)
	default:
		dst = append(dst, `,"key_base64":"`...)
		dst = base64.StdEncoding.AppendEncode(dst, r.Key)
		dst = append(dst, '"')
	}

	switch r.ValueFormat {
	case storage.FormatNull:
		dst = append(dst, `,"value":null`...)
	case storage.FormatJSON:
		dst = append(dst, `,"value":`...)
		if len(r.Value) == 0 {
			dst = append(dst, "null"...)
		} else {
			dst = append(dst, r.Value...)
		}
	default:
		dst = append(dst, `,"value_base64":"`...)
		dst = base64.StdEncoding.AppendEncode(dst, r.Value)
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
	return append(dst, '}')
}

// AppendString appends s to dst as a JSON string and returns the extended
// slice. Quotes, backslashes and control characters are escaped (\n, \r, \t,
// \b, \f, or \u00XX), as are U+2028 and U+2029 so that the output is also
// valid JavaScript. Invalid UTF-8 becomes \ufffd, so the output is always
// valid JSON. '<', '>' and '&' are left as they are.
func AppendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if plain[c] {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// appendBytesString is AppendString for a byte slice, without copying it to
// a string first. The string view does not outlive the call.
func appendBytesString(dst []byte, b []byte) []byte {
	return AppendString(dst, unsafe.String(unsafe.SliceData(b), len(b)))
}

const hexDigits = "0123456789abcdef"

// plain holds the ASCII bytes that stand for themselves inside a JSON string.
var plain = func() (t [utf8.RuneSelf]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// Digits appends decimal integers, reusing the digits of the previous one when
// the value repeats and counting them up when it is the previous one plus
// one. The zero value is ready.
type Digits struct {
	v      int64
	digits [20]byte // the decimal form of v: at most 19 digits and a sign
	n      int      // digits in use; 0 before the first Append
}

// Append appends v's decimal form to b.
func (c *Digits) Append(b []byte, v int64) []byte {
	switch {
	case c.n > 0 && v == c.v:
	case c.n > 0 && v == c.v+1 && v > 0 && c.increment():
		c.v = v
	default:
		c.v = v
		c.n = len(strconv.AppendInt(c.digits[:0], v, 10))
	}
	return append(b, c.digits[:c.n]...)
}

// increment adds one to the held digits of a non-negative number; false,
// changing nothing, when they are all nines (the number grows a digit).
func (c *Digits) increment() bool {
	for i := c.n - 1; i >= 0; i-- {
		if c.digits[i] != '9' {
			c.digits[i]++
			for j := i + 1; j < c.n; j++ {
				c.digits[j] = '0'
			}
			return true
		}
	}
	return false
}
