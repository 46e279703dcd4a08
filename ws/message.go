package ws

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/fjord-streaming/fjord/api/problem"
	"github.com/fjord-streaming/fjord/engine"
)

// Client operations.
const (
	opSubscribe   = "subscribe"
	opCredit      = "credit"
	opCommit      = "commit"
	opUnsubscribe = "unsubscribe"
	opProduce     = "produce"
)

// Limits of client messages.
const (
	maxIDLength = 256
	// maxCredit is the most credits one message may grant, and the most a
	// subscription may hold; larger totals saturate.
	maxCredit = 1 << 40
	// DefaultCredits is what a subscription starts with unless the subscribe
	// message says otherwise.
	DefaultCredits = 1000
	noPartition    = -1
)

// clientMessage is one decoded, validated client frame. Only the fields of
// its op are set.
type clientMessage struct {
	Op string
	ID string

	// subscribe (log): Topic, Partition (noPartition for every partition),
	// Offset (engine.OffsetEarliest, engine.OffsetLatest or an offset).
	// subscribe (group): Group, Topics, AutoOffsetReset, SessionTimeout,
	// Assignor. Both: Credits.
	Topic           string
	Partition       int32
	Offset          int64
	Group           string
	Topics          []string
	AutoOffsetReset string
	SessionTimeout  time.Duration
	Assignor        string
	Credits         int64

	// credit: Records is the number of credits granted.
	Records int64

	// commit: Offsets, when given, are committed instead of what the
	// subscription delivered.
	Offsets []PartitionOffset

	// produce: Topic, RecordsJSON (the raw "records" array), Acks, Timeout.
	RecordsJSON []byte
	Acks        engine.Acks
	Timeout     time.Duration
}

// rawMessage is the JSON form of every client message; which members an op
// may carry is checked after decoding.
type rawMessage struct {
	Op               *string        `json:"op"`
	ID               *string        `json:"id"`
	Topic            *string        `json:"topic"`
	Topics           []string       `json:"topics"`
	Partition        *int32         `json:"partition"`
	Offset           jsontext.Value `json:"offset"`
	Group            *string        `json:"group"`
	AutoOffsetReset  *string        `json:"auto_offset_reset"`
	SessionTimeoutMs *int64         `json:"session_timeout_ms"`
	Assignor         *string        `json:"assignor"`
	Credits          *int64         `json:"credits"`
	Records          jsontext.Value `json:"records"`
	Acks             jsontext.Value `json:"acks"`
	TimeoutMs        *int64         `json:"timeout_ms"`
	Offsets          []rawOffset    `json:"offsets"`
}

type rawOffset struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	Offset    int64  `json:"offset"`
}

// allowed lists the members each op may carry besides op and id.
var allowed = map[string][]string{
	opSubscribe: {"topic", "topics", "partition", "offset", "group", "auto_offset_reset",
		"session_timeout_ms", "assignor", "credits"},
	opCredit:      {"records"},
	opCommit:      {"offsets"},
	opUnsubscribe: nil,
	opProduce:     {"topic", "records", "acks", "timeout_ms"},
}

var decodeOpts = json.JoinOptions(json.RejectUnknownMembers(true), jsontext.AllowDuplicateNames(false),
	jsontext.AllowInvalidUTF8(false))

// errInvalid marks a malformed client message; it is reported as an error
// frame with code invalid_request.
func errInvalid(format string, args ...any) error {
	return problem.New(http.StatusBadRequest, problem.InvalidRequest, fmt.Sprintf(format, args...))
}

// decodeClientMessage decodes and validates one client text frame. On error
// it still returns the message's id when it could be read, so that the error
// frame can name it.
func decodeClientMessage(data []byte) (clientMessage, error) {
	var raw rawMessage
	if err := json.Unmarshal(data, &raw, decodeOpts); err != nil {
		return clientMessage{ID: salvageID(data)}, errInvalid("malformed message: %s", jsonErrorText(err))
	}
	var m clientMessage
	if raw.ID != nil {
		m.ID = *raw.ID
	}
	if raw.Op == nil {
		return m, errInvalid("op is required")
	}
	m.Op = *raw.Op
	fields, ok := allowed[m.Op]
	if !ok {
		return m, errInvalid("unknown op %q (subscribe, credit, commit, unsubscribe or produce)", m.Op)
	}
	if raw.ID == nil || m.ID == "" {
		return m, errInvalid("id is required")
	}
	if len(m.ID) > maxIDLength {
		return m, errInvalid("id is longer than %d bytes", maxIDLength)
	}
	for _, name := range raw.members() {
		if !contains(fields, name) {
			return m, errInvalid("%q is not a member of a %s message", name, m.Op)
		}
	}
	var err error
	switch m.Op {
	case opSubscribe:
		err = m.subscribe(&raw)
	case opCredit:
		err = m.credit(&raw)
	case opCommit:
		err = m.commit(&raw)
	case opProduce:
		err = m.produce(&raw)
	}
	return m, err
}

