// Package problem maps fjord's errors to stable API codes and HTTP statuses
// in one table, and renders them as RFC 9457 problem details. The REST api
// and the WebSocket package both use it, so an error has the same code on
// every transport.
package problem

import (
	"errors"
	"net/http"
	"strings"

	"github.com/fjord-streaming/fjord/api/wire"
	"github.com/fjord-streaming/fjord/engine"
)

// Codes of the API. They are stable and machine-readable.
const (
	InvalidRequest              = "invalid_request"
	InvalidTopicName            = "invalid_topic_name"
	RecordTooLarge              = "record_too_large"
	RequestTooLarge             = "request_too_large"
	UnsupportedMediaType        = "unsupported_media_type"
	Unauthorized                = "unauthorized"
	Forbidden                   = "forbidden"
	NotFound                    = "not_found"
	MethodNotAllowed            = "method_not_allowed"
	TopicNotFound               = "topic_not_found"
	PartitionNotFound           = "partition_not_found"
	GroupNotFound               = "group_not_found"
	MemberNotFound              = "member_not_found"
	TopicExists                 = "topic_exists"
	PartitionDecreaseNotAllowed = "partition_decrease_not_allowed"
	NoCommittedOffset           = "no_committed_offset"
	GroupNotEmpty               = "group_not_empty"
	NotAReplica                 = "not_a_replica"
	OffsetOutOfRange            = "offset_out_of_range"
	TooManyRequests             = "too_many_requests"
	NotEnoughReplicas           = "not_enough_replicas"
	LeaderNotAvailable          = "leader_not_available"
	RequestTimeout              = "request_timeout"
	Internal                    = "internal_error"
)

// Mapping is one row of the error table.
type Mapping struct {
	Err    error
	Status int
	Code   string
}

// table maps sentinel errors to codes; the first match wins. Packages that
// add sentinels (groups, auth) register rows with Register at init.
var table = []Mapping{
	{wire.ErrInvalid, http.StatusBadRequest, InvalidRequest},
	{wire.ErrTooLarge, http.StatusRequestEntityTooLarge, RecordTooLarge},
	{engine.ErrInvalidRequest, http.StatusBadRequest, InvalidRequest},
	{engine.ErrInvalidTopicName, http.StatusBadRequest, InvalidTopicName},
	{engine.ErrRecordTooLarge, http.StatusRequestEntityTooLarge, RecordTooLarge},
	{engine.ErrTopicNotFound, http.StatusNotFound, TopicNotFound},
	{engine.ErrPartitionNotFound, http.StatusNotFound, PartitionNotFound},
	{engine.ErrTopicExists, http.StatusConflict, TopicExists},
	{engine.ErrPartitionDecrease, http.StatusConflict, PartitionDecreaseNotAllowed},
	{engine.ErrNotAReplica, http.StatusConflict, NotAReplica},
	{engine.ErrOffsetOutOfRangeMarker, http.StatusRequestedRangeNotSatisfiable, OffsetOutOfRange},
	{engine.ErrNotEnoughReplicas, http.StatusServiceUnavailable, NotEnoughReplicas},
	{engine.ErrLeaderNotAvailable, http.StatusServiceUnavailable, LeaderNotAvailable},
	{engine.ErrNotLeader, http.StatusServiceUnavailable, LeaderNotAvailable},
	{engine.ErrClosed, http.StatusServiceUnavailable, LeaderNotAvailable},
	{engine.ErrStaleEpoch, http.StatusServiceUnavailable, LeaderNotAvailable},
	{engine.ErrTimeout, http.StatusGatewayTimeout, RequestTimeout},
}

// Register adds rows to the table. Call it from an init function.
func Register(rows ...Mapping) { table = append(table, rows...) }

// ErrorFor returns the sentinel error of the first table row with code, or
// nil when no row has it. It is Classify in reverse, for errors that crossed
// the wire as problem+json between brokers (api/peer).
func ErrorFor(code string) error {
	for _, m := range table {
		if m.Code == code {
			return m.Err
		}
	}
	return nil
}

