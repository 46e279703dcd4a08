package ws

import (
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/fjord-streaming/fjord/api/problem"
	"github.com/fjord-streaming/fjord/engine"
)

func TestDecodeClientMessage(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want clientMessage // compared field by field where set
		err  string        // substring of the error; "" for success
		id   string        // id reported with an error
	}{
		{name: "subscribe partition", in: `{"op":"subscribe","id":"s1","topic":"orders","partition":2,"offset":"earliest"}`,
			want: clientMessage{Op: opSubscribe, ID: "s1", Topic: "orders", Partition: 2, Offset: engine.OffsetEarliest, Credits: DefaultCredits}},
		{name: "subscribe all, default offset", in: `{"op":"subscribe","id":"s2","topic":"orders"}`,
			want: clientMessage{Op: opSubscribe, ID: "s2", Topic: "orders", Partition: noPartition, Offset: engine.OffsetLatest, Credits: DefaultCredits}},
		{name: "subscribe numeric offset and credits", in: `{"op":"subscribe","id":"s","topic":"t","offset":42,"credits":5}`,
			want: clientMessage{Op: opSubscribe, ID: "s", Topic: "t", Partition: noPartition, Offset: 42, Credits: 5}},
		{name: "subscribe zero credits", in: `{"op":"subscribe","id":"s","topic":"t","credits":0}`,
			want: clientMessage{Op: opSubscribe, ID: "s", Topic: "t", Partition: noPartition, Offset: engine.OffsetLatest, Credits: 0}},
		{name: "subscribe group", in: `{"op":"subscribe","id":"g","group":"billing","topics":["a","b"],"auto_offset_reset":"earliest","session_timeout_ms":10000,"assignor":"sticky"}`,
			want: clientMessage{Op: opSubscribe, ID: "g", Group: "billing", Topics: []string{"a", "b"}, AutoOffsetReset: "earliest",
				SessionTimeout: 10 * time.Second, Assignor: "sticky", Partition: noPartition, Offset: engine.OffsetLatest, Credits: DefaultCredits}},
		{name: "credit", in: `{"op":"credit","id":"s1","records":1000}`, want: clientMessage{Op: opCredit, ID: "s1", Records: 1000}},
		{name: "commit", in: `{"op":"commit","id":"g"}`, want: clientMessage{Op: opCommit, ID: "g"}},
		{name: "unsubscribe", in: `{"op":"unsubscribe","id":"s1"}`, want: clientMessage{Op: opUnsubscribe, ID: "s1"}},
		{name: "produce acks string", in: `{"op":"produce","id":"p","topic":"t","acks":"1","records":[{"value":1}]}`,
			want: clientMessage{Op: opProduce, ID: "p", Topic: "t", Acks: engine.AcksLeader}},
		{name: "produce acks number", in: `{"op":"produce","id":"p","topic":"t","acks":0,"records":[{"value":1}]}`,
			want: clientMessage{Op: opProduce, ID: "p", Topic: "t", Acks: engine.AcksNone}},
		{name: "produce acks all default", in: `{"op":"produce","id":"p","topic":"t","records":[{"value":1}]}`,
			want: clientMessage{Op: opProduce, ID: "p", Topic: "t", Acks: engine.AcksAll}},

		{name: "bad json", in: `{"op":"subscribe",`, err: "malformed"},
		{name: "not an object", in: `[1]`, err: "malformed"},
		{name: "trailing data", in: `{"op":"unsubscribe","id":"x"} {}`, err: "malformed"},
		{name: "unknown op", in: `{"op":"explode","id":"x"}`, err: "unknown op", id: "x"},
		{name: "missing op", in: `{"id":"x"}`, err: "op is required", id: "x"},
		{name: "missing id", in: `{"op":"unsubscribe"}`, err: "id is required"},
		{name: "empty id", in: `{"op":"unsubscribe","id":""}`, err: "id is required"},
		{name: "unknown member", in: `{"op":"unsubscribe","id":"x","bogus":1}`, err: "malformed", id: "x"},
		{name: "duplicate member", in: `{"op":"unsubscribe","id":"x","id":"y"}`, err: "malformed", id: "y"},
		{name: "member of another op", in: `{"op":"credit","id":"x","records":1,"topic":"t"}`, err: "not a member", id: "x"},
		{name: "zero credit", in: `{"op":"credit","id":"x","records":0}`, err: "records must be", id: "x"},
		{name: "negative credit", in: `{"op":"credit","id":"x","records":-5}`, err: "records must be", id: "x"},
		{name: "fractional credit", in: `{"op":"credit","id":"x","records":1.5}`, err: "records must be", id: "x"},
		{name: "missing credit", in: `{"op":"credit","id":"x"}`, err: "records must be", id: "x"},
		{name: "bad offset", in: `{"op":"subscribe","id":"x","topic":"t","offset":"soon"}`, err: "offset must be", id: "x"},
		{name: "negative offset", in: `{"op":"subscribe","id":"x","topic":"t","offset":-1}`, err: "offset must be", id: "x"},
		{name: "negative partition", in: `{"op":"subscribe","id":"x","topic":"t","partition":-1}`, err: "partition", id: "x"},
		{name: "no topic", in: `{"op":"subscribe","id":"x"}`, err: "topic is required", id: "x"},
		{name: "group with partition", in: `{"op":"subscribe","id":"x","group":"g","topics":["t"],"partition":0}`, err: "group subscription", id: "x"},
		{name: "topics without group", in: `{"op":"subscribe","id":"x","topic":"t","topics":["t"]}`, err: "needs", id: "x"},
		{name: "bad acks", in: `{"op":"produce","id":"p","topic":"t","acks":"2","records":[]}`, err: "acks", id: "p"},
		{name: "produce without records", in: `{"op":"produce","id":"p","topic":"t"}`, err: "records is required", id: "p"},
		{name: "invalid utf-8", in: "{\"op\":\"unsubscribe\",\"id\":\"\xff\"}", err: "malformed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodeClientMessage([]byte(tt.in))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want one containing %q", err, tt.err)
				}
				if _, code := problem.Classify(err); code != problem.InvalidRequest {
					t.Fatalf("code = %s, want invalid_request", code)
				}
				if got.ID != tt.id {
					t.Fatalf("id = %q, want %q", got.ID, tt.id)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got.RecordsJSON, got.Timeout = nil, 0
			if !equalMessage(got, tt.want) {
				t.Fatalf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func equalMessage(a, b clientMessage) bool {
	if len(a.Topics) != len(b.Topics) {
		return false
	}
	for i := range a.Topics {
		if a.Topics[i] != b.Topics[i] {
			return false
		}
	}
	a.Topics, b.Topics = nil, nil
	if len(a.Offsets) != 0 || len(b.Offsets) != 0 {
		return false
	}
	a.Offsets, b.Offsets = nil, nil
	return a.Op == b.Op && a.ID == b.ID && a.Topic == b.Topic && a.Partition == b.Partition && a.Offset == b.Offset &&
		a.Group == b.Group && a.AutoOffsetReset == b.AutoOffsetReset && a.SessionTimeout == b.SessionTimeout &&
		a.Assignor == b.Assignor && a.Credits == b.Credits && a.Records == b.Records && a.Acks == b.Acks
}

// FuzzDecodeClientMessage checks the decoder's invariants on any input: it
// never panics; an error is always invalid_request and carries a short id;
// a decoded message has a known op, a non-empty id, and values in range.
func FuzzDecodeClientMessage(f *testing.F) {
	f.Add([]byte(`{"op":"subscribe","id":"s1","topic":"orders","partition":0,"offset":"earliest"}`))
	f.Add([]byte(`{"op":"credit","id":"s1","records":1000}`))
	f.Add([]byte(`{"op":"produce","id":"p1","topic":"orders","acks":"1","records":[{"key":"k","value":{"a":1}}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := decodeClientMessage(data)
		if err != nil {
			var pe *problem.Error
			if !errors.As(err, &pe) || pe.Code != problem.InvalidRequest {
				t.Fatalf("error %v is not invalid_request", err)
			}
			if len(m.ID) > maxIDLength {
				t.Fatalf("error id of %d bytes", len(m.ID))
			}
			return
		}
		if m.ID == "" || len(m.ID) > maxIDLength || !utf8.ValidString(m.ID) {
			t.Fatalf("bad id %q", m.ID)
		}
		switch m.Op {
		case opSubscribe:
			if m.Credits < 0 || m.Credits > maxCredit {
				t.Fatalf("credits %d", m.Credits)
			}
			if m.Group == "" && (m.Topic == "" || m.Partition < noPartition || (m.Offset < 0 && m.Offset != engine.OffsetEarliest && m.Offset != engine.OffsetLatest)) {
				t.Fatalf("bad log subscription %+v", m)
			}
			if m.Group != "" && (len(m.Topics) == 0 || m.SessionTimeout < minSessionTimeout || m.SessionTimeout > maxSessionTimeout) {
				t.Fatalf("bad group subscription %+v", m)
			}
		case opCredit:
			if m.Records < 1 || m.Records > maxCredit {
				t.Fatalf("credit %d", m.Records)
			}
		case opProduce:
			if m.Topic == "" || len(m.RecordsJSON) == 0 || m.Timeout <= 0 {
				t.Fatalf("bad produce %+v", m)
			}
		case opCommit:
			for _, o := range m.Offsets {
				if o.Offset < 0 || o.Partition < 0 || o.Topic == "" {
					t.Fatalf("bad commit offset %+v", o)
				}
			}
		case opUnsubscribe:
		default:
			t.Fatalf("unknown op %q decoded", m.Op)
		}
	})
}
