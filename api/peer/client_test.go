package peer_test

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/fjord-streaming/fjord/api/problem"
	"github.com/fjord-streaming/fjord/engine"
	"github.com/fjord-streaming/fjord/storage"
)

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// oddRecords are records whose bytes must survive the trip exactly.
func oddRecords() []storage.Record {
	return []storage.Record{
		{Timestamp: 1767225600000, KeyFormat: storage.FormatText, Key: []byte("user-42"),
			ValueFormat: storage.FormatJSON, Value: []byte(" {\n\t\"a\" :  1.0e0 ,\"b\":[ ] , \"\\u00e9\":\"\\ud83d\\ude00\" }  ")},
		{Timestamp: 1767225599000, KeyFormat: storage.FormatNull, ValueFormat: storage.FormatBytes, Value: []byte{0, 1, 2, 0xff, '\n'}},
		{Timestamp: 0, KeyFormat: storage.FormatBytes, Key: []byte{0xde, 0xad}, ValueFormat: storage.FormatNull,
			Headers: []storage.Header{{Key: "trace", Value: "abc"}, {Key: "trace", Value: ""}, {Key: "", Value: "\x00é"}}},
		{Timestamp: 1<<62 - 1, KeyFormat: storage.FormatText, Key: []byte(""), ValueFormat: storage.FormatJSON, Value: []byte("1E+2")},
		{Timestamp: -5, KeyFormat: storage.FormatNull, ValueFormat: storage.FormatJSON, Value: []byte(`"x"`)},
	}
}

func TestAppendFetchByteExact(t *testing.T) {
	b2 := startBroker(t, 2)
	placeTopics(t, 1, map[string][]int32{"orders": {2, 2}}, b2.eng)
	c := newClient(t, 1, testSecret, b2)
	ctx := ctxT(t)
	tests := []struct {
		name      string
		partition int32
		records   []storage.Record
		acks      engine.Acks
	}{
		{"odd records acks=1", 0, oddRecords(), engine.AcksLeader},
		{"one record acks=all", 1, oddRecords()[:1], engine.AcksAll},
		{"more after the first batch", 0, oddRecords()[1:3], engine.AcksLeader},
	}
	next := map[int32]int64{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base, err := c.Append(ctx, 2, "orders", tt.partition, tt.records, tt.acks, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			if base != next[tt.partition] {
				t.Fatalf("base offset %d, want %d", base, next[tt.partition])
			}
			next[tt.partition] += int64(len(tt.records))
			res, err := c.Fetch(ctx, 2, "orders", tt.partition, engine.FetchRequest{Offset: base, MaxRecords: 100, MaxBytes: 1 << 20})
			if err != nil {
				t.Fatal(err)
			}
			want := withOffsets(tt.records, base)
			if !reflect.DeepEqual(res.Records, want) {
				t.Fatalf("fetched\n%+v\nwant\n%+v", res.Records, want)
			}
			local, err := b2.eng.FetchLeader(ctx, "orders", tt.partition, engine.FetchRequest{Offset: base, MaxRecords: 100, MaxBytes: 1 << 20})
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(res.Records, local.Records) || res.Offsets != local.Offsets || res.NextOffset != local.NextOffset || res.Broker != 2 {
				t.Fatalf("remote read %+v differs from the leader's own %+v", res, local)
			}
		})
	}
}

// withOffsets is recs as read back from offset base: numbered, and with
// what the batch format normalizes (null keys and values are nil).
func withOffsets(recs []storage.Record, base int64) []storage.Record {
	out := make([]storage.Record, len(recs))
	for i, r := range recs {
		r.Offset = base + int64(i)
		if r.KeyFormat == storage.FormatNull {
			r.Key = nil
		}
		if r.ValueFormat == storage.FormatNull {
			r.Value = nil
		}
		if r.Key == nil && r.KeyFormat != storage.FormatNull {
			r.Key = []byte{}
		}
		if len(r.Headers) == 0 {
			r.Headers = nil
		}
		out[i] = r
	}
	return out
}

func TestFetchEmptyAndLimits(t *testing.T) {
	b2 := startBroker(t, 2)
	placeTopics(t, 1, map[string][]int32{"orders": {2}}, b2.eng)
	c := newClient(t, 1, testSecret, b2)
	ctx := ctxT(t)
	if _, err := c.Append(ctx, 2, "orders", 0, oddRecords(), engine.AcksLeader, time.Second); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		req      engine.FetchRequest
		wantN    int
		wantNext int64
	}{
		{"at the HW", engine.FetchRequest{Offset: 5, MaxRecords: 10, MaxBytes: 1 << 20}, 0, 5},
		{"latest", engine.FetchRequest{Offset: engine.OffsetLatest, MaxRecords: 10, MaxBytes: 1 << 20}, 0, 5},
		{"earliest, two records", engine.FetchRequest{Offset: engine.OffsetEarliest, MaxRecords: 2, MaxBytes: 1 << 20}, 2, 2},
		{"max bytes 0 still one", engine.FetchRequest{Offset: 3, MaxRecords: 10, MaxBytes: 0}, 1, 4},
		{"max records 0", engine.FetchRequest{Offset: 1, MaxRecords: 0, MaxBytes: 1 << 20}, 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := c.Fetch(ctx, 2, "orders", 0, tt.req)
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Records) != tt.wantN || res.NextOffset != tt.wantNext || res.HighWatermark != 5 || res.LogEnd != 5 || res.Broker != 2 {
				t.Fatalf("got %d records, next %d, offsets %+v; want %d, next %d, HW 5", len(res.Records), res.NextOffset, res.Offsets, tt.wantN, tt.wantNext)
			}
		})
	}
}

