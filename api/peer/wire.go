package peer

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/fjord-streaming/fjord/engine"
	"github.com/fjord-streaming/fjord/storage"
)

// Header names and media types of the peer API (doc.go).
const (
	// HeaderSecret carries the cluster secret.
	HeaderSecret = "X-Fjord-Cluster-Secret"
	// HeaderForwardedBy carries the id of the broker that sent the request.
	HeaderForwardedBy = "X-Fjord-Forwarded-By"
	// HeaderMetadataVersion carries the metadata version the calling broker
	// had applied: the callee applies at least that much first (bounded by
	// versionWait), so a call made right after a topic change does not meet
	// a broker that has not heard of it yet.
	HeaderMetadataVersion = "X-Fjord-Metadata-Version"
	// MediaBatch is the media type of an append body: one storage batch.
	MediaBatch = "application/vnd.fjord.batch.v1"
	// MediaFetch is the media type of a fetch answer.
	MediaFetch = "application/vnd.fjord.fetch.v1"
)

// Bounds of the peer API.
const (
	// MaxAppendBytes bounds an append body.
	MaxAppendBytes = 64 << 20
	// MaxAdminBytes bounds an admin body.
	MaxAdminBytes = 1 << 20
	// MaxFetchBytes is the most max_bytes a fetch may ask for.
	MaxFetchBytes = 64 << 20
	// maxFetchBatch bounds the batch of a fetch answer the client accepts:
	// MaxFetchBytes plus one record over it (a read returns at least one).
	maxFetchBatch = MaxFetchBytes + MaxAppendBytes
	// maxJSONAnswer bounds a JSON or problem+json answer.
	maxJSONAnswer = 1 << 20
)

// ErrBadAnswer marks an answer from another broker that does not follow
// the wire format. A corrupt batch also matches storage.ErrCorrupt.
var ErrBadAnswer = errors.New("peer: malformed answer")

const (
	fetchVersion    = 1
	fetchHeaderSize = 53
)

// fetchHeader is the fixed header of a fetch answer.
type fetchHeader struct {
	engine.Offsets
	NextOffset int64
	Broker     int32
	BatchLen   uint32
}

// encodeFetchAnswer encodes res as a fetch answer. Its records must have
// consecutive offsets (every read returns them so).
func encodeFetchAnswer(res engine.ReadResult) ([]byte, error) {
	recs := res.Records
	for i := 1; i < len(recs); i++ {
		if recs[i].Offset != recs[0].Offset+int64(i) {
			return nil, fmt.Errorf("peer: read returned offset %d after %d", recs[i].Offset, recs[i-1].Offset)
		}
	}
	size := fetchHeaderSize
	for i := range recs {
		size += recs[i].Size()
	}
	b := make([]byte, fetchHeaderSize, size+storage.BatchHeaderSize)
	if len(recs) > 0 {
		b = storage.AppendBatch(b, recs[0].Offset, 0, recs)
	}
	putFetchHeader(b, fetchHeader{Offsets: res.Offsets, NextOffset: res.NextOffset, Broker: res.Broker,
		BatchLen: uint32(len(b) - fetchHeaderSize)})
	return b, nil
}

func putFetchHeader(b []byte, h fetchHeader) {
	b[0] = fetchVersion
	binary.BigEndian.PutUint64(b[1:], uint64(h.LogStart))
	binary.BigEndian.PutUint64(b[9:], uint64(h.HighWatermark))
	binary.BigEndian.PutUint64(b[17:], uint64(h.LogEnd))
	binary.BigEndian.PutUint32(b[25:], uint32(h.LeaderEpoch))
	binary.BigEndian.PutUint64(b[29:], uint64(h.Bytes))
	binary.BigEndian.PutUint64(b[37:], uint64(h.NextOffset))
	binary.BigEndian.PutUint32(b[45:], uint32(h.Broker))
	binary.BigEndian.PutUint32(b[49:], h.BatchLen)
}

// parseFetchHeader reads the fixed header of a fetch answer.
func parseFetchHeader(b []byte) (fetchHeader, error) {
	if len(b) < fetchHeaderSize {
		return fetchHeader{}, fmt.Errorf("%w: fetch answer of %d bytes is shorter than its header", ErrBadAnswer, len(b))
	}
	if b[0] != fetchVersion {
		return fetchHeader{}, fmt.Errorf("%w: fetch answer version %d, want %d", ErrBadAnswer, b[0], fetchVersion)
	}
	h := fetchHeader{
		Offsets: engine.Offsets{
			LogStart:      int64(binary.BigEndian.Uint64(b[1:])),
			HighWatermark: int64(binary.BigEndian.Uint64(b[9:])),
			LogEnd:        int64(binary.BigEndian.Uint64(b[17:])),
			LeaderEpoch:   int32(binary.BigEndian.Uint32(b[25:])),
			Bytes:         int64(binary.BigEndian.Uint64(b[29:])),
		},
		NextOffset: int64(binary.BigEndian.Uint64(b[37:])),
		Broker:     int32(binary.BigEndian.Uint32(b[45:])),
		BatchLen:   binary.BigEndian.Uint32(b[49:]),
	}
	if h.BatchLen > maxFetchBatch {
		return h, fmt.Errorf("%w: fetch batch of %d bytes is over the %d limit", ErrBadAnswer, h.BatchLen, maxFetchBatch)
	}
	return h, nil
}

