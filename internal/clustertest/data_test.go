package clustertest

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"testing"

	"github.com/fjord-streaming/fjord/engine/partitioner"
	"github.com/fjord-streaming/fjord/internal/brokertest"
)

// sentRecord is what a test produced, in the form a read gives it back.
type sentRecord struct {
	key         string
	value       []byte // exact JSON bytes; "null" for a tombstone
	valueBase64 string
	headers     map[string]string
}

// readRecord is one record of a read by offset.
type readRecord struct {
	Offset      int64             `json:"offset"`
	Key         *string           `json:"key"`
	Value       json.RawMessage   `json:"value"`
	ValueBase64 string            `json:"value_base64"`
	Headers     map[string]string `json:"headers"`
}

// batchFrom is three records produced at broker from to partition p: JSON
// with odd spacing, number spelling and escapes (which must come back
// byte-exact), raw bytes, and a tombstone.
func batchFrom(from, p int) (string, []sentRecord) {
	value := fmt.Sprintf(`{ "from" :%d,"p": %d , "n":1.50e0,"s":"\u00e9\n\"q\""  }`, from, p)
	raw := base64.StdEncoding.EncodeToString([]byte{0, 1, 0xff, byte(from), byte(p)})
	key := fmt.Sprintf("from-%d", from)
	body := fmt.Sprintf(`{"records":[{"key":%q,"value":%s,"headers":{"via":"%d"}},{"value_base64":%q},{"value":null}]}`,
		key, value, from, raw)
	return body, []sentRecord{
		{key: key, value: []byte(value), headers: map[string]string{"via": fmt.Sprint(from)}},
		{valueBase64: raw}, // a bytes value comes back as value_base64 alone (API.md)
		{value: []byte("null")},
	}
}

// testProduceReadEveryBroker: every broker produces to every partition of a
// topic whose three partitions have three different leaders, and every
// broker reads every partition back byte-exact; produce and read answers
// name the leader, a local read at the leader names it too, and a broker
// with no replica refuses a local read.
func testProduceReadEveryBroker(t *testing.T, c *brokertest.Cluster) {
	r := c.Call(t, 1, http.MethodPost, "/topics", `{"name":"pr","partitions":3,"replication_factor":1}`)
	want(t, r, http.StatusCreated, "create pr")
	d := sameTopic(t, c, "pr", nil)
	var leaders []int
	for p := range 3 {
		leaders = append(leaders, d.leaderOf(t, p))
	}
	if len(slices.Compact(slices.Sorted(slices.Values(leaders)))) != 3 {
		t.Fatalf("leaders of pr's partitions %v, want three different brokers", leaders)
	}
	sent := map[int][]sentRecord{}
	for _, from := range c.IDs() {
		for p := range 3 {
			body, recs := batchFrom(from, p)
			r := c.Call(t, from, http.MethodPost, fmt.Sprintf("/topics/pr/partitions/%d/records", p), body)
			want(t, r, http.StatusOK, fmt.Sprintf("produce at broker %d to partition %d (leader %d)", from, p, leaders[p]))
			if r.BrokerID() != leaders[p] {
				t.Errorf("produce at broker %d to partition %d: X-Fjord-Broker %d, want the leader %d", from, p, r.BrokerID(), leaders[p])
			}
			var out struct {
				Offsets []struct {
					Partition int   `json:"partition"`
					Offset    int64 `json:"offset"`
				} `json:"offsets"`
			}
			decode(t, r, &out)
			for i, o := range out.Offsets {
				if o.Partition != p || o.Offset != int64(len(sent[p])+i) {
					t.Fatalf("produce at broker %d: offsets %+v, want partition %d from %d", from, out.Offsets, p, len(sent[p]))
				}
			}
			sent[p] = append(sent[p], recs...)
		}
	}
	for p := range 3 {
		for _, at := range c.IDs() {
			path := fmt.Sprintf("/topics/pr/partitions/%d/records?offset=0&max_records=100", p)
			r := c.Call(t, at, http.MethodGet, path, "")
			checkRead(t, r, fmt.Sprintf("read partition %d at broker %d", p, at), leaders[p], sent[p])
		}
		r := c.Call(t, leaders[p], http.MethodGet, fmt.Sprintf("/topics/pr/partitions/%d/records?replica=local", p), "")
		checkRead(t, r, fmt.Sprintf("local read of partition %d at its leader", p), leaders[p], sent[p])
		other := others(c, leaders[p])[0]
		r = c.Call(t, other, http.MethodGet, fmt.Sprintf("/topics/pr/partitions/%d/records?replica=local", p), "")
		if r.Status != http.StatusConflict || r.Code() != "not_a_replica" {
			t.Errorf("local read of partition %d at broker %d, which holds no replica: %s, want 409 not_a_replica", p, other, r)
		}
	}
}

