package peer

import (
	"context"
	"encoding/binary"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/fjord-streaming/fjord/engine"
)

// The replica fetch rounds: each a binary request naming every partition a
// follower follows from one leader and a binary answer carrying the
// leader's batches unchanged (never re-encoded). They travel over the
// replica stream (stream.go), or as POST pathReplicaFetch requests to a
// broker that does not serve it.
const (
	pathReplicaFetch = PathPrefix + "replica/fetch"
	// MediaReplicaFetch is the media type of both directions.
	MediaReplicaFetch = "application/vnd.fjord.replica-fetch.v1"
	// maxReplicaRequest bounds a request body: about 450 000 partitions.
	maxReplicaRequest = 16 << 20
	// maxReplicaAnswer bounds an answer body (the leader sends at most
	// engine's replicaMaxResponseBytes of batches, plus headers).
	maxReplicaAnswer = 64 << 20
	// maxIncarnation bounds the incarnation string.
	maxIncarnation = 256
)

// Sizes of the fixed parts of the encoding.
const (
	replicaRequestHead  = 4 + 2 + 4 + 4 + 4 // follower, incarnation length, wait, max bytes, count
	replicaPartitionLen = 8 + 4 + 8 + 4 + 4 + 8
	replicaAnswerHead   = 8 + 4 + 1 + 8 + 8 + 8 + 4 + 8 + 4
)

// replicaFetchRound sends one round of this broker's fetch stream to
// leader as a POST of its own (leaders that do not serve the stream).
func (c *Client) replicaFetchRound(ctx context.Context, leader int32, req engine.ReplicaFetchRequest) (engine.ReplicaFetchResponse, error) {
	body := EncodeReplicaRequest(req)
	resp, name, err := c.call(ctx, leader, http.MethodPost, pathReplicaFetch, nil, MediaReplicaFetch, body, -1)
	if err != nil {
		return engine.ReplicaFetchResponse{}, err
	}
	defer resp.Body.Close()
	b, err := readAnswer(resp, maxReplicaAnswer)
	if err != nil {
		return engine.ReplicaFetchResponse{}, transportError(ctx, name, err)
	}
	out, err := DecodeReplicaResponse(b)
	if err != nil {
		c.cfg.Logger.Warn("malformed replica fetch answer", "broker", name, "err", err)
		return engine.ReplicaFetchResponse{}, err
	}
	return out, nil
}

func (s *Server) replicaFetch(c echo.Context) error {
	body, err := readBody(c, maxReplicaRequest)
	if err != nil {
		return s.fail(c, err)
	}
	req, err := DecodeReplicaRequest(body)
	if err != nil {
		return s.fail(c, err)
	}
	resp := s.eng.ServeReplicaFetch(c.Request().Context(), req)
	buf := answerBuffers.Get().(*[]byte)
	*buf = appendReplicaResponse((*buf)[:0], resp)
	err = answerBlob(c, MediaReplicaFetch, *buf)
	if cap(*buf) <= maxPooledAnswer {
		answerBuffers.Put(buf)
	}
	return err
}

// answerBuffers holds encoded replica answers' buffers between rounds: a
// follower's rounds carry up to a few MB each, and a new buffer per round
// is allocated and cleared for nothing. Buffers above maxPooledAnswer (a
// catch-up's answers) are left to the collector.
var answerBuffers = sync.Pool{New: func() any { return new([]byte) }}

const maxPooledAnswer = 8 << 20

