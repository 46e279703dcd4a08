package wire

import (
	"encoding/base64"
	"fmt"
	"math"
	"unsafe"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/fjord-streaming/fjord/storage"
)

// Fields of a record object, as bits of a set.
const (
	fieldKey = 1 << iota
	fieldKeyBase64
	fieldValue
	fieldValueBase64
	fieldHeaders
	fieldPartition
	fieldTimestamp
)

func fieldOf(name []byte) (uint, bool) {
	switch string(name) {
	case "key":
		return fieldKey, true
	case "key_base64":
		return fieldKeyBase64, true
	case "value":
		return fieldValue, true
	case "value_base64":
		return fieldValueBase64, true
	case "headers":
		return fieldHeaders, true
	case "partition":
		return fieldPartition, true
	case "timestamp":
		return fieldTimestamp, true
	}
	return 0, false
}

// decodeRecord decodes one record object. A field given as null counts as
// given for the key/key_base64 and value/value_base64 conflicts, and
// otherwise means the field's default.
func (d *decoder) decodeRecord() (ProduceRecord, error) {
	rec := ProduceRecord{Partition: NoPartition}
	rec.Timestamp = NoTimestamp
	switch k := d.dec.PeekKind(); k {
	case '{':
	case 0:
		_, err := d.dec.ReadToken()
		return rec, syntaxError(err)
	default:
		return rec, invalidf("a record must be a JSON object, not %s", kindName(k))
	}
	if _, err := d.dec.ReadToken(); err != nil {
		return rec, syntaxError(err)
	}
	r := &rec.Record
	size := 0
	var seen uint
	for d.dec.PeekKind() != '}' {
		nameV, err := d.readValue()
		if err != nil {
			return rec, syntaxError(err)
		}
		name, err := d.unquote(nameV)
		if err != nil {
			return rec, err
		}
		field, ok := fieldOf(name)
		if !ok {
			return rec, invalidf("unknown field %q", name)
		}
		if seen&field != 0 {
			return rec, invalidf("duplicate field %q", name)
		}
		seen |= field

		if field == fieldHeaders {
			hs, n, err := d.decodeHeaders()
			if err != nil {
				return rec, err
			}
			r.Headers = hs
			size += n
			continue
		}

		v, err := d.readValue()
		if err != nil {
			return rec, syntaxError(err)
		}
		kind := v.Kind()
		switch field {
		case fieldKey:
			switch kind {
			case 'n':
			case '"':
				if r.Key, err = d.unquote(v); err != nil {
					return rec, err
				}
				r.KeyFormat = storage.FormatText
			default:
				return rec, invalidf("key must be a string or null, not %s", kindName(kind))
			}
		case fieldKeyBase64:
			switch kind {
			case 'n':
			case '"':
				if r.Key, err = d.decodeBase64(v); err != nil {
					return rec, fmt.Errorf("key_base64: %w", err)
				}
				r.KeyFormat = storage.FormatBytes
			default:
				return rec, invalidf("key_base64 must be a base64 string or null, not %s", kindName(kind))
			}
		case fieldValue:
			if kind != 'n' {
				r.Value = v
				r.ValueFormat = storage.FormatJSON
			}
		case fieldValueBase64:
			switch kind {
			case 'n':
			case '"':
				if r.Value, err = d.decodeBase64(v); err != nil {
					return rec, fmt.Errorf("value_base64: %w", err)
				}
				r.ValueFormat = storage.FormatBytes
			default:
				return rec, invalidf("value_base64 must be a base64 string or null, not %s", kindName(kind))
			}
		case fieldPartition:
			if kind == 'n' {
				break
			}
			n, ok := parseNonNegative(v, kind, math.MaxInt32)
			if !ok {
				return rec, invalidf("partition must be an integer from 0 to %d, not %s", math.MaxInt32, describe(v))
			}
			rec.Partition = int32(n)
		case fieldTimestamp:
			if kind == 'n' {
				break
			}
			n, ok := parseNonNegative(v, kind, math.MaxInt64)
			if !ok {
				return rec, invalidf("timestamp must be an integer number of milliseconds from 0 to %d, not %s", int64(math.MaxInt64), describe(v))
			}
			rec.Timestamp = int64(n)
		}
	}
	if _, err := d.dec.ReadToken(); err != nil {
		return rec, syntaxError(err)
	}
	if seen&(fieldKey|fieldKeyBase64) == fieldKey|fieldKeyBase64 {
		return rec, invalidf("both key and key_base64 given")
	}
	if seen&(fieldValue|fieldValueBase64) == fieldValue|fieldValueBase64 {
		return rec, invalidf("both value and value_base64 given")
	}
	size += len(r.Key) + len(r.Value)
	if d.limits.MaxRecordBytes > 0 && size > d.limits.MaxRecordBytes {
		return rec, fmt.Errorf("key, value and headers take %d bytes, more than the limit of %d: %w",
			size, d.limits.MaxRecordBytes, ErrTooLarge)
	}
	return rec, nil
}