// members lists the optional members present in the message.
func (r *rawMessage) members() []string {
	var out []string
	add := func(name string, present bool) {
		if present {
			out = append(out, name)
		}
	}
	add("topic", r.Topic != nil)
	add("topics", r.Topics != nil)
	add("partition", r.Partition != nil)
	add("offset", isSet(r.Offset))
	add("group", r.Group != nil)
	add("auto_offset_reset", r.AutoOffsetReset != nil)
	add("session_timeout_ms", r.SessionTimeoutMs != nil)
	add("assignor", r.Assignor != nil)
	add("credits", r.Credits != nil)
	add("records", isSet(r.Records))
	add("acks", isSet(r.Acks))
	add("timeout_ms", r.TimeoutMs != nil)
	add("offsets", r.Offsets != nil)
	return out
}

// isSet reports whether a raw member was given (null counts as left out).
func isSet(v jsontext.Value) bool { return len(v) > 0 && string(v) != "null" }

func (m *clientMessage) subscribe(r *rawMessage) error {
	m.Partition, m.Offset = noPartition, engine.OffsetLatest
	if r.Credits != nil {
		if *r.Credits < 0 || *r.Credits > maxCredit {
			return errInvalid("credits must be an integer from 0 to %d", int64(maxCredit))
		}
		m.Credits = *r.Credits
	} else {
		m.Credits = DefaultCredits
	}
	if r.Group != nil {
		return m.subscribeGroup(r)
	}
	for _, name := range []string{"topics", "auto_offset_reset", "session_timeout_ms", "assignor"} {
		if contains(r.members(), name) {
			return errInvalid("%q needs \"group\"", name)
		}
	}
	if r.Topic == nil || *r.Topic == "" {
		return errInvalid("topic is required")
	}
	m.Topic = *r.Topic
	if r.Partition != nil {
		if *r.Partition < 0 {
			return errInvalid("partition must be a non-negative integer")
		}
		m.Partition = *r.Partition
	}
	if isSet(r.Offset) {
		off, err := parseOffsetValue(r.Offset)
		if err != nil {
			return err
		}
		m.Offset = off
	}
	return nil
}

func (m *clientMessage) subscribeGroup(r *rawMessage) error {
	if *r.Group == "" {
		return errInvalid("group must not be empty")
	}
	m.Group = *r.Group
	if r.Partition != nil || isSet(r.Offset) {
		return errInvalid("a group subscription takes auto_offset_reset, not partition or offset")
	}
	switch {
	case r.Topics != nil && r.Topic != nil:
		return errInvalid("give topics or topic, not both")
	case r.Topic != nil:
		m.Topics = []string{*r.Topic}
	default:
		m.Topics = r.Topics
	}
	if len(m.Topics) == 0 {
		return errInvalid("topics is required")
	}
	for _, t := range m.Topics {
		if t == "" {
			return errInvalid("topics must not contain an empty name")
		}
	}
	m.AutoOffsetReset = "latest"
	if r.AutoOffsetReset != nil {
		switch *r.AutoOffsetReset {
		case "earliest", "latest", "none":
			m.AutoOffsetReset = *r.AutoOffsetReset
		default:
			return errInvalid("auto_offset_reset must be earliest, latest or none")
		}
	}
	m.SessionTimeout = defaultSessionTimeout
	if r.SessionTimeoutMs != nil {
		d := time.Duration(*r.SessionTimeoutMs) * time.Millisecond
		if d < minSessionTimeout || d > maxSessionTimeout {
			return errInvalid("session_timeout_ms must be from %d to %d", minSessionTimeout.Milliseconds(),
				maxSessionTimeout.Milliseconds())
		}
		m.SessionTimeout = d
	}
	if r.Assignor != nil {
		switch *r.Assignor {
		case "range", "roundrobin", "sticky":
			m.Assignor = *r.Assignor
		default:
			return errInvalid("assignor must be range, roundrobin or sticky")
		}
	}
	return nil
}