// checkRead checks a read answer: 200 from broker by, holding exactly sent
// from offset 0, byte for byte.
func checkRead(t *testing.T, r brokertest.Response, what string, by int, sent []sentRecord) {
	t.Helper()
	want(t, r, http.StatusOK, what)
	if r.BrokerID() != by {
		t.Errorf("%s: X-Fjord-Broker %d, want %d", what, r.BrokerID(), by)
	}
	var out struct {
		NextOffset int64        `json:"next_offset"`
		Records    []readRecord `json:"records"`
	}
	decode(t, r, &out)
	if len(out.Records) != len(sent) || out.NextOffset != int64(len(sent)) {
		t.Fatalf("%s: %d records, next offset %d, want %d: %s", what, len(out.Records), out.NextOffset, len(sent), r)
	}
	for i, got := range out.Records {
		w := sent[i]
		key := ""
		if got.Key != nil {
			key = *got.Key
		}
		if got.Offset != int64(i) || key != w.key || !bytes.Equal(got.Value, w.value) ||
			got.ValueBase64 != w.valueBase64 || (len(w.headers) > 0 && !equalHeaders(got.Headers, w.headers)) {
			t.Fatalf("%s: record %d is offset %d key %q value %s value_base64 %q headers %v;\n"+
				"want offset %d key %q value %s value_base64 %q headers %v",
				what, i, got.Offset, key, got.Value, got.ValueBase64, got.Headers, i, w.key, w.value, w.valueBase64, w.headers)
		}
	}
}