// decodeHeaders decodes the headers object (or null) and returns the headers
// in the order given and their size in bytes.
func (d *decoder) decodeHeaders() ([]storage.Header, int, error) {
	switch k := d.dec.PeekKind(); k {
	case '{':
	case 'n':
		if _, err := d.dec.ReadToken(); err != nil {
			return nil, 0, syntaxError(err)
		}
		return nil, 0, nil
	case 0:
		_, err := d.dec.ReadToken()
		return nil, 0, syntaxError(err)
	default:
		return nil, 0, invalidf("headers must be an object of strings, not %s", kindName(k))
	}
	if _, err := d.dec.ReadToken(); err != nil {
		return nil, 0, syntaxError(err)
	}
	// The headers of all records share one slab; each record's are capped
	// at their length, so later appends to the slab never reach them.
	start := len(d.headers)
	var index map[string]struct{} // only for records with many headers
	size := 0
	for d.dec.PeekKind() != '}' {
		nameV, err := d.readValue()
		if err != nil {
			return nil, 0, syntaxError(err)
		}
		name, err := d.unquote(nameV)
		if err != nil {
			return nil, 0, err
		}
		v, err := d.readValue()
		if err != nil {
			return nil, 0, syntaxError(err)
		}
		if v.Kind() != '"' {
			return nil, 0, invalidf("header %q must be a string, not %s", name, kindName(v.Kind()))
		}
		value, err := d.unquote(v)
		if err != nil {
			return nil, 0, err
		}
		if duplicateHeader(d.headers[start:], &index, name) {
			return nil, 0, invalidf("duplicate header %q", name)
		}
		// Both strings live in the arena, whose bytes are never written
		// again once handed out, so they can back immutable strings.
		b := d.arena.alloc(len(name) + len(value))
		copy(b, name)
		copy(b[len(name):], value)
		both := unsafe.String(unsafe.SliceData(b), len(b))
		d.headers = append(d.headers, storage.Header{Key: both[:len(name)], Value: both[len(name):]})
		size += len(both)
	}
	if _, err := d.dec.ReadToken(); err != nil {
		return nil, 0, syntaxError(err)
	}
	end := len(d.headers)
	if end == start {
		return nil, 0, nil
	}
	return d.headers[start:end:end], size, nil
}

// duplicateHeader reports whether key is already among hs, then records it.
// A linear scan serves the usual handful of headers; past that a set keeps
// the check from growing quadratically.
func duplicateHeader(hs []storage.Header, index *map[string]struct{}, key []byte) bool {
	const scanLimit = 16
	if len(hs) < scanLimit {
		for _, h := range hs {
			if h.Key == string(key) {
				return true
			}
		}
		return false
	}
	if *index == nil {
		*index = make(map[string]struct{}, 2*len(hs))
		for _, h := range hs {
			(*index)[h.Key] = struct{}{}
		}
	}
	if _, ok := (*index)[string(key)]; ok {
		return true
	}
	(*index)[string(key)] = struct{}{}
	return false
}

// decodeBase64 decodes the standard base64 (with padding) in the JSON string
// v into arena memory.
func (d *decoder) decodeBase64(v jsontext.Value) ([]byte, error) {
	text, err := d.unquote(v)
	if err != nil {
		return nil, err
	}
	if len(text) == 0 {
		return []byte{}, nil
	}
	buf := d.arena.alloc(base64.StdEncoding.DecodedLen(len(text)))
	n, err := base64.StdEncoding.Decode(buf, text)
	if err != nil {
		d.arena.shrink(buf, 0)
		return nil, fmt.Errorf("%w: %w", err, ErrInvalid)
	}
	return d.arena.shrink(buf, n), nil
}

// parseNonNegative parses v, a JSON number, as an integer in [0, limit]. Only
// plain digits are accepted: "1.0", "1e2" and "-0" are not integers here.
func parseNonNegative(v jsontext.Value, kind jsontext.Kind, limit uint64) (uint64, bool) {
	// 19 digits cannot overflow a uint64; every limit here is below 1e19.
	if kind != '0' || len(v) == 0 || len(v) > 19 {
		return 0, false
	}
	var n uint64
	for _, c := range v {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
	}
	return n, n <= limit
}

// describe names v for an error message: a number as written (shortened if
// long), anything else by its kind.
func describe(v jsontext.Value) string {
	if v.Kind() != '0' {
		return kindName(v.Kind())
	}
	const maxLen = 32
	if len(v) > maxLen {
		return string(v[:maxLen]) + "..."
	}
	return string(v)
}
