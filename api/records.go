package api

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/fjord-streaming/fjord/api/problem"
	"github.com/fjord-streaming/fjord/api/wire"
	"github.com/fjord-streaming/fjord/engine"
)

// ProduceRequest is the body of a produce request. With Content-Type
// application/x-ndjson the body is instead one record object per line.
type ProduceRequest struct {
	// Records to append; a request with one invalid record writes nothing.
	Records []ProduceRecordDoc `json:"records"`
}

// ProduceRecordDoc documents one record to produce. At most one of key and
// key_base64, and at most one of value and value_base64.
type ProduceRecordDoc struct {
	// Key is a string whose UTF-8 bytes are the key. Neither key nor key_base64 means a null key.
	Key string `json:"key,omitempty" example:"user-42"`
	// KeyBase64 is a raw-bytes key in standard base64.
	KeyBase64 string `json:"key_base64,omitempty" format:"byte" example:"AAE="`
	// Value is any JSON value, stored and returned byte-exact (whitespace, number spelling and
	// escapes included); null or absent is a null value (a tombstone).
	Value any `json:"value,omitempty" extensions:"x-nullable"`
	// ValueBase64 is a raw-bytes value in standard base64.
	ValueBase64 string `json:"value_base64,omitempty" format:"byte" example:"aGVsbG8="`
	// Headers map strings to strings.
	Headers map[string]string `json:"headers,omitempty" example:"trace:abc"`
	// Partition overrides the partitioner (otherwise murmur2 of the key, or sticky for null keys).
	Partition *int32 `json:"partition,omitempty" example:"2" minimum:"0"`
	// Timestamp in Unix epoch ms; defaults to the broker's clock.
	Timestamp *int64 `json:"timestamp,omitempty" example:"1767225600000"`
}

// ProduceError is the error of one record in a 207 answer.
type ProduceError struct {
	// Code is the API code the failure would have as a problem.
	Code    string `json:"code" example:"not_enough_replicas"`
	Message string `json:"message" example:"not enough in-sync replicas"`
	// Appended is true when the leader had stored the records in its log before the failure, as in a problem's
	// appended member: not acknowledged by enough replicas, they may still commit, and a retry may store them twice.
	Appended bool `json:"appended,omitempty"`
}

// ProduceOffset is the outcome of one record, in request order.
type ProduceOffset struct {
	Partition int32 `json:"partition" example:"1"`
	// Offset is absent when the record failed (then error is set).
	Offset    *int64        `json:"offset,omitempty" example:"42"`
	Timestamp int64         `json:"timestamp" example:"1767225600123"`
	Error     *ProduceError `json:"error,omitempty"`
}

// ProduceResponse is the body of a 200 or 207 produce answer.
type ProduceResponse struct {
	// Offsets has one entry per record, in request order.
	Offsets []ProduceOffset `json:"offsets"`
}

// AcceptedResponse is the body of an acks=0 produce answer.
type AcceptedResponse struct {
	Accepted int `json:"accepted" example:"3"`
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 64<<10); return &b }}

