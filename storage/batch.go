package storage

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
)

// batchMagic is the version byte of the batch encoding described in the package doc.
const batchMagic = 1

// BatchHeaderSize is the size of the fixed batch header.
const BatchHeaderSize = 37

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// ErrCorrupt marks a batch or state entry that fails its checks. It survives
// wrapping: test with errors.Is.
var ErrCorrupt = errors.New("storage: corrupt batch")

// BatchHeader is the fixed header of an encoded batch.
type BatchHeader struct {
	BaseOffset     int64
	Count          int32
	FirstTimestamp int64
	MaxTimestamp   int64
	LeaderEpoch    int32
}

// LastOffset is the offset of the batch's last record.
func (h BatchHeader) LastOffset() int64 { return h.BaseOffset + int64(h.Count) - 1 }

// NextOffset is the offset after the batch's last record.
func (h BatchHeader) NextOffset() int64 { return h.BaseOffset + int64(h.Count) }

// AppendBatch encodes records as one batch onto dst and returns it. Records
// get consecutive offsets from baseOffset; their Offset fields are ignored.
// records must not be empty.
func AppendBatch(dst []byte, baseOffset int64, leaderEpoch int32, records []Record) []byte {
	start := len(dst)
	first, maxTS := records[0].Timestamp, records[0].Timestamp
	for i := range records {
		if records[i].Timestamp > maxTS {
			maxTS = records[i].Timestamp
		}
	}
	var hdr [BatchHeaderSize]byte
	hdr[0] = batchMagic
	binary.BigEndian.PutUint64(hdr[5:], uint64(baseOffset))
	binary.BigEndian.PutUint32(hdr[13:], uint32(len(records)))
	binary.BigEndian.PutUint64(hdr[17:], uint64(first))
	binary.BigEndian.PutUint64(hdr[25:], uint64(maxTS))
	binary.BigEndian.PutUint32(hdr[33:], uint32(leaderEpoch))
	dst = append(dst, hdr[:]...)
	for i := range records {
		dst = appendRecord(dst, first, &records[i])
	}
	crc := crc32.Checksum(dst[start+5:], castagnoli)
	binary.BigEndian.PutUint32(dst[start+1:], crc)
	return dst
}

func appendRecord(dst []byte, firstTS int64, r *Record) []byte {
	n := varintLen(r.Timestamp-firstTS) + 1 +
		uvarintLen(uint64(len(r.Key))) + len(r.Key) +
		uvarintLen(uint64(len(r.Value))) + len(r.Value) +
		uvarintLen(uint64(len(r.Headers)))
	for _, h := range r.Headers {
		n += uvarintLen(uint64(len(h.Key))) + len(h.Key) + uvarintLen(uint64(len(h.Value))) + len(h.Value)
	}
	dst = binary.AppendUvarint(dst, uint64(n))
	dst = binary.AppendVarint(dst, r.Timestamp-firstTS)
	dst = append(dst, byte(r.KeyFormat)<<4|byte(r.ValueFormat))
	dst = binary.AppendUvarint(dst, uint64(len(r.Key)))
	dst = append(dst, r.Key...)
	dst = binary.AppendUvarint(dst, uint64(len(r.Value)))
	dst = append(dst, r.Value...)
	dst = binary.AppendUvarint(dst, uint64(len(r.Headers)))
	for _, h := range r.Headers {
		dst = binary.AppendUvarint(dst, uint64(len(h.Key)))
		dst = append(dst, h.Key...)
		dst = binary.AppendUvarint(dst, uint64(len(h.Value)))
		dst = append(dst, h.Value...)
	}
	return dst
}

func uvarintLen(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}

func varintLen(v int64) int {
	u := uint64(v) << 1
	if v < 0 {
		u = ^u
	}
	return uvarintLen(u)
}

// DecodeBatchHeader reads the fixed header of b without checking the CRC.
func DecodeBatchHeader(b []byte) (BatchHeader, error) {
	if len(b) < BatchHeaderSize || b[0] != batchMagic {
		return BatchHeader{}, fmt.Errorf("%w: short batch or unknown magic", ErrCorrupt)
	}
	h := BatchHeader{
		BaseOffset:     int64(binary.BigEndian.Uint64(b[5:])),
		Count:          int32(binary.BigEndian.Uint32(b[13:])),
		FirstTimestamp: int64(binary.BigEndian.Uint64(b[17:])),
		MaxTimestamp:   int64(binary.BigEndian.Uint64(b[25:])),
		LeaderEpoch:    int32(binary.BigEndian.Uint32(b[33:])),
	}
	if h.Count <= 0 || h.BaseOffset < 0 || h.BaseOffset > math.MaxInt64-int64(h.Count) {
		return BatchHeader{}, fmt.Errorf("%w: bad count or base offset", ErrCorrupt)
	}
	return h, nil
}