func equalHeaders(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// testGroupThroughNonCoordinator: a member joins at one broker that does not
// coordinate its group, fetches at the other such broker, commits at the
// first, and every broker then shows the commit.
func testGroupThroughNonCoordinator(t *testing.T, c *brokertest.Cluster) {
	r := c.Call(t, 1, http.MethodPost, "/topics", `{"name":"grp","partitions":3,"replication_factor":1}`)
	want(t, r, http.StatusCreated, "create grp")
	sameTopic(t, c, "grp", nil)
	const n = 30
	var recs bytes.Buffer
	for i := range n {
		fmt.Fprintf(&recs, `{"key":"k%d","value":{"i":%d}},`, i, i)
	}
	r = c.Call(t, 2, http.MethodPost, "/topics/grp/records", `{"records":[`+string(bytes.TrimSuffix(recs.Bytes(), []byte(",")))+`]}`)
	want(t, r, http.StatusOK, "produce to grp")

	group, coord := groupCoordinatedBy(t, c, 1)
	via := others(c, coord)
	t.Logf("group %s, coordinator %d, joins at %d, fetches at %d", group, coord, via[0], via[1])
	r = c.Call(t, via[0], http.MethodPost, "/groups/"+group+"/members",
		`{"topics":["grp"],"auto_offset_reset":"earliest","session_timeout_ms":30000}`)
	want(t, r, http.StatusCreated, "join at a non-coordinator")
	if r.BrokerID() != coord {
		t.Errorf("join at broker %d: X-Fjord-Broker %d, want the coordinator %d", via[0], r.BrokerID(), coord)
	}
	var m struct {
		MemberID    string `json:"member_id"`
		Assignments []struct {
			Topic     string `json:"topic"`
			Partition int    `json:"partition"`
		} `json:"assignments"`
	}
	decode(t, r, &m)
	if m.MemberID == "" || len(m.Assignments) != 3 {
		t.Fatalf("join: %s, want a member with all 3 partitions", r)
	}
	base := "/groups/" + group + "/members/" + m.MemberID
	seen := map[string]bool{}
	brokertest.WaitFor(t, settleTimeout, fmt.Sprintf("%d records through broker %d", n, via[1]), func() error {
		r, err := try(c, via[1], http.MethodGet, base+"/records?max_records=500&timeout_ms=200", "")
		if err != nil {
			return err
		}
		if r.Status != http.StatusOK {
			t.Fatalf("fetch at broker %d: %s", via[1], r)
		}
		var out struct {
			Records []struct {
				Topic     string          `json:"topic"`
				Partition int             `json:"partition"`
				Offset    int64           `json:"offset"`
				Value     json.RawMessage `json:"value"`
			} `json:"records"`
		}
		decode(t, r, &out)
		for _, rec := range out.Records {
			id := fmt.Sprintf("%s/%d/%d", rec.Topic, rec.Partition, rec.Offset)
			if seen[id] {
				t.Fatalf("record %s delivered twice", id)
			}
			seen[id] = true
		}
		if len(seen) < n {
			return fmt.Errorf("%d of %d records", len(seen), n)
		}
		return nil
	})
	if len(seen) != n {
		t.Fatalf("%d records delivered, want %d", len(seen), n)
	}
	r = c.Call(t, via[0], http.MethodPost, base+"/commit", "")
	want(t, r, http.StatusOK, "commit at a non-coordinator")
	checkCommitted(t, c, group, n)
	r = c.Call(t, via[1], http.MethodDelete, base, "")
	want(t, r, http.StatusNoContent, "leave at a non-coordinator")
}

// checkCommitted waits until every broker describes group with committed
// offsets at the high watermark, summing to n, and lag 0.
func checkCommitted(t *testing.T, c *brokertest.Cluster, group string, n int64) {
	t.Helper()
	brokertest.WaitFor(t, settleTimeout, "every broker to show the commit", func() error {
		for _, id := range c.IDs() {
			r, err := try(c, id, http.MethodGet, "/groups/"+group, "")
			if err != nil {
				return err
			}
			var g struct {
				Offsets []struct {
					Committed int64 `json:"committed_offset"`
					HW        int64 `json:"high_watermark"`
					Lag       int64 `json:"lag"`
				} `json:"offsets"`
			}
			if r.Status != http.StatusOK || json.Unmarshal(r.Body, &g) != nil {
				return fmt.Errorf("GET /groups/%s at broker %d: %s", group, id, r)
			}
			var sum int64
			for _, o := range g.Offsets {
				if o.Committed != o.HW || o.Lag != 0 {
					return fmt.Errorf("broker %d: %s", id, r)
				}
				sum += o.Committed
			}
			if sum != n {
				return fmt.Errorf("broker %d: committed offsets sum to %d, want %d: %s", id, sum, n, r)
			}
		}
		return nil
	})
}

// groupCoordinatedBy returns a group name whose coordinator (the leader of
// its __consumer_offsets partition) is not broker notCoord, and that
// coordinator. A member joins and leaves a probe group first, which makes a
// broker create __consumer_offsets.
func groupCoordinatedBy(t *testing.T, c *brokertest.Cluster, notCoord int) (string, int) {
	t.Helper()
	r := c.Call(t, notCoord, http.MethodPost, "/groups/probe/members", `{"topics":["grp"],"session_timeout_ms":30000}`)
	want(t, r, http.StatusCreated, "join probe")
	var m struct {
		MemberID string `json:"member_id"`
	}
	decode(t, r, &m)
	want(t, c.Call(t, notCoord, http.MethodDelete, "/groups/probe/members/"+m.MemberID, ""), http.StatusNoContent, "leave probe")
	d := sameTopic(t, c, "__consumer_offsets", nil)
	for i := range 1000 {
		name := fmt.Sprintf("g%d", i)
		leader := d.leaderOf(t, int(partitioner.ForKey([]byte(name), int32(len(d.Partitions)))))
		if leader > 0 && leader != notCoord {
			return name, leader
		}
	}
	t.Fatalf("no group name is coordinated by a broker other than %d: %+v", notCoord, d)
	return "", 0
}

// incarnation is the incarnation broker b's current process gossips, from
// its "membership: gossip started" log line.
func incarnation(t *testing.T, b *brokertest.Broker) string {
	t.Helper()
	recs := b.LogRecords("membership: gossip started")
	if len(recs) == 0 {
		t.Fatalf("no 'membership: gossip started' log line:\n%s", b.Logs())
	}
	inc, _ := recs[len(recs)-1]["incarnation"].(string)
	return inc
}

// testWipedIncarnation: broker 3, stopped and restarted on an empty data
// dir, gossips a new incarnation, the controller registers it under it, and
// broker 3 learns the whole metadata again.
func testWipedIncarnation(t *testing.T, c *brokertest.Cluster) {
	heal(t, c)
	b := c.Broker(3)
	before := incarnation(t, b)
	if err := c.Stop(t, 3); err != nil {
		t.Fatalf("SIGTERM broker 3: exit %v", err)
	}
	c.Wipe(t, 3)
	c.Restart(t, 3)
	after := incarnation(t, b)
	if after == "" || after == before {
		t.Fatalf("incarnation after the wipe %q, before %q: want a new one", after, before)
	}
	brokertest.WaitFor(t, settleTimeout, "the controller to register broker 3's new incarnation", func() error {
		for _, rec := range c.Broker(1).LogRecords("broker registered") {
			if fmt.Sprint(rec["broker"]) == "3" && rec["incarnation"] == after {
				return nil
			}
		}
		return fmt.Errorf("no 'broker registered' line for broker 3 incarnation %s at the controller", after)
	})
	c.WaitFormed(t, settleTimeout)
	sameCluster(t, c)
	sameTopic(t, c, "meta", nil)
	r := c.Call(t, 3, http.MethodPost, "/topics", `{"name":"after-wipe"}`)
	want(t, r, http.StatusCreated, "create at the wiped broker")
	sameTopic(t, c, "after-wipe", nil)
}
