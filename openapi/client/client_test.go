package client_test

import (
	"context"
	"net/http"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/fjord-streaming/fjord/internal/brokertest"
	"github.com/fjord-streaming/fjord/openapi/client"
)

func ptr[T any](v T) *T { return &v }

// TestGeneratedClient drives a real broker through the client generated
// from the OpenAPI document: create a topic, produce records with keys and
// headers, read each back by offset, see problems decoded, then consume
// everything as a consumer-group member and commit.
func TestGeneratedClient(t *testing.T) {
	b := brokertest.Start(t)
	c, err := client.NewClientWithResponses(b.URL)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	const topic = "client-orders"

	created, err := c.CreateTopicWithResponse(ctx, client.CreateTopicJSONRequestBody{Name: topic, Partitions: ptr(3),
		Config: &map[string]int{"retention.ms": 604800000}})
	if err != nil {
		t.Fatal(err)
	}
	if created.StatusCode() != http.StatusCreated || created.JSON201 == nil || len(created.JSON201.Partitions) != 3 ||
		created.JSON201.Config["retention.ms"] != 604800000 {
		t.Fatalf("create: %d %s", created.StatusCode(), created.Body)
	}
	dup, err := c.CreateTopicWithResponse(ctx, client.CreateTopicJSONRequestBody{Name: topic})
	if err != nil {
		t.Fatal(err)
	}
	if p := dup.ApplicationproblemJSON409; p == nil || p.Code != "topic_exists" || p.Status != http.StatusConflict {
		t.Fatalf("duplicate create: %d %s: want a topic_exists problem", dup.StatusCode(), dup.Body)
	}

	sent := []client.ApiProduceRecordDoc{
		{Key: ptr("user-42"), Value: map[string]any{"any": "json", "n": 1.5}, Headers: &map[string]string{"trace": "abc"}},
		{KeyBase64: ptr([]byte{0, 1}), ValueBase64: ptr([]byte("hello")), Partition: ptr(2),
			Timestamp: ptr(1767225600000), Headers: &map[string]string{"content-type": "bytes"}},
		{Key: ptr("user-42"), Value: "second for the same key"},
		{Key: ptr("gone"), Partition: ptr(0)}, // a tombstone
	}
	produced, err := c.ProduceWithResponse(ctx, topic, &client.ProduceParams{Acks: ptr(client.ProduceParamsAcksAll)},
		client.ProduceJSONRequestBody{Records: sent})
	if err != nil {
		t.Fatal(err)
	}
	if produced.JSON200 == nil || len(produced.JSON200.Offsets) != len(sent) {
		t.Fatalf("produce: %d %s", produced.StatusCode(), produced.Body)
	}
	offs := produced.JSON200.Offsets
	if offs[0].Partition != offs[2].Partition || *offs[2].Offset != *offs[0].Offset+1 {
		t.Errorf("records with one key: %+v then %+v, want one partition and consecutive offsets", offs[0], offs[2])
	}
	if offs[1].Partition != 2 || offs[1].Timestamp != 1767225600000 || offs[3].Partition != 0 {
		t.Errorf("explicit partitions and timestamp not kept: %+v %+v", offs[1], offs[3])
	}

	for i, o := range offs {
		if o.Offset == nil || o.Error != nil {
			t.Fatalf("record %d: %+v", i, o)
		}
		read, err := c.ReadRecordsWithResponse(ctx, topic, o.Partition, &client.ReadRecordsParams{
			Offset: ptr(strconv.Itoa(*o.Offset)), MaxRecords: ptr(1)})
		if err != nil {
			t.Fatal(err)
		}
		if read.JSON200 == nil || len(read.JSON200.Records) != 1 {
			t.Fatalf("read %d/%d: %d %s", o.Partition, *o.Offset, read.StatusCode(), read.Body)
		}
		got, want := read.JSON200.Records[0], sent[i]
		if got.Offset != *o.Offset || got.Timestamp != o.Timestamp || read.JSON200.NextOffset != *o.Offset+1 {
			t.Errorf("record %d: offset %d timestamp %d next %d, want %d %d %d", i, got.Offset, got.Timestamp,
				read.JSON200.NextOffset, *o.Offset, o.Timestamp, *o.Offset+1)
		}
		if !reflect.DeepEqual(got.Key, want.Key) || !reflect.DeepEqual(got.KeyBase64, want.KeyBase64) ||
			!reflect.DeepEqual(got.Value, want.Value) || !reflect.DeepEqual(got.ValueBase64, want.ValueBase64) ||
			!reflect.DeepEqual(got.Headers, want.Headers) {
			t.Errorf("record %d read back as %+v, sent %+v", i, got, want)
		}
	}

	// One partition, by path; then its offsets and an out-of-range read.
	one, err := c.ProduceToPartitionWithResponse(ctx, topic, 1, nil,
		client.ProduceToPartitionJSONRequestBody{Records: []client.ApiProduceRecordDoc{{Key: ptr("k"), Value: []any{1.0, "two"}}}})
	if err != nil {
		t.Fatal(err)
	}
	if one.JSON200 == nil || one.JSON200.Offsets[0].Partition != 1 {
		t.Fatalf("produce to partition 1: %d %s", one.StatusCode(), one.Body)
	}
	offsets, err := c.GetPartitionOffsetsWithResponse(ctx, topic, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	if offsets.JSON200 == nil || offsets.JSON200.HighWatermark != *one.JSON200.Offsets[0].Offset+1 {
		t.Fatalf("offsets of partition 1: %d %s", offsets.StatusCode(), offsets.Body)
	}
	oor, err := c.ReadRecordsWithResponse(ctx, topic, 1, &client.ReadRecordsParams{Offset: ptr("1000")})
	if err != nil {
		t.Fatal(err)
	}
	if p := oor.ApplicationproblemJSON416; p == nil || p.Code != "offset_out_of_range" || p.HighWatermark == nil ||
		*p.HighWatermark != offsets.JSON200.HighWatermark {
		t.Errorf("read past the high watermark: %d %s: want offset_out_of_range with high_watermark", oor.StatusCode(), oor.Body)
	}

	written := map[[2]int]bool{}
	for _, o := range append(offs, one.JSON200.Offsets...) {
		written[[2]int{o.Partition, *o.Offset}] = true
	}
	consumeAsGroup(ctx, t, c, topic, written)
}

// consumeAsGroup joins a group, fetches every written record as its only
// member, commits, and checks the group's offsets and lag.
func consumeAsGroup(ctx context.Context, t *testing.T, c *client.ClientWithResponses, topic string, written map[[2]int]bool) {
	t.Helper()
	const group = "client-billing"
	joined, err := c.JoinGroupWithResponse(ctx, group, client.JoinGroupJSONRequestBody{Topics: []string{topic},
		AutoOffsetReset: ptr(client.ApiJoinGroupRequestAutoOffsetResetEarliest), SessionTimeoutMs: ptr(30000)})
	if err != nil {
		t.Fatal(err)
	}
	if joined.JSON201 == nil || joined.JSON201.MemberId == "" || len(joined.JSON201.Assignments) != 3 {
		t.Fatalf("join: %d %s: want a member owning the 3 partitions", joined.StatusCode(), joined.Body)
	}
	member := joined.JSON201.MemberId
	got := map[[2]int]bool{}
	deadline := time.Now().Add(30 * time.Second)
	for len(got) < len(written) && time.Now().Before(deadline) {
		fetched, err := c.FetchMemberRecordsWithResponse(ctx, group, member, &client.FetchMemberRecordsParams{TimeoutMs: ptr(2000)})
		if err != nil {
			t.Fatal(err)
		}
		if fetched.JSON200 == nil {
			t.Fatalf("fetch: %d %s", fetched.StatusCode(), fetched.Body)
		}
		for _, r := range fetched.JSON200.Records {
			if r.Topic == nil || *r.Topic != topic || r.Partition == nil {
				t.Fatalf("group record without its topic and partition: %+v", r)
			}
			k := [2]int{*r.Partition, r.Offset}
			if !written[k] || got[k] {
				t.Fatalf("fetched %v: not written, or twice", k)
			}
			got[k] = true
		}
	}
	if len(got) != len(written) {
		t.Fatalf("fetched %d of %d records", len(got), len(written))
	}
	committed, err := c.CommitMemberOffsetsWithBodyWithResponse(ctx, group, member, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if committed.JSON200 == nil || len(committed.JSON200.Offsets) == 0 {
		t.Fatalf("commit: %d %s", committed.StatusCode(), committed.Body)
	}
	desc, err := c.DescribeGroupWithResponse(ctx, group)
	if err != nil {
		t.Fatal(err)
	}
	if desc.JSON200 == nil || len(desc.JSON200.Members) != 1 || len(desc.JSON200.Offsets) != 3 {
		t.Fatalf("describe group: %d %s", desc.StatusCode(), desc.Body)
	}
	for _, o := range desc.JSON200.Offsets {
		if o.Lag != 0 {
			t.Errorf("lag after committing everything: %+v", o)
		}
	}
	left, err := c.LeaveGroupWithResponse(ctx, group, member)
	if err != nil {
		t.Fatal(err)
	}
	if left.StatusCode() != http.StatusNoContent {
		t.Errorf("leave: %d %s", left.StatusCode(), left.Body)
	}
	gone, err := c.HeartbeatMemberWithResponse(ctx, group, member)
	if err != nil {
		t.Fatal(err)
	}
	if p := gone.ApplicationproblemJSON404; p == nil || p.Code != "member_not_found" {
		t.Errorf("heartbeat after leaving: %d %s: want member_not_found", gone.StatusCode(), gone.Body)
	}
}