func TestFetchLongPollWakesOnAppend(t *testing.T) {
	b2 := startBroker(t, 2)
	placeTopics(t, 1, map[string][]int32{"orders": {2}}, b2.eng)
	c := newClient(t, 1, testSecret, b2)
	ctx := ctxT(t)
	type answer struct {
		res engine.ReadResult
		err error
	}
	done := make(chan answer, 1)
	go func() {
		res, err := c.Fetch(ctx, 2, "orders", 0, engine.FetchRequest{Offset: 0, MaxRecords: 10, MaxBytes: 1 << 20, Wait: 10 * time.Second})
		done <- answer{res, err}
	}()
	<-b2.lead.arrived // the fetch reached the leader, before any record exists
	start := time.Now()
	if _, err := b2.eng.AppendLeader(ctx, "orders", 0, oddRecords()[:2], engine.AcksLeader, time.Second); err != nil {
		t.Fatal(err)
	}
	a := <-done
	if a.err != nil {
		t.Fatal(a.err)
	}
	if len(a.res.Records) != 2 || a.res.NextOffset != 2 {
		t.Fatalf("woke with %d records, next %d; want 2, 2", len(a.res.Records), a.res.NextOffset)
	}
	if waited := time.Since(start); waited > 5*time.Second {
		t.Fatalf("the append woke the fetch only after %v", waited)
	}
}

func TestOffsetsLongPoll(t *testing.T) {
	b2 := startBroker(t, 2)
	placeTopics(t, 1, map[string][]int32{"orders": {2}}, b2.eng)
	c := newClient(t, 1, testSecret, b2)
	ctx := ctxT(t)
	if _, err := c.Append(ctx, 2, "orders", 0, oddRecords()[:1], engine.AcksLeader, time.Second); err != nil {
		t.Fatal(err)
	}
	// Below the HW: at once.
	off, err := c.Offsets(ctx, 2, "orders", 0, 0, 10*time.Second)
	if err != nil || off.HighWatermark != 1 || off.LogEnd != 1 || off.LogStart != 0 || off.Bytes <= 0 {
		t.Fatalf("offsets %+v, %v; want HW 1", off, err)
	}
	// No wait: at once, unchanged.
	if off, err := c.Offsets(ctx, 2, "orders", 0, 1, 0); err != nil || off.HighWatermark != 1 {
		t.Fatalf("offsets %+v, %v; want HW 1", off, err)
	}
	// At the HW: waits for the next append.
	drain(b2.lead.arrived)
	done := make(chan engine.Offsets, 1)
	errc := make(chan error, 1)
	go func() {
		off, err := c.Offsets(ctx, 2, "orders", 0, 1, 10*time.Second)
		done <- off
		errc <- err
	}()
	<-b2.lead.arrived // the long poll reached the leader, before the append
	select {
	case off := <-done:
		t.Fatalf("long poll answered %+v before any append", off)
	default:
	}
	if _, err := b2.eng.AppendLeader(ctx, "orders", 0, oddRecords()[1:4], engine.AcksLeader, time.Second); err != nil {
		t.Fatal(err)
	}
	off = <-done
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if off.HighWatermark != 4 {
		t.Fatalf("long poll woke with %+v, want HW 4", off)
	}
	ts, err := c.OffsetForTimestamp(ctx, 2, "orders", 0, 1767225599500)
	if err != nil {
		t.Fatal(err)
	}
	want, err := b2.eng.OffsetForTimestampLeader("orders", 0, 1767225599500)
	if err != nil {
		t.Fatal(err)
	}
	if ts != want {
		t.Fatalf("offset for timestamp %+v, want the leader's %+v", ts, want)
	}
}

