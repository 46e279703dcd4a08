package wire

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/fjord-streaming/fjord/engine"
	"github.com/fjord-streaming/fjord/storage"
)

// ErrInvalid marks a produce body that is not what the API accepts: malformed
// JSON, trailing data, an unknown or duplicate field, a wrong type, bad
// base64, conflicting fields, no records, or too many records. The error that
// wraps it names the record (or NDJSON line) and says what is wrong, and is
// meant to be shown to the client as is.
var ErrInvalid = errors.New("wire: invalid produce request")

// ErrTooLarge marks a record whose key, value and headers together exceed
// Limits.MaxRecordBytes.
var ErrTooLarge = errors.New("wire: record too large")

// NoPartition is ProduceRecord.Partition when the producer did not name a
// partition.
const NoPartition int32 = -1

// NoTimestamp is ProduceRecord.Timestamp when the producer gave no timestamp
// and the broker's clock is to be used. An explicit 0 is a real timestamp.
const NoTimestamp int64 = -1

// Limits bounds what a decoder accepts. A zero field means no limit. The size
// of the whole body is the caller's to bound (http.MaxBytesReader).
type Limits struct {
	// MaxRecords is the most records one request may carry.
	MaxRecords int
	// MaxRecordBytes is the most bytes one record's key, value and header
	// names and values may add up to; more is ErrTooLarge.
	MaxRecordBytes int
}

// ProduceRecord is one record as a producer sent it, in the engine's own
// form so that decoded records go to the engine without a copy: Partition
// is the partition the producer named or NoPartition, Record.Timestamp the
// producer's timestamp or NoTimestamp (the engine then takes its clock), and
// Record holds the key, value and headers. Record's byte slices usually
// alias the decoded input (see the decoders), so a ProduceRecord keeps that
// input alive.
type ProduceRecord = engine.ProduceRecord

// DecodeProduceJSON reads a whole produce body of the form
// {"records":[{...},...]} from r and returns its records in order.
//
// It reads r to its end before decoding. An error from r (for example a
// *http.MaxBytesError) is returned wrapped, not as ErrInvalid. Malformed
// input is ErrInvalid, an oversized record ErrTooLarge. On success the
// records' byte slices alias one buffer holding the body.
func DecodeProduceJSON(r io.Reader, limits Limits) ([]ProduceRecord, error) {
	body, err := readBody(r)
	if err != nil {
		return nil, err
	}
	return DecodeProduceJSONBytes(body, limits)
}

// DecodeProduceJSONBytes is DecodeProduceJSON over a body already read, for
// callers that read it into a buffer of their own. The records alias body.
func DecodeProduceJSONBytes(body []byte, limits Limits) ([]ProduceRecord, error) {
	d := newDecoder(body, limits)
	return d.decodeBody()
}

// DecodeProduceNDJSON reads a produce body of newline-delimited JSON from r:
// one record object per line, each whole on its line, blank lines ignored.
// Errors name the 1-based line where the offending record starts (offsets in
// messages count from the start of the body). Otherwise it behaves as
// DecodeProduceJSON.
func DecodeProduceNDJSON(r io.Reader, limits Limits) ([]ProduceRecord, error) {
	body, err := readBody(r)
	if err != nil {
		return nil, err
	}
	return DecodeProduceNDJSONBytes(body, limits)
}

// DecodeProduceNDJSONBytes is DecodeProduceNDJSON over a body already read.
// The records alias body.
func DecodeProduceNDJSONBytes(body []byte, limits Limits) ([]ProduceRecord, error) {
	// The body is read as one stream of JSON values, which is much cheaper
	// than a decoder per line; the checks on newlines below make it a stream
	// of lines with one record each.
	d := newDecoder(body, limits)
	out := makeRecords(len(body), limits)
	line, end := 1, 0
	for {
		gap := body[end:]
		start := end + len(gap) - len(bytes.TrimLeft(gap, " \t\r\n"))
		if start == len(body) {
			break
		}
		newlines := bytes.Count(body[end:start], []byte{'\n'})
		line += newlines
		if len(out) > 0 && newlines == 0 {
			return nil, fmt.Errorf("line %d: trailing data after the record at offset %d: %w", line, start, ErrInvalid)
		}
		if limits.MaxRecords > 0 && len(out) == limits.MaxRecords {
			return nil, fmt.Errorf("line %d: more than %d records: %w", line, limits.MaxRecords, ErrInvalid)
		}
		rec, err := d.decodeRecord()
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		end = int(d.dec.InputOffset())
		if bytes.IndexByte(body[start:end], '\n') >= 0 {
			return nil, fmt.Errorf("line %d: a record must be on one line: %w", line, ErrInvalid)
		}
		out = append(out, rec)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no records: %w", ErrInvalid)
	}
	return out, nil
}