// produce godoc
// @Summary      Produce records
// @Description  Appends records. An explicit partition wins; a key maps to toPositive(murmur2(key)) % partitions,
// @Description  like Kafka's Java client; records without a key go to one partition per request, rotating. The body
// @Description  is {"records":[...]} as application/json (also accepted: no Content-Type, and curl's default
// @Description  application/x-www-form-urlencoded, both read as JSON), or one record object per line as
// @Description  application/x-ndjson. A request with one invalid record writes nothing. Records of one request that
// @Description  share a partition get consecutive offsets in request order.
// @ID           produce
// @Tags         records
// @Accept       json
// @Accept       application/x-ndjson
// @Produce      json
// @Param        topic      path  string true  "topic name (created with defaults on first produce while --auto-create-topics is on)" example(orders)
// @Param        acks       query string false "0: answer 202 once validated; 1: once the leader stored the records durably; all: once every in-sync replica has them" Enums(0,1,all) default(all)
// @Param        timeout_ms query int    false "longest wait for acknowledgements from replicas (then 504 request_timeout); the local durable write always completes" default(30000) minimum(0) maximum(300000)
// @Param        body       body  api.ProduceRequest true "records"
// @Success      200 {object} api.ProduceResponse "every record written: one entry per record, in request order"
// @Success      202 {object} api.AcceptedResponse "acks=0: validated and accepted"
// @Success      207 {object} api.ProduceResponse "some partitions written, others failed: failed entries carry error instead of offset"
// @Failure      400 {object} problem.Details "invalid_request (malformed body, bad base64, both value and value_base64, ...), invalid_topic_name"
// @Failure      404 {object} problem.Details "topic_not_found (auto-create off), partition_not_found"
// @Failure      413 {object} problem.Details "record_too_large (above the topic's max.message.bytes), request_too_large (above --max-request-bytes)"
// @Failure      408 {object} problem.Details "request_timeout (the body did not arrive within --body-read-timeout)"
// @Failure      415 {object} problem.Details "unsupported_media_type"
// @Failure      503 {object} problem.Details "not_enough_replicas, leader_not_available (appended true: the leader stored the records but not enough replicas acknowledged them, and a retry may store them twice; a not_enough_replicas without it wrote nothing)"
// @Failure      504 {object} problem.Details "request_timeout (appended true: the leader stored the records, the in-sync replicas did not acknowledge them within timeout_ms)"
// @Router       /topics/{topic}/records [post]
func (s *Server) produce(c echo.Context) error {
	recs, acks, timeout, release, err := s.decodeProduce(c)
	if err != nil {
		return err
	}
	if acks != engine.AcksNone {
		// With acks=0 the records are appended after the answer, so their
		// buffer is left to the garbage collector.
		defer release()
	}
	ctx, cancel := context.WithTimeout(c.Request().Context(), timeout)
	defer cancel()
	results, err := s.engine.Produce(ctx, c.Param("topic"), recs, acks)
	if err != nil {
		return err
	}
	if acks == engine.AcksNone {
		return c.JSON(http.StatusAccepted, AcceptedResponse{Accepted: len(results)})
	}
	status := http.StatusOK
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	b := append((*bp)[:0], `{"offsets":[`...)
	// Partitions and timestamps repeat down the answer and offsets count up.
	var partition, offset, timestamp wire.Digits
	for i, r := range results {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"partition":`...)
		b = partition.Append(b, int64(r.Partition))
		if r.Err != nil {
			status = http.StatusMultiStatus
			b = append(b, `,"timestamp":`...)
			b = timestamp.Append(b, r.Timestamp)
			b = append(b, `,"error":`...)
			b = problem.AppendEntryError(b, r.Err)
			b = append(b, '}')
			continue
		}
		b = append(b, `,"offset":`...)
		b = offset.Append(b, r.Offset)
		b = append(b, `,"timestamp":`...)
		b = timestamp.Append(b, r.Timestamp)
		b = append(b, '}')
	}
	b = append(b, "]}\n"...)
	*bp = b
	s.nameLeader(c, results)
	return c.Blob(status, echo.MIMEApplicationJSON, b)
}

// nameLeader sets X-Fjord-Broker to the leader that stored the records when
// they all went to one partition (the broker whose replica served the
// request); otherwise the header keeps this broker's id.
func (s *Server) nameLeader(c echo.Context, results []engine.ProduceResult) {
	if len(results) == 0 {
		return
	}
	for _, r := range results[1:] {
		if r.Partition != results[0].Partition {
			return
		}
	}
	p, err := s.engine.Partition(c.Param("topic"), results[0].Partition)
	if err != nil {
		return
	}
	if leader := p.Placement().Leader; leader > 0 && leader != s.engine.BrokerID() {
		c.Response().Header().Set("X-Fjord-Broker", strconv.Itoa(int(leader)))
	}
}

// produceToPartition godoc
// @Summary      Produce records to one partition
// @Description  Same as producing to the topic, with every record's partition fixed by the path (a record naming
// @Description  another partition is invalid_request).
// @ID           produceToPartition
// @Tags         records
// @Accept       json
// @Accept       application/x-ndjson
// @Produce      json
// @Param        topic      path  string true  "topic name (created with defaults on first produce while --auto-create-topics is on)" example(orders)
// @Param        partition  path  int    true  "partition" minimum(0)
// @Param        acks       query string false "0: answer 202 once validated; 1: once the leader stored the records durably; all: once every in-sync replica has them" Enums(0,1,all) default(all)
// @Param        timeout_ms query int    false "longest wait for acknowledgements from replicas (then 504 request_timeout); the local durable write always completes" default(30000) minimum(0) maximum(300000)
// @Param        body       body  api.ProduceRequest true "records"
// @Success      200 {object} api.ProduceResponse "every record written: one entry per record, in request order"
// @Success      202 {object} api.AcceptedResponse "acks=0: validated and accepted"
// @Success      207 {object} api.ProduceResponse "some records failed: failed entries carry error instead of offset"
// @Failure      400 {object} problem.Details "invalid_request (malformed body, bad base64, a record naming another partition, ...), invalid_topic_name"
// @Failure      404 {object} problem.Details "topic_not_found (auto-create off), partition_not_found"
// @Failure      413 {object} problem.Details "record_too_large (above the topic's max.message.bytes), request_too_large (above --max-request-bytes)"
// @Failure      408 {object} problem.Details "request_timeout (the body did not arrive within --body-read-timeout)"
// @Failure      415 {object} problem.Details "unsupported_media_type"
// @Failure      503 {object} problem.Details "not_enough_replicas, leader_not_available (appended true: the leader stored the records but not enough replicas acknowledged them, and a retry may store them twice; a not_enough_replicas without it wrote nothing)"
// @Failure      504 {object} problem.Details "request_timeout (appended true: the leader stored the records, the in-sync replicas did not acknowledge them within timeout_ms)"
// @Router       /topics/{topic}/partitions/{partition}/records [post]
func (s *Server) produceToPartition(c echo.Context) error { return s.produce(c) }

// decodeProduce reads the query and body of a produce request.
func (s *Server) decodeProduce(c echo.Context) (recs []engine.ProduceRecord, acks engine.Acks, timeout time.Duration, release func(), err error) {
	release = func() {}
	if acks, err = parseAcks(c.QueryParam("acks")); err != nil {
		return
	}
	tms, err := queryInt(c, "timeout_ms", 30000, 0, 300000)
	if err != nil {
		return
	}
	timeout = time.Duration(tms) * time.Millisecond
	fixed := wire.NoPartition
	if c.Param("partition") != "" {
		if fixed, err = pathPartition(c); err != nil {
			return
		}
	}
	kind, err := mediaType(c, true)
	if err != nil {
		return
	}
	body, err := s.limitBody(c)
	if err != nil {
		return
	}
	buf, release, err := readPooled(body, c.Request().ContentLength)
	if err != nil {
		return
	}
	if kind == bodyNDJSON {
		recs, err = wire.DecodeProduceNDJSONBytes(buf, wire.Limits{})
	} else {
		recs, err = wire.DecodeProduceJSONBytes(buf, wire.Limits{})
	}
	if err == nil && fixed != wire.NoPartition {
		for i := range recs {
			if p := recs[i].Partition; p != wire.NoPartition && p != fixed {
				err = invalid(fmt.Sprintf("record %d: partition %d differs from the partition %d in the path", i, p, fixed))
				break
			}
			recs[i].Partition = fixed
		}
	}
	if err != nil {
		release()
		return nil, 0, 0, func() {}, err
	}
	return recs, acks, timeout, release, nil
}

// bodyPool holds request-body buffers: a produce body is read into one, its
// records alias it while they are appended, and it comes back once the
// append returned.
var bodyPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// maxPooledBody is the largest buffer kept for reuse.
const maxPooledBody = 4 << 20

// readPooled reads r whole into a pooled buffer, sized up front when the
// length is declared. release returns the buffer; call it only when nothing
// aliases the bytes any more.
func readPooled(r io.Reader, length int64) ([]byte, func(), error) {
	b := bodyPool.Get().(*bytes.Buffer)
	b.Reset()
	if length > 0 {
		b.Grow(int(length) + bytes.MinRead)
	}
	release := func() {
		if b.Cap() <= maxPooledBody {
			bodyPool.Put(b)
		}
	}
	if _, err := b.ReadFrom(r); err != nil {
		release()
		return nil, nil, fmt.Errorf("read body: %w", err)
	}
	return b.Bytes(), release, nil
}

// ReadResponse is the body of a partition read. Records carry offset,
// timestamp, key or key_base64, value or value_base64, and headers.
type ReadResponse struct {
	Topic          string `json:"topic" example:"orders"`
	Partition      int32  `json:"partition" example:"0"`
	LogStartOffset int64  `json:"log_start_offset" example:"0"`
	HighWatermark  int64  `json:"high_watermark" example:"44"`
	// NextOffset is where the next read should start.
	NextOffset int64           `json:"next_offset" example:"44"`
	Records    []ConsumeRecord `json:"records"`
}

// ConsumeRecord documents one record as consumers receive it. A record
// comes back in the form it was produced: key or key_base64 (neither for a
// null key), value or value_base64 (value null for a tombstone).
type ConsumeRecord struct {
	// Topic and Partition are given where a response mixes partitions (group fetches, WebSocket).
	Topic     string `json:"topic,omitempty" example:"orders"`
	Partition *int32 `json:"partition,omitempty" example:"0"`
	Offset    int64  `json:"offset" example:"42"`
	Timestamp int64  `json:"timestamp" example:"1767225600123"`
	// Key is a key produced as a string; key_base64 one produced as bytes; neither a null key.
	Key       string `json:"key,omitempty" example:"user-42"`
	KeyBase64 string `json:"key_base64,omitempty" format:"byte" example:"AAE="`
	// Value is a JSON value exactly as produced; null for a tombstone.
	Value any `json:"value,omitempty" extensions:"x-nullable"`
	// ValueBase64 is a value produced as bytes.
	ValueBase64 string            `json:"value_base64,omitempty" format:"byte" example:"aGVsbG8="`
	Headers     map[string]string `json:"headers,omitempty" example:"trace:abc"`
}

// readRecords godoc
// @Summary      Read a partition by offset (stateless, long-poll)
// @Description  Returns committed records (below the high watermark) from offset. When none are there yet, waits up to
// @Description  timeout_ms for some, then answers with what there is (possibly none). At least one record is returned
// @Description  when available, even if larger than max_bytes. A record comes back in the form it was produced: JSON
// @Description  value or value_base64, key or key_base64.
// @ID           readRecords
// @Tags         records
// @Produce      json
// @Param        topic       path  string true  "topic name" example(orders)
// @Param        partition   path  int    true  "partition" minimum(0)
// @Param        offset      query string false "an offset (a non-negative integer), earliest or latest" default(earliest)
// @Param        max_records query int    false "most records to return" default(500) minimum(1) maximum(10000)
// @Param        max_bytes   query int    false "stop after this many bytes" default(1048576) minimum(1) maximum(67108864)
// @Param        timeout_ms  query int    false "long-poll wait when no record is ready" default(0) minimum(0) maximum(60000)
// @Param        replica     query string false "leader (default) or local: read this broker's own replica, bounded by its own high watermark" Enums(leader,local) default(leader)
// @Success      200 {object} api.ReadResponse
// @Failure      400 {object} problem.Details "invalid_request"
// @Failure      404 {object} problem.Details "topic_not_found, partition_not_found"
// @Failure      409 {object} problem.Details "not_a_replica (replica=local on a broker holding none)"
// @Failure      416 {object} problem.Details "offset_out_of_range, with log_start_offset and high_watermark"
// @Router       /topics/{topic}/partitions/{partition}/records [get]
func (s *Server) readRecords(c echo.Context) error {
	topic := c.Param("topic")
	part, err := pathPartition(c)
	if err != nil {
		return err
	}
	req, err := readParams(c)
	if err != nil {
		return err
	}
	if r := c.QueryParam("replica"); r != "" && r != "local" && r != "leader" {
		return invalid(fmt.Sprintf("replica=%q must be local or leader", r))
	}
	fetch := s.engine.Fetch
	if c.QueryParam("replica") == "local" {
		fetch = s.engine.FetchLocal
	}
	res, err := fetch(c.Request().Context(), topic, part, req)
	if err != nil {
		return err
	}
	if res.Broker != 0 {
		c.Response().Header().Set("X-Fjord-Broker", strconv.Itoa(int(res.Broker)))
	}
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	b := append((*bp)[:0], `{"topic":`...)
	b = wire.AppendString(b, topic)
	b = append(b, `,"partition":`...)
	b = strconv.AppendInt(b, int64(part), 10)
	b = append(b, `,"log_start_offset":`...)
	b = strconv.AppendInt(b, res.LogStart, 10)
	b = append(b, `,"high_watermark":`...)
	b = strconv.AppendInt(b, res.HighWatermark, 10)
	b = append(b, `,"next_offset":`...)
	b = strconv.AppendInt(b, res.NextOffset, 10)
	b = append(b, `,"records":[`...)
	var enc wire.Encoder
	for i := range res.Records {
		if i > 0 {
			b = append(b, ',')
		}
		b = enc.AppendRecord(b, "", 0, &res.Records[i])
	}
	b = append(b, "]}\n"...)
	*bp = b
	return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, b)
}

// readParams parses offset, max_records, max_bytes and timeout_ms.
func readParams(c echo.Context) (engine.FetchRequest, error) {
	var req engine.FetchRequest
	var err error
	if req.Offset, err = parseOffset(c.QueryParam("offset"), engine.OffsetEarliest); err != nil {
		return req, err
	}
	n, err := queryInt(c, "max_records", 500, 1, 10000)
	if err != nil {
		return req, err
	}
	req.MaxRecords = int(n)
	if n, err = queryInt(c, "max_bytes", 1<<20, 1, 64<<20); err != nil {
		return req, err
	}
	req.MaxBytes = int(n)
	if n, err = queryInt(c, "timeout_ms", 0, 0, 60000); err != nil {
		return req, err
	}
	req.Wait = time.Duration(n) * time.Millisecond
	return req, nil
}

// OffsetsResponse is the body of the offsets endpoint.
type OffsetsResponse struct {
	LogStartOffset int64 `json:"log_start_offset" example:"0"`
	HighWatermark  int64 `json:"high_watermark" example:"44"`
	LogEndOffset   int64 `json:"log_end_offset" example:"44"`
	// OffsetForTimestamp is the first offset whose timestamp is >= timestamp; absent when none is.
	OffsetForTimestamp *int64 `json:"offset_for_timestamp,omitempty" example:"42"`
}

// partitionOffsets godoc
// @Summary      Partition offsets, and the first offset at or after a timestamp
// @ID           getPartitionOffsets
// @Tags         records
// @Produce      json
// @Param        topic     path  string true  "topic name" example(orders)
// @Param        partition path  int    true  "partition" minimum(0)
// @Param        timestamp query int    false "Unix epoch ms: also find the first offset whose timestamp is at or after it" minimum(0)
// @Success      200 {object} api.OffsetsResponse
// @Failure      400 {object} problem.Details "invalid_request"
// @Failure      404 {object} problem.Details "topic_not_found, partition_not_found"
// @Router       /topics/{topic}/partitions/{partition}/offsets [get]
func (s *Server) partitionOffsets(c echo.Context) error {
	part, err := pathPartition(c)
	if err != nil {
		return err
	}
	ts, err := queryInt(c, "timestamp", -1, 0, 1<<62)
	if err != nil {
		return err
	}
	topic := c.Param("topic")
	var out OffsetsResponse
	if ts < 0 {
		p, err := s.engine.Partition(topic, part)
		if err != nil {
			return err
		}
		o := p.Offsets()
		out = OffsetsResponse{LogStartOffset: o.LogStart, HighWatermark: o.HighWatermark, LogEndOffset: o.LogEnd}
		return c.JSON(http.StatusOK, out)
	}
	r, err := s.engine.OffsetForTimestamp(topic, part, ts)
	if err != nil {
		return err
	}
	out = OffsetsResponse{LogStartOffset: r.LogStart, HighWatermark: r.HighWatermark, LogEndOffset: r.LogEnd}
	if r.Found {
		out.OffsetForTimestamp = &r.Offset
	}
	return c.JSON(http.StatusOK, out)
}
