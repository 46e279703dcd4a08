package ws

import (
	"strconv"

	"github.com/fjord-streaming/fjord/api/problem"
	"github.com/fjord-streaming/fjord/api/wire"
	"github.com/fjord-streaming/fjord/engine"
)

// Broker frame types.
const (
	typeSubscribed   = "subscribed"
	typeUnsubscribed = "unsubscribed"
	typeRecords      = "records"
	typeAssignment   = "assignment"
	typeAck          = "ack"
	typeCommitted    = "committed"
	typeError        = "error"
)

// appendHead starts a broker frame: {"type":typ,"id":id (left out when "").
func appendHead(b []byte, typ, id string) []byte {
	b = append(b, `{"type":"`...)
	b = append(b, typ...)
	b = append(b, '"')
	if id != "" {
		b = append(b, `,"id":`...)
		b = wire.AppendString(b, id)
	}
	return b
}

// statusFrame is {"type":typ,"id":id}.
func statusFrame(typ, id string) *[]byte {
	bp := getBuf()
	*bp = append(appendHead(*bp, typ, id), '}')
	return bp
}

// errorFrame is {"type":"error","id":id,"code":…,"message":…}; the code
// comes from the one error table, api/problem, and "appended":true is
// there as in a problem (a produce that failed after the leader stored it).
func errorFrame(id string, err error) *[]byte {
	_, code := problem.Classify(err)
	d := problem.From(err)
	bp := getBuf()
	b := appendHead(*bp, typeError, id)
	b = append(b, `,"code":`...)
	b = wire.AppendString(b, code)
	b = append(b, `,"message":`...)
	b = wire.AppendString(b, d.Detail)
	if d.LogStartOffset != nil && d.HighWatermark != nil {
		b = append(b, `,"log_start_offset":`...)
		b = strconv.AppendInt(b, *d.LogStartOffset, 10)
		b = append(b, `,"high_watermark":`...)
		b = strconv.AppendInt(b, *d.HighWatermark, 10)
	}
	if d.Appended {
		b = append(b, `,"appended":true`...)
	}
	*bp = append(b, '}')
	return bp
}

// recordsHead starts {"type":"records","id":id,"records":[ ; records follow,
// comma-separated, then recordsTail.
func recordsHead(b []byte, id string) []byte {
	b = appendHead(b, typeRecords, id)
	return append(b, `,"records":[`...)
}

func recordsTail(b []byte) []byte { return append(b, "]}"...) }

// ackFrame answers a produce with the offsets REST returns: one entry per
// record in request order, failed entries carrying an error instead of an
// offset. With acks=0 it carries "accepted" like REST's 202 answer.
func ackFrame(id string, acks engine.Acks, results []engine.ProduceResult) *[]byte {
	bp := getBuf()
	b := appendHead(*bp, typeAck, id)
	if acks == engine.AcksNone {
		b = append(b, `,"accepted":`...)
		b = strconv.AppendInt(b, int64(len(results)), 10)
		*bp = append(b, '}')
		return bp
	}
	b = append(b, `,"offsets":[`...)
	for i, r := range results {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"partition":`...)
		b = strconv.AppendInt(b, int64(r.Partition), 10)
		if r.Err == nil {
			b = append(b, `,"offset":`...)
			b = strconv.AppendInt(b, r.Offset, 10)
		}
		b = append(b, `,"timestamp":`...)
		b = strconv.AppendInt(b, r.Timestamp, 10)
		if r.Err != nil {
			b = append(b, `,"error":`...)
			b = problem.AppendEntryError(b, r.Err)
		}
		b = append(b, '}')
	}
	*bp = append(b, "]}"...)
	return bp
}

// assignmentFrame tells a group subscription its generation and partitions.
func assignmentFrame(id string, generation int64, parts []TopicPartition) *[]byte {
	bp := getBuf()
	b := appendHead(*bp, typeAssignment, id)
	b = append(b, `,"generation":`...)
	b = strconv.AppendInt(b, generation, 10)
	b = append(b, `,"assignments":[`...)
	for i, tp := range parts {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendTopicPartition(b, tp)
		b = append(b, '}')
	}
	*bp = append(b, "]}"...)
	return bp
}

// committedFrame answers a commit with the effective committed offsets.
func committedFrame(id string, offsets []PartitionOffset) *[]byte {
	bp := getBuf()
	b := appendHead(*bp, typeCommitted, id)
	b = append(b, `,"offsets":[`...)
	for i, o := range offsets {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendTopicPartition(b, o.TopicPartition)
		b = append(b, `,"offset":`...)
		b = strconv.AppendInt(b, o.Offset, 10)
		b = append(b, '}')
	}
	*bp = append(b, "]}"...)
	return bp
}

// appendTopicPartition appends {"topic":…,"partition":… without the
// closing brace.
func appendTopicPartition(b []byte, tp TopicPartition) []byte {
	b = append(b, `{"topic":`...)
	b = wire.AppendString(b, tp.Topic)
	b = append(b, `,"partition":`...)
	return strconv.AppendInt(b, int64(tp.Partition), 10)
}