// EncodeReplicaRequest encodes a replica fetch request (big-endian):
//
//	follower(4) incarnationLen(2) incarnation waitMs(4) maxBytes(4) count(4)
//	count * (topicID(8) partition(4) fetchOffset(8) leaderEpoch(4) lastFetchedEpoch(4) hw(8))
func EncodeReplicaRequest(r engine.ReplicaFetchRequest) []byte {
	inc := r.Incarnation[:min(len(r.Incarnation), maxIncarnation)]
	b := make([]byte, 0, replicaRequestHead+len(inc)+len(r.Partitions)*replicaPartitionLen)
	b = binary.BigEndian.AppendUint32(b, uint32(r.Follower))
	b = binary.BigEndian.AppendUint16(b, uint16(len(inc)))
	b = append(b, inc...)
	b = binary.BigEndian.AppendUint32(b, uint32(max(0, min(r.MaxWait.Milliseconds(), 1<<31-1))))
	b = binary.BigEndian.AppendUint32(b, uint32(max(0, r.MaxBytes)))
	b = binary.BigEndian.AppendUint32(b, uint32(len(r.Partitions)))
	for _, p := range r.Partitions {
		b = binary.BigEndian.AppendUint64(b, p.TopicID)
		b = binary.BigEndian.AppendUint32(b, uint32(p.Partition))
		b = binary.BigEndian.AppendUint64(b, uint64(p.FetchOffset))
		b = binary.BigEndian.AppendUint32(b, uint32(p.LeaderEpoch))
		b = binary.BigEndian.AppendUint32(b, uint32(p.LastFetchedEpoch))
		b = binary.BigEndian.AppendUint64(b, uint64(p.HighWatermark))
	}
	return b
}

// DecodeReplicaRequest decodes EncodeReplicaRequest's encoding; any other
// input is an error wrapping engine.ErrInvalidRequest.
func DecodeReplicaRequest(b []byte) (engine.ReplicaFetchRequest, error) {
	d := decoder{b: b}
	var r engine.ReplicaFetchRequest
	r.Follower = int32(d.u32())
	if n := int(d.u16()); n > maxIncarnation {
		d.fail("incarnation of %d bytes", n)
	} else {
		r.Incarnation = string(d.bytes(n))
	}
	wait, maxBytes := d.u32(), d.u32()
	if wait > 1<<31-1 || maxBytes > 1<<31-1 {
		d.fail("wait or max bytes out of range")
	}
	r.MaxWait, r.MaxBytes = time.Duration(wait)*time.Millisecond, int32(maxBytes)
	n := d.count(replicaPartitionLen)
	if d.err == nil {
		r.Partitions = make([]engine.ReplicaFetchPartition, n)
	}
	for i := range r.Partitions {
		r.Partitions[i] = engine.ReplicaFetchPartition{TopicID: d.u64(), Partition: int32(d.u32()),
			FetchOffset: int64(d.u64()), LeaderEpoch: int32(d.u32()), LastFetchedEpoch: int32(d.u32()),
			HighWatermark: int64(d.u64())}
		if p := r.Partitions[i]; d.err == nil && (p.FetchOffset < 0 || p.Partition < 0) {
			d.fail("partition %d: negative offset or partition", i)
		}
	}
	if err := d.done(); err != nil {
		return engine.ReplicaFetchRequest{}, fmt.Errorf("%w: replica fetch request: %w", engine.ErrInvalidRequest, err)
	}
	return r, nil
}

// EncodeReplicaResponse encodes a replica fetch answer (big-endian):
//
//	count(4) count * (topicID(8) partition(4) err(1) hw(8) logStart(8) logEnd(8)
//	                  divergingEpoch(4) divergingEnd(8) batches(4) batches * (len(4) batch))
func EncodeReplicaResponse(r engine.ReplicaFetchResponse) []byte {
	return appendReplicaResponse(nil, r)
}

// appendReplicaResponse appends EncodeReplicaResponse's encoding of r to b.
func appendReplicaResponse(b []byte, r engine.ReplicaFetchResponse) []byte {
	size := 4
	for _, a := range r.Partitions {
		size += replicaAnswerHead
		for _, bt := range a.Batches {
			size += 4 + len(bt)
		}
	}
	b = slices.Grow(b, size)
	b = binary.BigEndian.AppendUint32(b, uint32(len(r.Partitions)))
	for _, a := range r.Partitions {
		b = appendAnswerHead(b, a)
		for _, bt := range a.Batches {
			b = binary.BigEndian.AppendUint32(b, uint32(len(bt)))
			b = append(b, bt...)
		}
	}
	return b
}

