package group

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/fjord-streaming/fjord/engine"
)

func TestManagerJoinFetchCommit(t *testing.T) {
	e := newEnv(t, ManagerConfig{})
	e.createTopic(t, "orders", 3)
	e.produce(t, "orders", 3, 10)

	a := e.join(t, "g", JoinRequest{Topics: []string{"orders"}, AutoOffsetReset: ResetEarliest})
	if a.Generation != 1 || !slices.Equal(a.Assignments, parts("orders", 0, 1, 2)) {
		t.Fatalf("join: %+v", a)
	}
	got := e.drain(t, "g", a.MemberID)
	if len(got) != 30 || len(recordKeys(got)) != len(slices.Compact(recordKeys(got))) {
		t.Fatalf("drained %d records, want 30 distinct", len(got))
	}
	out := e.commit(t, "g", a.MemberID, nil)
	if len(out) != 3 {
		t.Fatalf("commit delivered: %+v", out)
	}
	for _, o := range out {
		if o.Offset != 10 || o.HighWatermark != 10 {
			t.Fatalf("committed %+v, want offset 10 at high watermark 10", o)
		}
	}
	lag, err := e.m.Lag("g")
	if err != nil || lag.TotalLag != 0 || len(lag.Partitions) != 3 {
		t.Fatalf("lag: %+v, %v", lag, err)
	}
	if l := e.m.List(); len(l) != 1 || l[0] != (GroupSummary{Group: "g", State: StateStable, Members: 1}) {
		t.Fatalf("list: %+v", l)
	}
}

func TestManagerJoinValidation(t *testing.T) {
	e := newEnv(t, ManagerConfig{})
	e.createTopic(t, "orders", 1)
	for _, tc := range []struct {
		name  string
		group string
		req   JoinRequest
		want  error
	}{
		{"bad group name", "a/b", JoinRequest{Topics: []string{"orders"}}, ErrInvalidGroupName},
		{"no topics", "g", JoinRequest{}, ErrNoTopics},
		{"missing topic", "g", JoinRequest{Topics: []string{"nope"}}, engine.ErrTopicNotFound},
		{"bad reset", "g", JoinRequest{Topics: []string{"orders"}, AutoOffsetReset: "first"}, ErrInvalidRequest},
		{"short session", "g", JoinRequest{Topics: []string{"orders"}, SessionTimeout: time.Millisecond}, ErrInvalidSessionTimeout},
		{"bad assignor", "g", JoinRequest{Topics: []string{"orders"}, Assignor: "random"}, ErrUnknownAssignor},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := e.m.Join(context.Background(), tc.group, tc.req); !errors.Is(err, tc.want) {
				t.Fatalf("err %v, want %v", err, tc.want)
			}
		})
	}
	if l := e.m.List(); len(l) != 0 {
		t.Fatalf("failed joins left groups behind: %+v", l)
	}
}

func TestManagerFetchRotatesPartitions(t *testing.T) {
	e := newEnv(t, ManagerConfig{})
	e.createTopic(t, "orders", 3)
	e.produce(t, "orders", 3, 5)
	a := e.join(t, "g", JoinRequest{Topics: []string{"orders"}, AutoOffsetReset: ResetEarliest})
	seen := map[int32]bool{}
	for range 3 {
		res := e.fetch(t, "g", a.MemberID, 2)
		if len(res.Records) != 2 || res.Records[0].Partition != res.Records[1].Partition {
			t.Fatalf("fetch of 2: %v", recordKeys(res.Records))
		}
		seen[res.Records[0].Partition] = true
	}
	if len(seen) != 3 {
		t.Fatalf("three fetches started on partitions %v, want each once", seen)
	}
}