func (m *clientMessage) credit(r *rawMessage) error {
	var n int64
	if !isSet(r.Records) || json.Unmarshal(r.Records, &n) != nil || n <= 0 || n > maxCredit {
		return errInvalid("records must be an integer from 1 to %d", int64(maxCredit))
	}
	m.Records = n
	return nil
}

func (m *clientMessage) commit(r *rawMessage) error {
	if r.Offsets == nil {
		return nil
	}
	m.Offsets = make([]PartitionOffset, 0, len(r.Offsets))
	for i, o := range r.Offsets {
		if o.Topic == "" || o.Partition < 0 || o.Offset < 0 {
			return errInvalid("offsets[%d] needs a topic, a non-negative partition and a non-negative offset", i)
		}
		m.Offsets = append(m.Offsets, PartitionOffset{
			TopicPartition: TopicPartition{Topic: o.Topic, Partition: o.Partition}, Offset: o.Offset})
	}
	return nil
}

func (m *clientMessage) produce(r *rawMessage) error {
	if r.Topic == nil || *r.Topic == "" {
		return errInvalid("topic is required")
	}
	m.Topic = *r.Topic
	if !isSet(r.Records) {
		return errInvalid("records is required")
	}
	m.RecordsJSON = r.Records
	m.Acks = engine.AcksAll
	if isSet(r.Acks) {
		s := string(r.Acks)
		if r.Acks.Kind() == '"' {
			if err := json.Unmarshal(r.Acks, &s); err != nil {
				return errInvalid("acks: %s", jsonErrorText(err))
			}
		}
		switch s {
		case "all", "-1":
			m.Acks = engine.AcksAll
		case "1":
			m.Acks = engine.AcksLeader
		case "0":
			m.Acks = engine.AcksNone
		default:
			return errInvalid("acks must be \"0\", \"1\" or \"all\"")
		}
	}
	m.Timeout = 30 * time.Second
	if r.TimeoutMs != nil {
		if *r.TimeoutMs < 1 || *r.TimeoutMs > 300000 {
			return errInvalid("timeout_ms must be from 1 to 300000")
		}
		m.Timeout = time.Duration(*r.TimeoutMs) * time.Millisecond
	}
	return nil
}

// parseOffsetValue reads a JSON offset: a non-negative integer, "earliest"
// or "latest".
func parseOffsetValue(v jsontext.Value) (int64, error) {
	if v.Kind() == '"' {
		var s string
		if err := json.Unmarshal(v, &s); err == nil {
			switch s {
			case "earliest":
				return engine.OffsetEarliest, nil
			case "latest":
				return engine.OffsetLatest, nil
			}
		}
	} else {
		var n int64
		if err := json.Unmarshal(v, &n); err == nil && n >= 0 {
			return n, nil
		}
	}
	return 0, errInvalid("offset must be a non-negative integer, \"earliest\" or \"latest\"")
}

// parseOffsetString reads an offset from a query string.
func parseOffsetString(s string) (int64, error) {
	switch s {
	case "", "latest":
		return engine.OffsetLatest, nil
	case "earliest":
		return engine.OffsetEarliest, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, errInvalid("offset must be a non-negative integer, \"earliest\" or \"latest\"")
	}
	return n, nil
}

// salvageID reads the id of a message that failed strict decoding, so the
// error frame can name it; "" when there is none.
func salvageID(data []byte) string {
	var v struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(data, &v, jsontext.AllowDuplicateNames(true)) != nil || len(v.ID) > maxIDLength {
		return ""
	}
	return v.ID
}

// jsonErrorText shortens a decoder error for a client.
func jsonErrorText(err error) string {
	var se *json.SemanticError
	if errors.As(err, &se) && se.JSONPointer != "" && se.Err != nil {
		return fmt.Sprintf("%s: %v", strings.TrimPrefix(string(se.JSONPointer), "/"), se.Err)
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