// DecodeRecordsArray decodes raw, a JSON array of record objects such as the
// "records" member of a WebSocket produce frame. Errors and limits are as for
// DecodeProduceJSON; an empty array is ErrInvalid. The records' byte slices
// may alias raw, which the caller must not modify while it uses them.
func DecodeRecordsArray(raw []byte, limits Limits) ([]ProduceRecord, error) {
	d := newDecoder(raw, limits)
	out, err := d.decodeArray()
	if err == nil {
		err = d.expectEOF()
	}
	if err != nil {
		return nil, err
	}
	return out, nil
}

// DecodeRecord decodes raw, a single record object. Its byte slices may alias
// raw, which the caller must not modify while it uses the record.
func DecodeRecord(raw []byte, limits Limits) (ProduceRecord, error) {
	d := newDecoder(raw, limits)
	rec, err := d.decodeRecord()
	if err == nil {
		err = d.expectEOF()
	}
	if err != nil {
		return ProduceRecord{}, err
	}
	return rec, nil
}

// makeRecords returns an empty slice with room for the records that an
// input of n bytes probably holds: one per 128 bytes, up to 4096. That saves
// most of the cost of growing the slice for typical requests, while a large
// body (or one that turns out to be invalid) reserves at most 512 KiB.
func makeRecords(n int, limits Limits) []ProduceRecord {
	const (
		bytesPerRecord = 128
		maxGuess       = 4096
	)
	guess := min(n/bytesPerRecord+1, maxGuess)
	if limits.MaxRecords > 0 {
		guess = min(guess, limits.MaxRecords)
	}
	return make([]ProduceRecord, 0, guess)
}

// readBody reads all of r. Errors from r are wrapped as they are so that the
// caller can tell a body that was too large (or a broken connection) from a
// malformed one. io.ReadAll grows its buffer gently, so the buffer that the
// records alias has little unused room.
func readBody(r io.Reader) ([]byte, error) {
	body, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("wire: read body: %w", err)
	}
	return body, nil
}

// decoder decodes records out of src, which it holds entirely in memory. Raw
// values are sliced out of src by input offset rather than taken from the
// jsontext buffer, so that they stay valid after the next read.
type decoder struct {
	dec    jsontext.Decoder
	src    []byte
	rd     bytes.Buffer
	limits Limits
	arena  arena
	// headers is a slab shared by the headers of all decoded records.
	headers []storage.Header
}

func newDecoder(src []byte, limits Limits) *decoder {
	d := &decoder{src: src, limits: limits}
	// bytes.Buffer lets jsontext parse src in place, without copying.
	d.rd = *bytes.NewBuffer(src)
	// Duplicate names are checked by this package for the objects it
	// defines; inside a producer's value they are the producer's business.
	d.dec.Reset(&d.rd, jsontext.AllowDuplicateNames(true))
	return d
}

// readValue reads the next JSON value (or object name) and returns it as a
// slice of src, so that it outlives the decoder's next read.
func (d *decoder) readValue() (jsontext.Value, error) {
	v, err := d.dec.ReadValue()
	if err != nil {
		return nil, err
	}
	end := d.dec.InputOffset()
	return jsontext.Value(d.src[end-int64(len(v)) : end : end]), nil
}

// syntaxError wraps an error from the JSON tokenizer, which says what was
// found where (offset and JSON pointer).
func syntaxError(err error) error {
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	msg := strings.TrimPrefix(err.Error(), "jsontext: ")
	return fmt.Errorf("%s: %w", msg, ErrInvalid)
}

func invalidf(format string, args ...any) error {
	return fmt.Errorf(format+": %w", append(args, ErrInvalid)...)
}

// expectEOF checks that nothing but whitespace follows the value just read.
func (d *decoder) expectEOF() error {
	end := d.dec.InputOffset()
	if _, err := d.dec.ReadToken(); err == io.EOF {
		return nil
	}
	rest := d.src[end:]
	at := end + int64(len(rest)-len(bytes.TrimLeft(rest, " \t\r\n")))
	return invalidf("trailing data after the JSON value at offset %d", at)
}