func TestManagerHandOver(t *testing.T) {
	e := newEnv(t, ManagerConfig{})
	e.createTopic(t, "orders", 4)
	e.produce(t, "orders", 4, 3)
	a := e.join(t, "g", JoinRequest{Topics: []string{"orders"}, AutoOffsetReset: ResetEarliest})
	e.drain(t, "g", a.MemberID)

	b := e.join(t, "g", JoinRequest{Topics: []string{"orders"}})
	if b.Generation != 2 || len(b.Assignments) != 0 {
		t.Fatalf("b joined with %+v; want generation 2 and nothing until a has seen it", b)
	}
	if d, _ := e.m.Describe("g"); d.State != StateRebalancing {
		t.Fatalf("state %s, want rebalancing", d.State)
	}
	// a may still commit what it consumed before it learns of generation 2.
	if out := e.commit(t, "g", a.MemberID, nil); len(out) != 4 {
		t.Fatalf("a's last commit: %+v", out)
	}
	ra := e.fetch(t, "g", a.MemberID, 100)
	if ra.Generation != 2 || len(ra.Assignments) != 2 || len(ra.Records) != 0 {
		t.Fatalf("a after rebalance: %+v", ra)
	}
	hb, err := e.m.Heartbeat(context.Background(), "g", b.MemberID)
	all := append(slices.Clone(ra.Assignments), hb.Assignments...)
	slices.SortFunc(all, compareTP)
	if err != nil || !slices.Equal(all, parts("orders", 0, 1, 2, 3)) {
		t.Fatalf("b heartbeat: %+v, %v; a has %v", hb, err, ra.Assignments)
	}
	if d, _ := e.m.Describe("g"); d.State != StateStable {
		t.Fatalf("state %s, want stable", d.State)
	}
	// a no longer owns 2 and 3.
	_, err = e.m.Commit(context.Background(), "g", a.MemberID, []OffsetCommit{{TopicPartition: hb.Assignments[0], Offset: 1}})
	if !errors.Is(err, ErrNotOwner) {
		t.Fatalf("commit of a lost partition: %v", err)
	}
	e.produce(t, "orders", 4, 1)
	rb := e.drain(t, "g", b.MemberID)
	var want []string
	for _, tp := range hb.Assignments {
		want = append(want, fmt.Sprintf("%s@3", tp))
	}
	if !slices.Equal(recordKeys(rb), want) {
		t.Fatalf("b read %v, want %v (from a's committed offsets)", recordKeys(rb), want)
	}
}

func TestManagerSessionExpiry(t *testing.T) {
	e := newEnv(t, ManagerConfig{})
	e.createTopic(t, "orders", 2)
	req := JoinRequest{Topics: []string{"orders"}, SessionTimeout: 2 * time.Second}
	a := e.join(t, "g", req)
	b := e.join(t, "g", req)
	e.fetch(t, "g", a.MemberID, 10)
	e.fetch(t, "g", b.MemberID, 10)

	e.clock.Advance(1500 * time.Millisecond)
	e.fetch(t, "g", b.MemberID, 10) // b stays alive
	e.clock.Advance(1500 * time.Millisecond)
	res := e.fetch(t, "g", b.MemberID, 10)
	if !slices.Equal(res.Assignments, parts("orders", 0, 1)) || res.Generation != 3 {
		t.Fatalf("after a expired b has %+v", res)
	}
	for name, call := range map[string]func() error{
		"fetch":     func() error { _, err := e.m.Fetch(context.Background(), "g", a.MemberID, 1, 1, 0); return err },
		"heartbeat": func() error { _, err := e.m.Heartbeat(context.Background(), "g", a.MemberID); return err },
		"commit":    func() error { _, err := e.m.Commit(context.Background(), "g", a.MemberID, nil); return err },
		"leave":     func() error { return e.m.Leave(context.Background(), "g", a.MemberID) },
		"unknown":   func() error { _, err := e.m.Heartbeat(context.Background(), "nogroup", "x"); return err },
	} {
		if err := call(); !errors.Is(err, ErrMemberNotFound) {
			t.Errorf("%s by an expired member: %v", name, err)
		}
	}
}

