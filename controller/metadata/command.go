package metadata

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// commandVersion is the envelope version Encode writes and Decode accepts.
const commandVersion = 1

// Command is one change to the metadata: SetClusterID, RegisterBroker,
// UnregisterBroker, CreateTopic, UpdateTopic, DeleteTopic,
// ChangePartition or GrowReplication (growth.go). The set is closed.
type Command interface {
	// Op is the command's name in the envelope ("create_topic").
	Op() string
	// apply checks the command against s and, when it holds, changes s.
	// A refused command leaves s as it was.
	apply(s *State, index uint64) error
	encode() ([]byte, error)
}

// SetClusterID names the cluster. It is accepted while the log names no
// cluster, and again (changing nothing) with the same name.
type SetClusterID struct {
	ClusterID string `json:"cluster_id"`
}

// RegisterBroker adds a broker or updates its address. A new incarnation
// (the broker's disk was wiped) takes the broker out of every ISR it
// shares with another member; see the package doc.
type RegisterBroker struct {
	ID          int32  `json:"id"`
	HTTPAddr    string `json:"http_addr"`
	Incarnation string `json:"incarnation"`
}

// UnregisterBroker removes a broker that holds no replica.
type UnregisterBroker struct {
	ID int32 `json:"id"`
}

// CreateTopic adds a topic, placed and configured by the proposer.
type CreateTopic struct {
	Topic Topic `json:"topic"`
}

// UpdateTopic changes a topic's configuration and adds partitions. ID must
// be the topic's current id, so a proposal made before the topic was
// deleted and recreated is refused.
type UpdateTopic struct {
	Name string `json:"name"`
	ID   uint64 `json:"id"`
	// Config replaces the configuration as a whole; nil keeps it.
	Config map[string]int64 `json:"config,omitzero"`
	// AddPartitions are appended after the existing partitions.
	AddPartitions []Partition `json:"add_partitions"`
}

// DeleteTopic removes a topic, if ID is still its id.
type DeleteTopic struct {
	Name string `json:"name"`
	ID   uint64 `json:"id"`
}

// ChangePartition sets a partition's leader and ISR: leader election,
// failover and alter-ISR. It is refused unless ExpectPartitionEpoch is the
// partition's current epoch, and a new leader needs a higher LeaderEpoch.
// Applied, it bumps the partition epoch.
type ChangePartition struct {
	Topic     string `json:"topic"`
	TopicID   uint64 `json:"topic_id"`
	Partition int32  `json:"partition"`
	// Leader is the new leader, or NoLeader to take the partition offline.
	Leader int32   `json:"leader"`
	ISR    []int32 `json:"isr"`
	// LeaderEpoch is the new leader epoch: not below the current one, and
	// above it when the leader changes.
	LeaderEpoch          int32 `json:"leader_epoch"`
	ExpectPartitionEpoch int32 `json:"expect_partition_epoch"`
}

// Ops, as they appear in the envelope.
const (
	opSetClusterID     = "set_cluster_id"
	opRegisterBroker   = "register_broker"
	opUnregisterBroker = "unregister_broker"
	opCreateTopic      = "create_topic"
	opUpdateTopic      = "update_topic"
	opDeleteTopic      = "delete_topic"
	opChangePartition  = "change_partition"
	opGrowReplication  = "grow_replication"
)

// Op implements Command.
func (SetClusterID) Op() string { return opSetClusterID }

// Op implements Command.
func (RegisterBroker) Op() string { return opRegisterBroker }

// Op implements Command.
func (UnregisterBroker) Op() string { return opUnregisterBroker }

// Op implements Command.
func (CreateTopic) Op() string { return opCreateTopic }

// Op implements Command.
func (UpdateTopic) Op() string { return opUpdateTopic }

// Op implements Command.
func (DeleteTopic) Op() string { return opDeleteTopic }

// Op implements Command.
func (ChangePartition) Op() string { return opChangePartition }

// Op implements Command.
func (GrowReplication) Op() string { return opGrowReplication }

func (c SetClusterID) encode() ([]byte, error)     { return encodeAs(c) }
func (c RegisterBroker) encode() ([]byte, error)   { return encodeAs(c) }
func (c UnregisterBroker) encode() ([]byte, error) { return encodeAs(c) }
func (c CreateTopic) encode() ([]byte, error)      { return encodeAs(c) }
func (c UpdateTopic) encode() ([]byte, error)      { return encodeAs(c) }
func (c DeleteTopic) encode() ([]byte, error)      { return encodeAs(c) }
func (c ChangePartition) encode() ([]byte, error)  { return encodeAs(c) }
func (c GrowReplication) encode() ([]byte, error)  { return encodeAs(c) }

// decoders decode each op's envelope.
var decoders = map[string]func([]byte) (Command, error){
	opSetClusterID:     decodeAs[SetClusterID],
	opRegisterBroker:   decodeAs[RegisterBroker],
	opUnregisterBroker: decodeAs[UnregisterBroker],
	opCreateTopic:      decodeAs[CreateTopic],
	opUpdateTopic:      decodeAs[UpdateTopic],
	opDeleteTopic:      decodeAs[DeleteTopic],
	opChangePartition:  decodeAs[ChangePartition],
	opGrowReplication:  decodeAs[GrowReplication],
}