// decodeBody decodes {"records":[...]} followed by the end of input.
func (d *decoder) decodeBody() ([]ProduceRecord, error) {
	tok, err := d.dec.ReadToken()
	if err == io.EOF {
		return nil, invalidf("empty body")
	}
	if err != nil {
		return nil, syntaxError(err)
	}
	if tok.Kind() != '{' {
		return nil, invalidf("body must be a JSON object with a \"records\" array, not %s", kindName(tok.Kind()))
	}
	var out []ProduceRecord
	seen := false
	for {
		if d.dec.PeekKind() == '}' {
			break
		}
		name, err := d.readName()
		if err != nil {
			return nil, err
		}
		if name != "records" {
			return nil, invalidf("unknown field %q in body", name)
		}
		if seen {
			return nil, invalidf("duplicate field \"records\" in body")
		}
		seen = true
		if out, err = d.decodeArray(); err != nil {
			return nil, err
		}
	}
	if _, err := d.dec.ReadToken(); err != nil {
		return nil, syntaxError(err)
	}
	if !seen {
		return nil, invalidf("body has no \"records\" array")
	}
	if err := d.expectEOF(); err != nil {
		return nil, err
	}
	return out, nil
}

// decodeArray decodes a non-empty JSON array of record objects.
func (d *decoder) decodeArray() ([]ProduceRecord, error) {
	switch k := d.dec.PeekKind(); k {
	case '[':
	case 0:
		_, err := d.dec.ReadToken()
		if err == io.EOF {
			return nil, invalidf("empty input")
		}
		return nil, syntaxError(err)
	default:
		return nil, invalidf("\"records\" must be an array, not %s", kindName(k))
	}
	if _, err := d.dec.ReadToken(); err != nil {
		return nil, syntaxError(err)
	}
	out := makeRecords(len(d.src), d.limits)
	for d.dec.PeekKind() != ']' {
		if d.limits.MaxRecords > 0 && len(out) == d.limits.MaxRecords {
			return nil, invalidf("more than %d records", d.limits.MaxRecords)
		}
		rec, err := d.decodeRecord()
		if err != nil {
			return nil, fmt.Errorf("record %d: %w", len(out), err)
		}
		out = append(out, rec)
	}
	if _, err := d.dec.ReadToken(); err != nil {
		return nil, syntaxError(err)
	}
	if len(out) == 0 {
		return nil, invalidf("no records")
	}
	return out, nil
}

// readName reads an object member name and unquotes it.
func (d *decoder) readName() (string, error) {
	v, err := d.readValue()
	if err != nil {
		return "", syntaxError(err)
	}
	b, err := d.unquote(v)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// unquote returns the text of the JSON string v. When v has no escapes the
// result aliases v; otherwise it is taken from the arena.
func (d *decoder) unquote(v jsontext.Value) ([]byte, error) {
	inner := v[1 : len(v)-1 : len(v)-1]
	if bytes.IndexByte(inner, '\\') < 0 {
		return inner, nil
	}
	// Unescaping never makes a string longer, but AppendUnquote may still
	// grow its buffer; then its result is used and the arena space returned.
	buf := d.arena.alloc(len(v))
	b, err := jsontext.AppendUnquote(buf[:0], v)
	if err != nil {
		d.arena.shrink(buf, 0)
		return nil, syntaxError(err)
	}
	if len(b) > 0 && &b[0] != &buf[0] {
		d.arena.shrink(buf, 0)
		return b[:len(b):len(b)], nil
	}
	return d.arena.shrink(buf, len(b)), nil
}

func kindName(k jsontext.Kind) string {
	switch k {
	case 'n':
		return "null"
	case 'f', 't':
		return "a boolean"
	case '"':
		return "a string"
	case '0':
		return "a number"
	case '{':
		return "an object"
	case '[':
		return "an array"
	}
	return "nothing"
}

// arena hands out byte slices carved from shared chunks, so that decoding the
// base64 or escaped strings of many records costs few allocations. Each slice
// is capped at its length, so appending to one never overwrites another.
type arena struct {
	buf []byte
}

// Chunks start small, so that a request of a few records allocates little,
// and double up to arenaChunk.
const (
	arenaFirstChunk = 512
	arenaChunk      = 16 << 10
)

func (a *arena) alloc(n int) []byte {
	if n > arenaChunk/4 {
		return make([]byte, n)
	}
	if cap(a.buf)-len(a.buf) < n {
		size := min(max(2*cap(a.buf), arenaFirstChunk), arenaChunk)
		a.buf = make([]byte, 0, max(size, n))
	}
	start := len(a.buf)
	a.buf = a.buf[:start+n]
	return a.buf[start : start+n : start+n]
}

// shrink cuts b, the latest allocation, down to its first n bytes and gives
// the rest back to the arena when b came from the current chunk.
func (a *arena) shrink(b []byte, n int) []byte {
	if n == len(b) {
		return b
	}
	end := len(a.buf)
	if len(b) > 0 && end >= len(b) && &a.buf[end-len(b)] == &b[0] {
		a.buf = a.buf[:end-len(b)+n]
	}
	return b[:n:n]
}
