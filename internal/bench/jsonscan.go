package bench

import (
	"bytes"
	"errors"
	"strconv"
)

// The readers count records in every answer. Decoding each record with
// encoding/json would make the load tool, not the broker, the bottleneck on
// a machine whose cores both share, so answers are walked with a minimal
// scanner: it finds top-level fields and counts array elements, skipping
// strings with bytes.IndexByte, and never builds values.

var errScan = errors.New("bench: malformed JSON answer")

// field returns the raw value of the top-level key in the JSON object b, or
// ok false when b has no such key. Keys are compared as raw bytes (the
// broker's keys need no escapes).
func field(b []byte, key string) (val []byte, ok bool, err error) {
	i, ok, err := fieldStart(b, key)
	if err != nil || !ok {
		return nil, ok, err
	}
	end, err := skipValue(b, i)
	if err != nil {
		return nil, false, err
	}
	return b[i:end], true, nil
}

// fieldStart returns where the value of the top-level key starts, without
// walking that value.
func fieldStart(b []byte, key string) (int, bool, error) {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return 0, false, errScan
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return 0, false, nil
	}
	for i < len(b) {
		if b[i] != '"' {
			return 0, false, errScan
		}
		end, err := skipString(b, i)
		if err != nil {
			return 0, false, err
		}
		k := b[i+1 : end-1]
		i = skipSpace(b, end)
		if i >= len(b) || b[i] != ':' {
			return 0, false, errScan
		}
		i = skipSpace(b, i+1)
		if string(k) == key {
			return i, true, nil
		}
		vend, err := skipValue(b, i)
		if err != nil {
			return 0, false, err
		}
		i = skipSpace(b, vend)
		if i >= len(b) {
			return 0, false, errScan
		}
		if b[i] == '}' {
			return 0, false, nil
		}
		if b[i] != ',' {
			return 0, false, errScan
		}
		i = skipSpace(b, i+1)
	}
	return 0, false, errScan
}

// intField returns the top-level integer field key of b.
func intField(b []byte, key string) (int64, error) {
	v, ok, err := field(b, key)
	if err != nil {
		return 0, err
	}
	if !ok {
		return 0, errScan
	}
	return strconv.ParseInt(string(v), 10, 64)
}

// countArray returns the number of elements of the top-level array field
// key of b (0 when absent or null), walking the array once.
func countArray(b []byte, key string) (int, error) {
	i, ok, err := fieldStart(b, key)
	if err != nil || !ok {
		return 0, err
	}
	if bytes.HasPrefix(b[i:], []byte("null")) {
		return 0, nil
	}
	if i >= len(b) || b[i] != '[' {
		return 0, errScan
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == ']' {
		return 0, nil
	}
	n := 0
	for {
		end, err := skipValue(b, i)
		if err != nil {
			return 0, err
		}
		n++
		i = skipSpace(b, end)
		if i >= len(b) {
			return 0, errScan
		}
		switch b[i] {
		case ']':
			return n, nil
		case ',':
			i = skipSpace(b, i+1)
		default:
			return 0, errScan
		}
	}
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\n' || b[i] == '\t' || b[i] == '\r') {
		i++
	}
	return i
}

// structural marks the bytes a container walk must look at.
var structural = [256]bool{'"': true, '{': true, '}': true, '[': true, ']': true}

// skipString returns the index after the string starting at b[i] == '"'.
func skipString(b []byte, i int) (int, error) {
	j := i + 1
	// Keys and short values end soon: look at a few bytes before paying
	// for IndexByte's setup.
	for end := min(j+16, len(b)); j < end; j++ {
		switch b[j] {
		case '"':
			return j + 1, nil
		case '\\':
			goto slow
		}
	}
slow:
	for {
		q := bytes.IndexByte(b[j:], '"')
		if q < 0 {
			return 0, errScan
		}
		j += q
		bs := 0
		for k := j - 1; k > i && b[k] == '\\'; k-- {
			bs++
		}
		j++
		if bs%2 == 0 {
			return j, nil
		}
	}
}

// skipValue returns the index after the JSON value starting at b[i].
func skipValue(b []byte, i int) (int, error) {
	if i >= len(b) {
		return 0, errScan
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for i < len(b) {
			if !structural[b[i]] {
				i++
				continue
			}
			switch b[i] {
			case '"':
				end, err := skipString(b, i)
				if err != nil {
					return 0, err
				}
				i = end
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1, nil
				}
			}
			i++
		}
		return 0, errScan
	default:
		j := i
		for j < len(b) {
			switch b[j] {
			case ',', '}', ']', ' ', '\n', '\t', '\r':
				if j == i {
					return 0, errScan
				}
				return j, nil
			}
			j++
		}
		if j == i {
			return 0, errScan
		}
		return j, nil
	}
}