// decodeFetchBatch decodes the batch that follows h. The records alias
// batch, which the caller hands over.
func decodeFetchBatch(h fetchHeader, batch []byte) (engine.ReadResult, error) {
	res := engine.ReadResult{Offsets: h.Offsets, NextOffset: h.NextOffset, Broker: h.Broker}
	if len(batch) != int(h.BatchLen) {
		return res, fmt.Errorf("%w: fetch batch is %d bytes, header says %d", ErrBadAnswer, len(batch), h.BatchLen)
	}
	if len(batch) == 0 {
		return res, nil
	}
	bh, recs, err := storage.DecodeBatch(nil, batch)
	if err != nil {
		return res, fmt.Errorf("%w: %w", ErrBadAnswer, err)
	}
	if bh.LeaderEpoch != 0 {
		return res, fmt.Errorf("%w: fetch batch has leader epoch %d, want 0", ErrBadAnswer, bh.LeaderEpoch)
	}
	if h.NextOffset < bh.NextOffset() {
		return res, fmt.Errorf("%w: next offset %d is inside the batch read (up to %d)", ErrBadAnswer, h.NextOffset, bh.LastOffset())
	}
	res.Records = recs
	return res, nil
}

// decodeFetchAnswer decodes a whole fetch answer.
func decodeFetchAnswer(b []byte) (engine.ReadResult, error) {
	h, err := parseFetchHeader(b)
	if err != nil {
		return engine.ReadResult{}, err
	}
	return decodeFetchBatch(h, b[fetchHeaderSize:])
}

// decodeAppendBody decodes an append body: one batch with base offset 0
// and leader epoch 0. The records alias b.
func decodeAppendBody(b []byte) ([]storage.Record, error) {
	h, recs, err := storage.DecodeBatch(nil, b)
	if err != nil {
		return nil, fmt.Errorf("%w: append body: %v", engine.ErrInvalidRequest, err)
	}
	if h.BaseOffset != 0 || h.LeaderEpoch != 0 {
		return nil, fmt.Errorf("%w: append batch has base offset %d and leader epoch %d, want 0 and 0",
			engine.ErrInvalidRequest, h.BaseOffset, h.LeaderEpoch)
	}
	return recs, nil
}

// offsetsJSON is engine.Offsets on the wire.
type offsetsJSON struct {
	LogStart      int64 `json:"log_start_offset"`
	HighWatermark int64 `json:"high_watermark"`
	LogEnd        int64 `json:"log_end_offset"`
	LeaderEpoch   int32 `json:"leader_epoch"`
	Bytes         int64 `json:"bytes"`
}

func toOffsetsJSON(o engine.Offsets) offsetsJSON {
	return offsetsJSON{LogStart: o.LogStart, HighWatermark: o.HighWatermark, LogEnd: o.LogEnd, LeaderEpoch: o.LeaderEpoch, Bytes: o.Bytes}
}

func (o offsetsJSON) engine() engine.Offsets {
	return engine.Offsets{LogStart: o.LogStart, HighWatermark: o.HighWatermark, LogEnd: o.LogEnd, LeaderEpoch: o.LeaderEpoch, Bytes: o.Bytes}
}

// offsetForTimestampJSON is engine.OffsetsForTimestamp on the wire.
type offsetForTimestampJSON struct {
	offsetsJSON
	Offset int64 `json:"offset"`
	Found  bool  `json:"found"`
}

// appendAnswer is the answer of an append.
type appendAnswer struct {
	BaseOffset int64 `json:"base_offset"`
}

// adminAnswer is the answer of a topic change.
type adminAnswer struct {
	MetadataVersion uint64 `json:"metadata_version"`
}

// topicSpecJSON is engine.TopicSpec on the wire.
type topicSpecJSON struct {
	Name              string           `json:"name"`
	Partitions        int32            `json:"partitions"`
	ReplicationFactor int32            `json:"replication_factor"`
	Config            map[string]int64 `json:"config,omitempty"`
	Internal          bool             `json:"internal,omitempty"`
}

func toTopicSpecJSON(s engine.TopicSpec) topicSpecJSON {
	return topicSpecJSON{Name: s.Name, Partitions: s.Partitions, ReplicationFactor: s.ReplicationFactor, Config: s.Config, Internal: s.Internal}
}

func (s topicSpecJSON) engine() engine.TopicSpec {
	return engine.TopicSpec{Name: s.Name, Partitions: s.Partitions, ReplicationFactor: s.ReplicationFactor, Config: s.Config, Internal: s.Internal}
}

// topicUpdateJSON is engine.TopicUpdate on the wire.
type topicUpdateJSON struct {
	Partitions        *int32           `json:"partitions,omitempty"`
	Config            map[string]int64 `json:"config,omitempty"`
	ReplicationFactor *int32           `json:"replication_factor,omitempty"`
}