func TestErrorsRoundTrip(t *testing.T) {
	b2 := startBroker(t, 2)
	placeTopics(t, 1, map[string][]int32{"orders": {2}, "elsewhere": {3}}, b2.eng)
	c := newClient(t, 1, testSecret, b2)
	ctx := ctxT(t)
	if _, err := c.Append(ctx, 2, "orders", 0, oddRecords(), engine.AcksLeader, time.Second); err != nil {
		t.Fatal(err)
	}
	fetch := func(topic string, p int32, off int64) func() error {
		return func() error {
			_, err := c.Fetch(ctx, 2, topic, p, engine.FetchRequest{Offset: off, MaxRecords: 1, MaxBytes: 1})
			return err
		}
	}
	tests := []struct {
		name     string
		call     func() error
		sentinel error
		code     string
		status   int
	}{
		{"topic not found", fetch("nope", 0, 0), engine.ErrTopicNotFound, problem.TopicNotFound, 404},
		{"partition not found", fetch("orders", 7, 0), engine.ErrPartitionNotFound, problem.PartitionNotFound, 404},
		{"offset out of range", fetch("orders", 0, 99), engine.ErrOffsetOutOfRangeMarker, problem.OffsetOutOfRange, 416},
		{"not leader", fetch("elsewhere", 0, 0), engine.ErrLeaderNotAvailable, problem.LeaderNotAvailable, 503},
		{"append not leader", func() error {
			_, err := c.Append(ctx, 2, "elsewhere", 0, oddRecords(), engine.AcksLeader, time.Second)
			return err
		}, engine.ErrLeaderNotAvailable, problem.LeaderNotAvailable, 503},
		{"append to internal-looking unknown topic", func() error {
			_, err := c.Append(ctx, 2, "__none", 0, oddRecords(), engine.AcksLeader, time.Second)
			return err
		}, engine.ErrTopicNotFound, problem.TopicNotFound, 404},
		{"offsets not leader", func() error {
			_, err := c.Offsets(ctx, 2, "elsewhere", 0, -1, 0)
			return err
		}, engine.ErrLeaderNotAvailable, problem.LeaderNotAvailable, 503},
		{"offset for timestamp unknown topic", func() error {
			_, err := c.OffsetForTimestamp(ctx, 2, "nope", 0, 0)
			return err
		}, engine.ErrTopicNotFound, problem.TopicNotFound, 404},
		{"no records", func() error {
			_, err := c.Append(ctx, 2, "orders", 0, nil, engine.AcksLeader, time.Second)
			return err
		}, engine.ErrInvalidRequest, problem.InvalidRequest, 400},
		{"unknown broker", func() error {
			_, err := c.Fetch(ctx, 9, "orders", 0, engine.FetchRequest{})
			return err
		}, engine.ErrLeaderNotAvailable, problem.LeaderNotAvailable, 503},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if !errors.Is(err, tt.sentinel) {
				t.Fatalf("error %v, want %v", err, tt.sentinel)
			}
			if d := problem.From(err); d.Code != tt.code || d.Status != tt.status {
				t.Fatalf("renders as %d %s (%s), want %d %s", d.Status, d.Code, d.Detail, tt.status, tt.code)
			}
		})
	}

	// The same error read here renders exactly as at the leader.
	_, local := b2.eng.FetchLeader(ctx, "orders", 0, engine.FetchRequest{Offset: 99, MaxRecords: 1})
	remote := fetch("orders", 0, 99)()
	var oor *engine.OffsetOutOfRangeError
	if !errors.As(remote, &oor) || oor.Offset != 99 || oor.LogStartOffset != 0 || oor.HighWatermark != 5 {
		t.Fatalf("offset out of range came back as %#v", remote)
	}
	if !reflect.DeepEqual(problem.From(remote), problem.From(local)) {
		t.Fatalf("remote renders %+v, the leader %+v", problem.From(remote), problem.From(local))
	}
	_, local = b2.eng.FetchLeader(ctx, "nope", 0, engine.FetchRequest{})
	if r, l := problem.From(fetch("nope", 0, 0)()), problem.From(local); r != l {
		t.Fatalf("remote renders %+v, the leader %+v", r, l)
	}
}

func TestUnreachableBroker(t *testing.T) {
	b2 := startBroker(t, 2)
	c := newClient(t, 1, testSecret, b2)
	ctx := ctxT(t)
	shutdown, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := b2.echo.Shutdown(shutdown); err != nil {
		t.Fatal(err)
	}
	_, err := c.Fetch(ctx, 2, "orders", 0, engine.FetchRequest{})
	if !errors.Is(err, engine.ErrLeaderNotAvailable) {
		t.Fatalf("fetch from a stopped broker: %v, want leader not available", err)
	}
	_, err = c.CreateTopic(ctx, 2, engine.TopicSpec{Name: "x"})
	if !errors.Is(err, engine.ErrLeaderNotAvailable) {
		t.Fatalf("create at a stopped controller: %v, want leader not available", err)
	}
}

func TestCallerDeadline(t *testing.T) {
	b2 := startBroker(t, 2)
	placeTopics(t, 1, map[string][]int32{"orders": {2}}, b2.eng)
	c := newClient(t, 1, testSecret, b2)
	ctx, cancel := context.WithCancel(ctxT(t))
	done := make(chan error, 1)
	go func() {
		_, err := c.Fetch(ctx, 2, "orders", 0, engine.FetchRequest{Offset: 0, MaxRecords: 1, MaxBytes: 1, Wait: 10 * time.Second})
		done <- err
	}()
	<-b2.lead.arrived
	cancel()
	err := <-done
	if !errors.Is(err, engine.ErrTimeout) || !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled fetch: %v, want a timeout wrapping context.Canceled", err)
	}
}

// drain empties ch of signals sent by earlier calls.
func drain(ch chan struct{}) {
	for {
		select {
		case <-ch:
		default:
			return
		}
	}
}