// appendAnswerHead appends the fixed fields of one partition's answer and
// its batch count.
func appendAnswerHead(b []byte, a engine.ReplicaFetchAnswer) []byte {
	b = binary.BigEndian.AppendUint64(b, a.TopicID)
	b = binary.BigEndian.AppendUint32(b, uint32(a.Partition))
	b = append(b, byte(a.Err))
	b = binary.BigEndian.AppendUint64(b, uint64(a.HighWatermark))
	b = binary.BigEndian.AppendUint64(b, uint64(a.LogStart))
	b = binary.BigEndian.AppendUint64(b, uint64(a.LogEnd))
	b = binary.BigEndian.AppendUint32(b, uint32(a.DivergingEpoch))
	b = binary.BigEndian.AppendUint64(b, uint64(a.DivergingEnd))
	return binary.BigEndian.AppendUint32(b, uint32(len(a.Batches)))
}

// DecodeReplicaResponse decodes EncodeReplicaResponse's encoding. The
// batches alias b. Any other input is an error wrapping ErrBadAnswer.
func DecodeReplicaResponse(b []byte) (engine.ReplicaFetchResponse, error) {
	d := decoder{b: b}
	var r engine.ReplicaFetchResponse
	n := d.count(replicaAnswerHead)
	if d.err == nil {
		r.Partitions = make([]engine.ReplicaFetchAnswer, n)
	}
	for i := range r.Partitions {
		a := &r.Partitions[i]
		a.TopicID, a.Partition, a.Err = d.u64(), int32(d.u32()), engine.ReplicaError(d.u8())
		a.HighWatermark, a.LogStart, a.LogEnd = int64(d.u64()), int64(d.u64()), int64(d.u64())
		a.DivergingEpoch, a.DivergingEnd = int32(d.u32()), int64(d.u64())
		nb := d.count(4)
		for j := 0; j < nb && d.err == nil; j++ {
			a.Batches = append(a.Batches, d.bytes(int(d.u32())))
		}
	}
	if err := d.done(); err != nil {
		return engine.ReplicaFetchResponse{}, fmt.Errorf("%w: replica fetch answer: %w", ErrBadAnswer, err)
	}
	return r, nil
}

// decoder reads big-endian fields; the first error sticks and later reads
// return zeros.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf(format, args...)
	}
}

func (d *decoder) bytes(n int) []byte {
	if d.err != nil {
		return nil
	}
	if n < 0 || n > len(d.b) {
		d.fail("truncated: %d bytes wanted, %d left", n, len(d.b))
		return nil
	}
	v := d.b[:n:n]
	d.b = d.b[n:]
	return v
}

func (d *decoder) u8() uint8 {
	if v := d.bytes(1); v != nil {
		return v[0]
	}
	return 0
}

func (d *decoder) u16() uint16 {
	if v := d.bytes(2); v != nil {
		return binary.BigEndian.Uint16(v)
	}
	return 0
}

func (d *decoder) u32() uint32 {
	if v := d.bytes(4); v != nil {
		return binary.BigEndian.Uint32(v)
	}
	return 0
}

func (d *decoder) u64() uint64 {
	if v := d.bytes(8); v != nil {
		return binary.BigEndian.Uint64(v)
	}
	return 0
}

// count reads an element count and checks that count elements of at least
// minSize bytes each fit in what is left, so a lying count allocates nothing.
func (d *decoder) count(minSize int) int {
	n := int(d.u32())
	if d.err == nil && n > len(d.b)/minSize {
		d.fail("count %d does not fit in %d bytes", n, len(d.b))
		return 0
	}
	return n
}

func (d *decoder) done() error {
	if d.err == nil && len(d.b) != 0 {
		d.fail("%d trailing bytes", len(d.b))
	}
	return d.err
}