// DecodeBatch checks b's CRC and decodes its records onto dst. The returned
// records' byte slices alias b; header keys and values are fresh strings. On
// error dst is returned with its original length: a corrupt batch yields no
// records.
func DecodeBatch(dst []Record, b []byte) (BatchHeader, []Record, error) {
	return DecodeBatchRange(dst, b, 0, math.MaxInt)
}

// DecodeBatchRange is DecodeBatch for the records at offset from or later,
// at most limit of them: it checks the whole batch's CRC, steps over the
// records before from by their length prefixes and stops after limit, so a
// read that starts inside a batch or ends early decodes only what it
// returns.
func DecodeBatchRange(dst []Record, b []byte, from int64, limit int) (BatchHeader, []Record, error) {
	h, err := DecodeBatchHeader(b)
	if err != nil {
		return h, dst, err
	}
	if crc32.Checksum(b[5:], castagnoli) != binary.BigEndian.Uint32(b[1:]) {
		return h, dst, fmt.Errorf("%w: crc mismatch at offset %d", ErrCorrupt, h.BaseOffset)
	}
	n0 := len(dst)
	rest := b[BatchHeaderSize:]
	i := int32(0)
	for ; i < h.Count && h.BaseOffset+int64(i) < from; i++ {
		if rest, err = skipRecord(rest); err != nil {
			return h, dst[:n0], fmt.Errorf("%w: record %d of batch at %d: %v", ErrCorrupt, i, h.BaseOffset, err)
		}
	}
	for ; i < h.Count && len(dst)-n0 < limit; i++ {
		var r Record
		rest, err = decodeRecord(rest, h.FirstTimestamp, &r)
		if err != nil {
			return h, dst[:n0], fmt.Errorf("%w: record %d of batch at %d: %v", ErrCorrupt, i, h.BaseOffset, err)
		}
		r.Offset = h.BaseOffset + int64(i)
		dst = append(dst, r)
	}
	if i == h.Count && len(rest) != 0 {
		return h, dst[:n0], fmt.Errorf("%w: %d trailing bytes in batch at %d", ErrCorrupt, len(rest), h.BaseOffset)
	}
	return h, dst, nil
}

// skipRecord returns what follows the length-prefixed record at b.
func skipRecord(b []byte) ([]byte, error) {
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)-k) {
		return nil, errShort
	}
	return b[k+int(n):], nil
}

var errShort = errors.New("truncated")

func decodeRecord(b []byte, firstTS int64, r *Record) ([]byte, error) {
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)-k) {
		return nil, errShort
	}
	body, rest := b[k:k+int(n)], b[k+int(n):]
	d, k := binary.Varint(body)
	if k <= 0 || len(body) < k+1 {
		return nil, errShort
	}
	r.Timestamp = firstTS + d
	f := body[k]
	r.KeyFormat, r.ValueFormat = Format(f>>4), Format(f&0x0f)
	if r.KeyFormat > FormatJSON || r.ValueFormat > FormatJSON {
		return nil, errors.New("unknown format")
	}
	body = body[k+1:]
	var err error
	if r.Key, body, err = readBytes(body); err != nil {
		return nil, err
	}
	if r.Value, body, err = readBytes(body); err != nil {
		return nil, err
	}
	if r.KeyFormat == FormatNull {
		r.Key = nil
	}
	if r.ValueFormat == FormatNull {
		r.Value = nil
	}
	nh, k := binary.Uvarint(body)
	if k <= 0 || nh > uint64(len(body)) {
		return nil, errShort
	}
	body = body[k:]
	if nh > 0 {
		r.Headers = make([]Header, nh)
		for i := range r.Headers {
			var hk, hv []byte
			if hk, body, err = readBytes(body); err != nil {
				return nil, err
			}
			if hv, body, err = readBytes(body); err != nil {
				return nil, err
			}
			r.Headers[i] = Header{Key: string(hk), Value: string(hv)}
		}
	}
	if len(body) != 0 {
		return nil, errors.New("trailing bytes in record")
	}
	return rest, nil
}

func readBytes(b []byte) (v, rest []byte, err error) {
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)-k) {
		return nil, nil, errShort
	}
	return b[k : k+int(n) : k+int(n)], b[k+int(n):], nil
}

// CheckBatch decodes b's header and checks its CRC, without decoding the
// records: what a follower checks of each batch it receives before storing
// the bytes unchanged.
func CheckBatch(b []byte) (BatchHeader, error) {
	h, err := DecodeBatchHeader(b)
	if err != nil {
		return h, err
	}
	if crc32.Checksum(b[5:], castagnoli) != binary.BigEndian.Uint32(b[1:]) {
		return h, fmt.Errorf("%w: crc mismatch at offset %d", ErrCorrupt, h.BaseOffset)
	}
	return h, nil
}