// envelope is a command on the wire: the version and op, then the
// command's own members at the same level.
type envelope[C Command] struct {
	V   int    `json:"v"`
	Op  string `json:"op"`
	Cmd C      `json:",embed"`
}

// Encode encodes c as a version 1 envelope, the bytes to propose.
func Encode(c Command) ([]byte, error) {
	if c == nil {
		return nil, fmt.Errorf("%w: nil command", ErrInvalid)
	}
	b, err := c.encode()
	if err != nil {
		return nil, fmt.Errorf("%w: encode %s: %w", ErrInvalid, c.Op(), err)
	}
	return b, nil
}

func encodeAs[C Command](c C) ([]byte, error) {
	return json.Marshal(envelope[C]{V: commandVersion, Op: c.Op(), Cmd: c}, json.Deterministic(true))
}

// Decode decodes an envelope Encode wrote. It is strict: the input is one
// JSON object with no trailing data, valid UTF-8, members matched by exact
// name, none unknown, duplicated or missing (at any depth; only
// UpdateTopic's config may be absent). An unknown version or op is
// ErrUnsupported, anything else wrong ErrMalformed.
func Decode(b []byte) (Command, error) {
	var head struct {
		V  int    `json:"v"`
		Op string `json:"op"`
	}
	if err := json.Unmarshal(b, &head); err != nil {
		return nil, fmt.Errorf("%w: %s", ErrMalformed, jsonProblem(err))
	}
	if head.V != commandVersion {
		return nil, fmt.Errorf("%w: version %d (this broker reads %d)", ErrUnsupported, head.V, commandVersion)
	}
	dec, ok := decoders[head.Op]
	if !ok {
		return nil, fmt.Errorf("%w: op %q", ErrUnsupported, head.Op)
	}
	return dec(b)
}

func decodeAs[C Command](b []byte) (Command, error) {
	var e envelope[C]
	if err := unmarshalStrict(b, &e); err != nil {
		return nil, fmt.Errorf("%w: %s: %s", ErrMalformed, e.Cmd.Op(), jsonProblem(err))
	}
	return e.Cmd, nil
}

// unmarshalStrict decodes b into v rejecting unknown members, then checks
// that b has every member v's encoding has: re-encoded, v must have the
// shape b has (the same member names in every object, the same lengths of
// arrays). Missing members would otherwise decode silently as zeros, and
// a zero broker id is a real broker.
func unmarshalStrict(b []byte, v any) error {
	if err := json.Unmarshal(b, v, json.RejectUnknownMembers(true)); err != nil {
		return err
	}
	canon, err := json.Marshal(v, json.Deterministic(true))
	if err != nil {
		return err
	}
	var in, out any
	if err := json.Unmarshal(b, &in); err != nil {
		return err
	}
	if err := json.Unmarshal(canon, &out); err != nil {
		return err
	}
	if path, ok := sameShape(in, out, ""); !ok {
		return fmt.Errorf("missing or null member at %s", cmp.Or(path, "/"))
	}
	return nil
}

// sameShape compares two decoded JSON values by structure only, returning
// the first path where they differ.
func sameShape(a, b any, path string) (string, bool) {
	switch a := a.(type) {
	case map[string]any:
		bm, ok := b.(map[string]any)
		if !ok {
			return path, false
		}
		for _, k := range slices.Sorted(maps.Keys(bm)) {
			av, ok := a[k]
			if !ok {
				return path + "/" + k, false
			}
			if p, ok := sameShape(av, bm[k], path+"/"+k); !ok {
				return p, false
			}
		}
		if len(a) != len(bm) {
			return path, false
		}
		return "", true
	case []any:
		bs, ok := b.([]any)
		if !ok || len(a) != len(bs) {
			return path, false
		}
		for i := range a {
			if p, ok := sameShape(a[i], bs[i], fmt.Sprintf("%s/%d", path, i)); !ok {
				return p, false
			}
		}
		return "", true
	case nil:
		return path, b == nil
	default:
		switch b.(type) {
		case map[string]any, []any, nil:
			return path, false
		}
		return "", true
	}
}

// jsonProblem describes a decoding error in words that are the same on
// every run: the json package deliberately varies its own messages'
// wording from one process to the next.
func jsonProblem(err error) string {
	var se *json.SemanticError
	if errors.As(err, &se) {
		where := cmp.Or(string(se.JSONPointer), "/")
		if errors.Is(se.Err, json.ErrUnknownName) {
			return "unknown member " + where
		}
		msg := fmt.Sprintf("at %s: JSON %s does not decode", where, kindName(se.JSONKind))
		if se.GoType != nil {
			msg += " as " + se.GoType.String()
		}
		if se.Err != nil {
			msg += ": " + se.Err.Error()
		}
		return msg
	}
	var syn *jsontext.SyntacticError
	if errors.As(err, &syn) {
		return syn.Error()
	}
	return err.Error()
}

func kindName(k jsontext.Kind) string {
	switch k {
	case '"':
		return "string"
	case '0':
		return "number"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	case '{', '}':
		return "object"
	case '[', ']':
		return "array"
	}
	return "value"
}