// TestManagerRunExpires runs the timer loop on the real clock: nobody calls
// in for the expiring member, yet its partitions move.
func TestManagerRunExpires(t *testing.T) {
	e := newEnv(t, ManagerConfig{Now: time.Now})
	e.createTopic(t, "orders", 2)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { e.m.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	req := JoinRequest{Topics: []string{"orders"}, SessionTimeout: time.Second}
	a := e.join(t, "g", req)
	b := e.join(t, "g", JoinRequest{Topics: []string{"orders"}, SessionTimeout: 30 * time.Second})
	_ = a
	start := time.Now()
	for {
		// A long poll keeps b alive and returns when its assignment changes.
		res, err := e.m.Fetch(context.Background(), "g", b.MemberID, 10, 1<<20, 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if slices.Equal(res.Assignments, parts("orders", 0, 1)) {
			break
		}
		if time.Since(start) > 8*time.Second {
			t.Fatalf("a did not expire: %+v", res)
		}
	}
	if _, err := e.m.Heartbeat(context.Background(), "g", a.MemberID); !errors.Is(err, ErrMemberNotFound) {
		t.Fatalf("expired member heartbeat: %v", err)
	}
}

func TestManagerLongPollWakesOnProduce(t *testing.T) {
	e := newEnv(t, ManagerConfig{})
	e.createTopic(t, "orders", 2)
	a := e.join(t, "g", JoinRequest{Topics: []string{"orders"}, AutoOffsetReset: ResetLatest})
	e.fetch(t, "g", a.MemberID, 10) // positions at the (empty) end
	got := make(chan FetchResult, 1)
	go func() {
		res, err := e.m.Fetch(context.Background(), "g", a.MemberID, 10, 1<<20, 30*time.Second)
		if err != nil {
			t.Error(err)
		}
		got <- res
	}()
	e.produce(t, "orders", 1, 1)
	select {
	case res := <-got:
		if want := []string{"orders/0@0"}; !slices.Equal(recordKeys(res.Records), want) {
			t.Fatalf("long poll got %v", recordKeys(res.Records))
		}
	case <-time.After(20 * time.Second):
		t.Fatal("long poll did not wake on produce")
	}
}

func TestManagerLongPollWakesOnRebalanceAndClose(t *testing.T) {
	e := newEnv(t, ManagerConfig{})
	e.createTopic(t, "orders", 2)
	a := e.join(t, "g", JoinRequest{Topics: []string{"orders"}})
	got := make(chan FetchResult, 2)
	poll := func() {
		res, err := e.m.Fetch(context.Background(), "g", a.MemberID, 10, 1<<20, 30*time.Second)
		if err != nil {
			t.Error(err)
		}
		got <- res
	}
	go poll()
	// Wait until the poll is in flight: it holds the member alive.
	waitFor(t, func() bool {
		gs := e.m.lookup("g")
		gs.mu.Lock()
		defer gs.mu.Unlock()
		return gs.members[a.MemberID].polls > 0
	})
	e.join(t, "g", JoinRequest{Topics: []string{"orders"}})
	if res := <-got; res.Generation != 2 || len(res.Assignments) != 1 {
		t.Fatalf("poll after rebalance: %+v", res)
	}
	go poll()
	waitFor(t, func() bool {
		gs := e.m.lookup("g")
		gs.mu.Lock()
		defer gs.mu.Unlock()
		return gs.members[a.MemberID].polls > 0
	})
	e.m.Close()
	if res := <-got; res.Generation != 2 {
		t.Fatalf("poll after close: %+v", res)
	}
}

// waitFor polls cond: it watches another goroutine's progress, which has
// nothing to notify by.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in 10s")
		}
		time.Sleep(time.Millisecond)
	}
}