// Error is an error that already carries its API status and code.
type Error struct {
	Status int
	Code   string
	Detail string
}

func (e *Error) Error() string { return e.Detail }

// New returns an *Error.
func New(status int, code, detail string) *Error {
	return &Error{Status: status, Code: code, Detail: detail}
}

// Classify returns the HTTP status and API code of err. Unknown errors are
// 500 internal_error.
func Classify(err error) (status int, code string) {
	var pe *Error
	if errors.As(err, &pe) {
		return pe.Status, pe.Code
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return http.StatusRequestEntityTooLarge, RequestTooLarge
	}
	for _, m := range table {
		if errors.Is(err, m.Err) {
			return m.Status, m.Code
		}
	}
	return http.StatusInternalServerError, Internal
}

// Details is the problem+json body: RFC 9457's members plus fjord's code
// and the extension members below, each present only where it applies.
type Details struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Code   string `json:"code"`
	Detail string `json:"detail"`
	// LogStartOffset and HighWatermark accompany offset_out_of_range.
	LogStartOffset *int64 `json:"log_start_offset,omitempty"`
	HighWatermark  *int64 `json:"high_watermark,omitempty"`
	// Appended is true when an acks=all write (a produce, or a group's offset commit) failed after the leader had
	// stored the records in its log (not_enough_replicas: the in-sync replicas fell below min.insync.replicas while
	// it waited; request_timeout; leader_not_available: leadership moved first): they were not acknowledged by
	// enough replicas, may still commit or be dropped, and a retry may store them twice. Absent otherwise: a
	// not_enough_replicas without it wrote nothing; a request_timeout or leader_not_available without it does not
	// say either way (the leader's answer may not have come back).
	Appended bool `json:"appended,omitempty"`
}

// Appended reports whether err came after the leader appended the records
// to its log (engine.ErrAppendedNotReplicated); the API says so with the
// "appended" member next to the error's code.
func Appended(err error) bool { return errors.Is(err, engine.ErrAppendedNotReplicated) }

// AppendEntryError appends the error object of one failed entry of a
// produce answer (a REST 207, a WebSocket ack): {"code":…,"message":…},
// with "appended":true where Appended says so.
func AppendEntryError(b []byte, err error) []byte {
	_, code := Classify(err)
	b = append(b, `{"code":`...)
	b = wire.AppendString(b, code)
	b = append(b, `,"message":`...)
	b = wire.AppendString(b, Message(err))
	if Appended(err) {
		b = append(b, `,"appended":true`...)
	}
	return append(b, '}')
}

// From builds the problem details of err. Internal errors keep their text
// out of the answer; callers log them.
func From(err error) Details {
	status, code := Classify(err)
	d := Details{Type: "about:blank", Title: http.StatusText(status), Status: status, Code: code, Detail: Message(err)}
	if status == http.StatusInternalServerError {
		d.Detail = "internal error"
	}
	var oor *engine.OffsetOutOfRangeError
	if errors.As(err, &oor) {
		d.LogStartOffset, d.HighWatermark = &oor.LogStartOffset, &oor.HighWatermark
	}
	d.Appended = Appended(err)
	return d
}

// Message is the client-facing text of err: package prefixes of wrapped
// sentinels are stripped of their "engine: "/"wire: " form where the
// wrapping already says what happened.
func Message(err error) string {
	var pe *Error
	if errors.As(err, &pe) {
		return pe.Detail
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return "request body is larger than the broker's --max-request-bytes"
	}
	msg := err.Error()
	// "engine: topic not found: topic "x" does not exist" reads better
	// without the sentinel's own text when the wrapping says it again.
	for _, m := range table {
		if errors.Is(err, m.Err) {
			if rest, ok := strings.CutPrefix(msg, m.Err.Error()+": "); ok {
				return rest
			}
			if rest, ok := strings.CutSuffix(msg, ": "+m.Err.Error()); ok {
				return rest
			}
			break
		}
	}
	return msg
}