func TestManagerResetPolicies(t *testing.T) {
	e := newEnv(t, ManagerConfig{})
	e.createTopic(t, "orders", 2)
	e.produce(t, "orders", 2, 4)
	for _, tc := range []struct {
		reset string
		want  int
	}{{ResetEarliest, 8}, {ResetLatest, 0}} {
		a := e.join(t, "g-"+tc.reset, JoinRequest{Topics: []string{"orders"}, AutoOffsetReset: tc.reset})
		if got := e.drain(t, "g-"+tc.reset, a.MemberID); len(got) != tc.want {
			t.Errorf("%s: %d records, want %d", tc.reset, len(got), tc.want)
		}
	}
	a := e.join(t, "g-none", JoinRequest{Topics: []string{"orders"}, AutoOffsetReset: ResetNone})
	if _, err := e.m.Fetch(context.Background(), "g-none", a.MemberID, 10, 1<<20, 0); !errors.Is(err, ErrNoCommittedOffset) {
		t.Fatalf("none without offsets: %v", err)
	}
	e.commit(t, "g-none", a.MemberID, []OffsetCommit{
		{TopicPartition: parts("orders", 0)[0], Offset: 3}, {TopicPartition: parts("orders", 1)[0], Offset: 1}})
	if got := e.drain(t, "g-none", a.MemberID); !slices.Equal(recordKeys(got),
		[]string{"orders/0@3", "orders/1@1", "orders/1@2", "orders/1@3"}) {
		t.Fatalf("none after commit read %v", recordKeys(got))
	}
}

func TestManagerSeek(t *testing.T) {
	e := newEnv(t, ManagerConfig{})
	e.createTopic(t, "orders", 1)
	for range 5 {
		e.produce(t, "orders", 1, 1)
		e.clock.Advance(time.Second)
	}
	t0 := e.clock.Now().Add(-5 * time.Second).UnixMilli() // timestamp of offset 0
	a := e.join(t, "g", JoinRequest{Topics: []string{"orders"}, AutoOffsetReset: ResetEarliest})
	e.drain(t, "g", a.MemberID)
	e.commit(t, "g", a.MemberID, nil)
	ts := func(ms int64) *int64 { return &ms }
	for _, tc := range []struct {
		name string
		req  SeekRequest
		want int64
		err  error
	}{
		{"timestamp", SeekRequest{Timestamp: ts(t0 + 2000)}, 2, nil},
		{"timestamp after the end", SeekRequest{Timestamp: ts(t0 + 60000)}, 5, nil},
		{"earliest", SeekRequest{Offset: engine.OffsetEarliest}, 0, nil},
		{"latest", SeekRequest{Offset: engine.OffsetLatest}, 5, nil},
		{"offset", SeekRequest{Offset: 4}, 4, nil},
		{"out of range", SeekRequest{Offset: 6}, 0, engine.ErrOffsetOutOfRangeMarker},
		{"unknown partition", SeekRequest{Partition: 1}, 0, ErrUnknownPartition},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.req.Topic = "orders"
			pos, err := e.m.SeekOffset(context.Background(), "g", a.MemberID, tc.req)
			if !errors.Is(err, tc.err) || (err == nil && pos != tc.want) {
				t.Fatalf("seek: %d, %v; want %d, %v", pos, err, tc.want, tc.err)
			}
		})
	}
	// A seek lets the next commit of the partition move backwards.
	if _, err := e.m.SeekOffset(context.Background(), "g", a.MemberID, SeekRequest{Topic: "orders", Offset: 1}); err != nil {
		t.Fatal(err)
	}
	if got := e.drain(t, "g", a.MemberID); len(got) != 4 || got[0].Record.Offset != 1 {
		t.Fatalf("after seek to 1 read %v", recordKeys(got))
	}
	e.m.SeekOffset(context.Background(), "g", a.MemberID, SeekRequest{Topic: "orders", Offset: 2})
	if out := e.commit(t, "g", a.MemberID, nil); out[0].Offset != 2 {
		t.Fatalf("commit after seek back: %+v", out)
	}
	if out := e.commit(t, "g", a.MemberID, []OffsetCommit{{TopicPartition: parts("orders", 0)[0], Offset: 1}}); out[0].Offset != 2 {
		t.Fatalf("plain commit moved backwards: %+v", out)
	}
}

func TestManagerResetAndDeleteGroup(t *testing.T) {
	e := newEnv(t, ManagerConfig{})
	e.createTopic(t, "orders", 2)
	e.produce(t, "orders", 2, 5)
	ctx := context.Background()
	a := e.join(t, "g", JoinRequest{Topics: []string{"orders"}})
	if _, err := e.m.ResetOffsets(ctx, "g", ResetRequest{Topic: "orders", To: engine.OffsetEarliest}); !errors.Is(err, ErrGroupNotEmpty) {
		t.Fatalf("reset with a member: %v", err)
	}
	if err := e.m.DeleteGroup(ctx, "g"); !errors.Is(err, ErrGroupNotEmpty) {
		t.Fatalf("delete with a member: %v", err)
	}
	if err := e.m.Leave(ctx, "g", a.MemberID); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		req  ResetRequest
		want map[string]int64
		err  error
	}{
		{"latest", ResetRequest{Topic: "orders", To: engine.OffsetLatest}, map[string]int64{"orders/0": 5, "orders/1": 5}, nil},
		{"explicit", ResetRequest{Offsets: []PartitionOffset{{TopicPartition: parts("orders", 1)[0], Offset: 2}}},
			map[string]int64{"orders/0": 5, "orders/1": 2}, nil},
		{"earliest", ResetRequest{Topic: "orders", To: engine.OffsetEarliest}, map[string]int64{"orders/0": 0, "orders/1": 0}, nil},
		{"out of range", ResetRequest{Offsets: []PartitionOffset{{TopicPartition: parts("orders", 1)[0], Offset: 9}}}, nil,
			engine.ErrOffsetOutOfRangeMarker},
		{"missing topic", ResetRequest{Topic: "nope", To: engine.OffsetLatest}, nil, engine.ErrTopicNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.m.ResetOffsets(ctx, "g", tc.req)
			if !errors.Is(err, tc.err) {
				t.Fatalf("reset: %v, want %v", err, tc.err)
			}
			if got := e.committed(t, "g"); err == nil && !maps.Equal(got, tc.want) {
				t.Fatalf("offsets %v, want %v", got, tc.want)
			}
		})
	}
	if err := e.m.DeleteGroup(ctx, "g"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.m.Describe("g"); !errors.Is(err, ErrGroupNotFound) {
		t.Fatalf("describe deleted group: %v", err)
	}
	if err := e.m.DeleteGroup(ctx, "g"); !errors.Is(err, ErrGroupNotFound) {
		t.Fatalf("delete twice: %v", err)
	}
	e.reopen(t)
	if _, err := e.m.Describe("g"); !errors.Is(err, ErrGroupNotFound) {
		t.Fatalf("deleted group came back after restart: %v", err)
	}
}

func TestManagerFollowsTopics(t *testing.T) {
	e := newEnv(t, ManagerConfig{})
	e.createTopic(t, "orders", 2)
	e.produce(t, "orders", 2, 3)
	a := e.join(t, "g", JoinRequest{Topics: []string{"orders"}, AutoOffsetReset: ResetEarliest})
	e.drain(t, "g", a.MemberID)
	e.commit(t, "g", a.MemberID, nil)

	six := int32(4)
	if _, err := e.eng.UpdateTopic("orders", engine.TopicUpdate{Partitions: &six}); err != nil {
		t.Fatal(err)
	}
	if res := e.fetch(t, "g", a.MemberID, 10); res.Generation != 2 || !slices.Equal(res.Assignments, parts("orders", 0, 1, 2, 3)) {
		t.Fatalf("after adding partitions: %+v", res)
	}

	if err := e.eng.DeleteTopic("orders"); err != nil {
		t.Fatal(err)
	}
	if got := e.committed(t, "g"); len(got) != 0 {
		t.Fatalf("offsets of a deleted topic: %v", got)
	}
	if res := e.fetch(t, "g", a.MemberID, 10); len(res.Assignments) != 0 {
		t.Fatalf("assignment of a deleted topic: %+v", res)
	}
	e.createTopic(t, "orders", 2)
	e.reopen(t)
	if got := e.committed(t, "g"); len(got) != 0 {
		t.Fatalf("offsets of the deleted topic came back after restart: %v", got)
	}
}

// TestManagerReplay restarts on the same data and expects the same offsets
// and lag windows.
func TestManagerReplay(t *testing.T) {
	e := newEnv(t, ManagerConfig{Coordinator: Config{LagWindowSize: 3}})
	e.createTopic(t, "orders", 2)
	e.createTopic(t, "audit", 1)
	a := e.join(t, "g", JoinRequest{Topics: []string{"orders", "audit"}, AutoOffsetReset: ResetEarliest})
	for range 4 {
		e.produce(t, "orders", 2, 3)
		e.produce(t, "audit", 1, 1)
		e.fetch(t, "g", a.MemberID, 4)
		e.commit(t, "g", a.MemberID, nil)
		e.clock.Advance(2 * time.Second)
	}
	h := e.join(t, "h", JoinRequest{Topics: []string{"audit"}, AutoOffsetReset: ResetEarliest})
	e.drain(t, "h", h.MemberID)
	e.commit(t, "h", h.MemberID, nil)
	e.m.Leave(context.Background(), "h", h.MemberID)
	e.m.ResetOffsets(context.Background(), "h", ResetRequest{Topic: "audit", To: engine.OffsetEarliest})

	before := e.m.AllLag()
	e.reopen(t)
	after := e.m.AllLag()
	if fmt.Sprint(before) != fmt.Sprint(after) {
		t.Fatalf("lag differs after restart:\nbefore %+v\nafter  %+v", before, after)
	}
	if len(after) != 2 || len(after[0].Partitions[0].Window) != 3 {
		t.Fatalf("restored lag: %+v", after)
	}
}

// TestManagerCompaction writes many commits with a small CompactAfter and
// expects __consumer_offsets to stay bounded and to restore the same state.
func TestManagerCompaction(t *testing.T) {
	e := newEnv(t, ManagerConfig{OffsetsPartitions: 1, CompactAfter: 10})
	e.createTopic(t, "orders", 1)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { e.m.Run(ctx); close(done) }()
	a := e.join(t, "g", JoinRequest{Topics: []string{"orders"}, AutoOffsetReset: ResetEarliest})
	b := e.join(t, "gone", JoinRequest{Topics: []string{"orders"}, AutoOffsetReset: ResetEarliest})
	e.produce(t, "orders", 1, 1)
	e.drain(t, "gone", b.MemberID)
	e.commit(t, "gone", b.MemberID, nil)
	e.m.Leave(context.Background(), "gone", b.MemberID)
	if err := e.m.DeleteGroup(context.Background(), "gone"); err != nil {
		t.Fatal(err)
	}
	for range 50 {
		e.produce(t, "orders", 1, 1)
		e.fetch(t, "g", a.MemberID, 10)
		e.commit(t, "g", a.MemberID, nil)
		e.clock.Advance(time.Second)
	}
	p, err := e.eng.Partition(OffsetsTopic, 0)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { o := p.Offsets(); return o.HighWatermark-o.LogStart <= 11 })
	cancel()
	<-done
	before := e.m.AllLag()
	e.reopen(t)
	if after := e.m.AllLag(); fmt.Sprint(before) != fmt.Sprint(after) || len(after) != 1 {
		t.Fatalf("lag differs after compaction and restart:\nbefore %+v\nafter  %+v", before, after)
	}
	if got := e.committed(t, "g"); got["orders/0"] != 51 {
		t.Fatalf("offsets after compaction: %v", got)
	}
}

// A rebalance that lands between two fetches is answered by the next fetch
// at once, not after its wait.
func TestManagerFetchAnswersRebalanceBetweenFetches(t *testing.T) {
	e := newEnv(t, ManagerConfig{})
	e.createTopic(t, "orders", 2)
	a := e.join(t, "g", JoinRequest{Topics: []string{"orders"}})
	if _, err := e.m.Fetch(context.Background(), "g", a.MemberID, 10, 1<<20, 0); err != nil {
		t.Fatal(err)
	}
	e.join(t, "g", JoinRequest{Topics: []string{"orders"}})
	got := make(chan FetchResult, 1)
	go func() {
		res, err := e.m.Fetch(context.Background(), "g", a.MemberID, 10, 1<<20, time.Minute)
		if err != nil {
			t.Error(err)
		}
		got <- res
	}()
	select {
	case res := <-got:
		if res.Generation != 2 || len(res.Assignments) != 1 {
			t.Fatalf("fetch after rebalance: %+v", res)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the fetch waited although the member had not seen the rebalance")
	}
}
