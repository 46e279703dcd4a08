package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fjord-streaming/fjord/internal/brokertest"
)

// Answers of the group endpoints, as a client decodes them.
type (
	groupTP struct {
		Topic     string `json:"topic"`
		Partition int32  `json:"partition"`
	}
	groupMemberAnswer struct {
		MemberID    string    `json:"member_id"`
		Generation  int32     `json:"generation"`
		Assignments []groupTP `json:"assignments"`
	}
	groupFetched struct {
		Topic     string          `json:"topic"`
		Partition int32           `json:"partition"`
		Offset    int64           `json:"offset"`
		Timestamp int64           `json:"timestamp"`
		Value     json.RawMessage `json:"value"`
	}
	groupRecordsAnswer struct {
		Generation  int32          `json:"generation"`
		Assignments []groupTP      `json:"assignments"`
		Records     []groupFetched `json:"records"`
	}
	groupOffsetRef struct {
		Topic     string `json:"topic"`
		Partition int32  `json:"partition"`
		Offset    int64  `json:"offset"`
	}
	groupDescAnswer struct {
		Group      string `json:"group"`
		State      string `json:"state"`
		Generation int64  `json:"generation"`
		Members    []struct {
			MemberID    string    `json:"member_id"`
			Assignments []groupTP `json:"assignments"`
			LastSeen    int64     `json:"last_seen"`
		} `json:"members"`
		Offsets []struct {
			Topic           string `json:"topic"`
			Partition       int32  `json:"partition"`
			CommittedOffset int64  `json:"committed_offset"`
			HighWatermark   int64  `json:"high_watermark"`
			Lag             int64  `json:"lag"`
		} `json:"offsets"`
	}
	groupLagAnswer struct {
		Group      string `json:"group"`
		Status     string `json:"status"`
		TotalLag   int64  `json:"total_lag"`
		Partitions []struct {
			Topic     string `json:"topic"`
			Partition int32  `json:"partition"`
			Lag       int64  `json:"lag"`
			Status    string `json:"status"`
			Window    []struct {
				Offset    int64 `json:"offset"`
				Lag       int64 `json:"lag"`
				Timestamp int64 `json:"timestamp"`
			} `json:"window"`
		} `json:"partitions"`
	}
	groupProblemAnswer struct {
		Status int    `json:"status"`
		Code   string `json:"code"`
	}
)

// groupClient talks to one group of one broker.
type groupClient struct {
	b     *brokertest.Broker
	group string
}

func (g groupClient) join(t *testing.T, body string) groupMemberAnswer {
	t.Helper()
	var m groupMemberAnswer
	g.b.JSON(t, http.MethodPost, "/groups/"+g.group+"/members", body, http.StatusCreated, &m)
	return m
}

func (g groupClient) member(id string) string { return "/groups/" + g.group + "/members/" + id }

func (g groupClient) fetch(t *testing.T, id, query string) groupRecordsAnswer {
	t.Helper()
	var r groupRecordsAnswer
	g.b.JSON(t, http.MethodGet, g.member(id)+"/records?"+query, "", http.StatusOK, &r)
	return r
}

func (g groupClient) commit(t *testing.T, id string) []groupOffsetRef {
	t.Helper()
	var r struct{ Offsets []groupOffsetRef }
	g.b.JSON(t, http.MethodPost, g.member(id)+"/commit", "", http.StatusOK, &r)
	return r.Offsets
}

func (g groupClient) describe(t *testing.T) groupDescAnswer {
	t.Helper()
	var d groupDescAnswer
	g.b.JSON(t, http.MethodGet, "/groups/"+g.group, "", http.StatusOK, &d)
	return d
}

func (g groupClient) lag(t *testing.T) groupLagAnswer {
	t.Helper()
	var l groupLagAnswer
	g.b.JSON(t, http.MethodGet, "/groups/"+g.group+"/lag", "", http.StatusOK, &l)
	return l
}

// expectGroupProblem sends a request and checks the problem's status and code.
func expectGroupProblem(t *testing.T, b *brokertest.Broker, method, path, body string, status int, code string) {
	t.Helper()
	var p groupProblemAnswer
	b.JSON(t, method, path, body, status, &p)
	if p.Code != code {
		t.Fatalf("%s %s: code %q, want %q", method, path, p.Code, code)
	}
}

// createGroupTopic creates a topic and produces n records per partition with
// values {"p":partition,"i":i}.
func createGroupTopic(t *testing.T, b *brokertest.Broker, name string, partitions, n int) {
	t.Helper()
	b.JSON(t, http.MethodPost, "/topics", fmt.Sprintf(`{"name":%q,"partitions":%d}`, name, partitions), http.StatusCreated, nil)
	produceGroupRecords(t, b, name, partitions, 0, n)
}

// produceGroupRecords produces values {"p":p,"i":i} for i in [from, from+n) to
// every partition.
func produceGroupRecords(t *testing.T, b *brokertest.Broker, topic string, partitions, from, n int) {
	t.Helper()
	if n == 0 {
		return
	}
	var recs []string
	for p := range partitions {
		for i := from; i < from+n; i++ {
			recs = append(recs, fmt.Sprintf(`{"partition":%d,"value":{"p":%d,"i":%d}}`, p, p, i))
		}
	}
	b.JSON(t, http.MethodPost, "/topics/"+topic+"/records", `{"records":[`+strings.Join(recs, ",")+`]}`, http.StatusOK, nil)
}

// waitStable heartbeats every member until the group is stable with the
// given number of members (the previous owners must see the new generation).
func (g groupClient) waitStable(t *testing.T, ids ...string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		for _, id := range ids {
			g.b.JSON(t, http.MethodPost, g.member(id)+"/heartbeat", "", http.StatusOK, nil)
		}
		if d := g.describe(t); d.State == "stable" && len(d.Members) == len(ids) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("group %s not stable: %+v", g.group, g.describe(t))
		}
	}
}

// groupConsumption collects what members read, by value.
type groupConsumption struct {
	mu     sync.Mutex
	counts map[string]int
	owners map[groupTP]string
	clash  string
}

func (c *groupConsumption) add(member string, recs []groupFetched) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, r := range recs {
		c.counts[string(r.Value)]++
		tp := groupTP{r.Topic, r.Partition}
		if o, ok := c.owners[tp]; ok && o != member && c.clash == "" {
			c.clash = fmt.Sprintf("%v read by %s and %s", tp, o, member)
		}
		c.owners[tp] = member
	}
}

func (c *groupConsumption) distinct() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.counts)
}

func TestGroupsOverREST(t *testing.T) {
	b := brokertest.Start(t)
	for _, members := range []int{2, 3} {
		t.Run(fmt.Sprintf("%d members share 6 partitions exactly once", members), func(t *testing.T) {
			testGroupExactlyOnce(t, b, members)
		})
	}
	t.Run("at least once across leave and expiry", func(t *testing.T) { testGroupLeaveAndExpiry(t, b) })
	t.Run("auto_offset_reset none", func(t *testing.T) { testGroupResetNone(t, b) })
	t.Run("seek", func(t *testing.T) { testGroupSeek(t, b) })
	t.Run("reset and delete", func(t *testing.T) { testGroupResetAndDelete(t, b) })
	t.Run("topic deletion drops offsets", func(t *testing.T) { testGroupTopicDeletion(t, b) })
	t.Run("lag falls as members commit", func(t *testing.T) { testGroupLag(t, b) })
	t.Run("bad input", func(t *testing.T) { testGroupBadInput(t, b) })
}

func testGroupExactlyOnce(t *testing.T, b *brokertest.Broker, members int) {
	topic := fmt.Sprintf("once%d", members)
	g := groupClient{b, fmt.Sprintf("once%d", members)}
	createGroupTopic(t, b, topic, 6, 0)
	var ids []string
	for range members {
		ids = append(ids, g.join(t, fmt.Sprintf(`{"topics":[%q],"auto_offset_reset":"earliest"}`, topic)).MemberID)
	}
	g.waitStable(t, ids...)
	const per = 50
	produceGroupRecords(t, b, topic, 6, 0, per)

	c := &groupConsumption{counts: map[string]int{}, owners: map[groupTP]string{}}
	var wg sync.WaitGroup
	deadline := time.Now().Add(20 * time.Second)
	for _, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c.distinct() < 6*per && time.Now().Before(deadline) {
				r := g.fetch(t, id, "max_records=40&timeout_ms=200")
				c.add(id, r.Records)
				if len(r.Records) > 0 {
					g.commit(t, id)
				}
			}
		}()
	}
	wg.Wait()
	if c.clash != "" {
		t.Fatal(c.clash)
	}
	for v, n := range c.counts {
		if n != 1 {
			t.Errorf("record %s groupConsumption %d times", v, n)
		}
	}
	if len(c.counts) != 6*per {
		t.Fatalf("groupConsumption %d distinct records, want %d", len(c.counts), 6*per)
	}
	if l := g.lag(t); l.TotalLag != 0 || l.Status != "OK" || len(l.Partitions) != 6 {
		t.Fatalf("lag after consuming everything: %+v", l)
	}
}

func testGroupLeaveAndExpiry(t *testing.T, b *brokertest.Broker) {
	const topic, per = "alo", 40
	g := groupClient{b, "alo"}
	createGroupTopic(t, b, topic, 6, per)
	a := g.join(t, `{"topics":["alo"],"auto_offset_reset":"earliest","session_timeout_ms":10000}`).MemberID
	bb := g.join(t, `{"topics":["alo"],"auto_offset_reset":"earliest","session_timeout_ms":10000}`).MemberID
	c := g.join(t, `{"topics":["alo"],"auto_offset_reset":"earliest","session_timeout_ms":1000}`).MemberID
	g.waitStable(t, a, bb, c)

	seen := &groupConsumption{counts: map[string]int{}, owners: map[groupTP]string{}}
	// c reads without committing, then goes silent and expires; a reads,
	// commits once, reads more and leaves without committing it.
	seen.add(c, g.fetch(t, c, "max_records=30&timeout_ms=0").Records)
	seen.add(a, g.fetch(t, a, "max_records=30&timeout_ms=0").Records)
	g.commit(t, a)
	seen.add(a, g.fetch(t, a, "max_records=30&timeout_ms=0").Records)
	b.JSON(t, http.MethodDelete, g.member(a), "", http.StatusNoContent, nil)
	expectGroupProblem(t, b, http.MethodPost, g.member(a)+"/heartbeat", "", http.StatusNotFound, "member_not_found")

	deadline := time.Now().Add(20 * time.Second)
	for seen.distinct() < 6*per {
		if time.Now().After(deadline) {
			t.Fatalf("b read %d of %d records: %+v", seen.distinct(), 6*per, g.describe(t))
		}
		r := g.fetch(t, bb, "max_records=100&timeout_ms=500")
		seen.add(bb, r.Records)
		g.commit(t, bb)
	}
	if d := g.describe(t); len(d.Members) != 1 || len(d.Members[0].Assignments) != 6 {
		t.Fatalf("after leave and expiry: %+v", d)
	}
	expectGroupProblem(t, b, http.MethodGet, g.member(c)+"/records", "", http.StatusNotFound, "member_not_found")
	b.JSON(t, http.MethodDelete, g.member(bb), "", http.StatusNoContent, nil)
}

func testGroupResetNone(t *testing.T, b *brokertest.Broker) {
	g := groupClient{b, "strict"}
	createGroupTopic(t, b, "strict", 2, 3)
	m := g.join(t, `{"topics":["strict"],"auto_offset_reset":"none"}`).MemberID
	expectGroupProblem(t, b, http.MethodGet, g.member(m)+"/records?timeout_ms=0", "", http.StatusConflict, "no_committed_offset")
	b.JSON(t, http.MethodPost, g.member(m)+"/commit",
		`{"offsets":[{"topic":"strict","partition":0,"offset":1},{"topic":"strict","partition":1,"offset":2}]}`, http.StatusOK, nil)
	r := g.fetch(t, m, "timeout_ms=0")
	if len(r.Records) != 3 {
		t.Fatalf("after committing offsets read %+v", r.Records)
	}
}

func testGroupSeek(t *testing.T, b *brokertest.Broker) {
	g := groupClient{b, "seeker"}
	b.JSON(t, http.MethodPost, "/topics", `{"name":"timed","partitions":1}`, http.StatusCreated, nil)
	base := time.Now().Add(-time.Minute).UnixMilli() // recent: retention keeps it
	b.JSON(t, http.MethodPost, "/topics/timed/records", fmt.Sprintf(`{"records":[
		{"value":"a","timestamp":%d},{"value":"b","timestamp":%d},{"value":"c","timestamp":%d},{"value":"d","timestamp":%d}]}`,
		base+1000, base+2000, base+3000, base+4000), http.StatusOK, nil)
	m := g.join(t, `{"topics":["timed"],"auto_offset_reset":"latest"}`).MemberID
	if r := g.fetch(t, m, "timeout_ms=0"); len(r.Records) != 0 {
		t.Fatalf("latest read %+v", r.Records)
	}
	var pos groupOffsetRef
	b.JSON(t, http.MethodPost, g.member(m)+"/seek", fmt.Sprintf(`{"topic":"timed","partition":0,"timestamp":%d}`, base+2500), http.StatusOK, &pos)
	if pos.Offset != 2 {
		t.Fatalf("seek to 2500 ms: %+v", pos)
	}
	if r := g.fetch(t, m, "timeout_ms=0"); len(r.Records) != 2 || string(r.Records[0].Value) != `"c"` {
		t.Fatalf("after seek read %+v", r.Records)
	}
	b.JSON(t, http.MethodPost, g.member(m)+"/seek", `{"topic":"timed","partition":0,"offset":"earliest"}`, http.StatusOK, &pos)
	if r := g.fetch(t, m, "timeout_ms=0&max_records=1"); pos.Offset != 0 || string(r.Records[0].Value) != `"a"` {
		t.Fatalf("after seek to earliest read %+v", r.Records)
	}
	expectGroupProblem(t, b, http.MethodPost, g.member(m)+"/seek", `{"topic":"timed","partition":0,"offset":9}`,
		http.StatusRequestedRangeNotSatisfiable, "offset_out_of_range")
	expectGroupProblem(t, b, http.MethodPost, g.member(m)+"/seek", `{"topic":"timed","partition":0}`,
		http.StatusBadRequest, "invalid_request")
}

func testGroupResetAndDelete(t *testing.T, b *brokertest.Broker) {
	g := groupClient{b, "resettable"}
	createGroupTopic(t, b, "resettable", 2, 5)
	m := g.join(t, `{"topics":["resettable"]}`).MemberID
	expectGroupProblem(t, b, http.MethodPut, "/groups/resettable/offsets", `{"topic":"resettable","to":"earliest"}`,
		http.StatusConflict, "group_not_empty")
	expectGroupProblem(t, b, http.MethodDelete, "/groups/resettable", "", http.StatusConflict, "group_not_empty")
	b.JSON(t, http.MethodDelete, g.member(m), "", http.StatusNoContent, nil)

	var out struct{ Offsets []groupOffsetRef }
	b.JSON(t, http.MethodPut, "/groups/resettable/offsets", `{"topic":"resettable","to":"latest"}`, http.StatusOK, &out)
	if len(out.Offsets) != 2 || out.Offsets[0].Offset != 5 {
		t.Fatalf("reset to latest: %+v", out)
	}
	b.JSON(t, http.MethodPut, "/groups/resettable/offsets", `{"offsets":[{"topic":"resettable","partition":1,"offset":2}]}`,
		http.StatusOK, nil)
	if d := g.describe(t); d.State != "empty" || len(d.Offsets) != 2 || d.Offsets[1].CommittedOffset != 2 || d.Offsets[1].Lag != 3 {
		t.Fatalf("after explicit reset: %+v", d)
	}
	m = g.join(t, `{"topics":["resettable"]}`).MemberID
	if r := g.fetch(t, m, "timeout_ms=0"); len(r.Records) != 3 {
		t.Fatalf("read after reset: %+v", r.Records)
	}
	b.JSON(t, http.MethodDelete, g.member(m), "", http.StatusNoContent, nil)
	b.JSON(t, http.MethodDelete, "/groups/resettable", "", http.StatusNoContent, nil)
	expectGroupProblem(t, b, http.MethodGet, "/groups/resettable", "", http.StatusNotFound, "group_not_found")
	expectGroupProblem(t, b, http.MethodDelete, "/groups/resettable", "", http.StatusNotFound, "group_not_found")
}

func testGroupTopicDeletion(t *testing.T, b *brokertest.Broker) {
	g := groupClient{b, "doomed"}
	createGroupTopic(t, b, "doomed", 2, 4)
	m := g.join(t, `{"topics":["doomed"],"auto_offset_reset":"earliest"}`).MemberID
	g.fetch(t, m, "timeout_ms=0")
	if out := g.commit(t, m); len(out) != 2 {
		t.Fatalf("commit: %+v", out)
	}
	b.JSON(t, http.MethodDelete, "/topics/doomed", "", http.StatusNoContent, nil)
	if d := g.describe(t); len(d.Offsets) != 0 || len(d.Members[0].Assignments) != 0 {
		t.Fatalf("after topic deletion: %+v", d)
	}
	createGroupTopic(t, b, "doomed", 2, 1)
	if d := g.describe(t); len(d.Members[0].Assignments) != 2 {
		t.Fatalf("after the topic came back: %+v", d)
	}
	r := g.fetch(t, m, "timeout_ms=0")
	if len(r.Records) != 2 || r.Records[0].Offset != 0 {
		t.Fatalf("the recreated topic read from %+v", r.Records)
	}
	b.JSON(t, http.MethodDelete, g.member(m), "", http.StatusNoContent, nil)
}

func testGroupLag(t *testing.T, b *brokertest.Broker) {
	g := groupClient{b, "lagging"}
	createGroupTopic(t, b, "lagging", 2, 50)
	m := g.join(t, `{"topics":["lagging"],"auto_offset_reset":"earliest"}`).MemberID
	if l := g.lag(t); l.TotalLag != 100 || len(l.Partitions) != 2 {
		t.Fatalf("lag before any commit: %+v", l)
	}
	var lags []int64
	for {
		r := g.fetch(t, m, "timeout_ms=0&max_records=30")
		if len(r.Records) == 0 {
			break
		}
		g.commit(t, m)
		lags = append(lags, g.lag(t).TotalLag)
	}
	if !slices.IsSortedFunc(lags, func(a, b int64) int { return int(b - a) }) || lags[len(lags)-1] != 0 {
		t.Fatalf("lag after each commit: %v, want falling to 0", lags)
	}
	var all struct {
		Groups []struct {
			Group    string `json:"group"`
			Status   string `json:"status"`
			TotalLag int64  `json:"total_lag"`
		} `json:"groups"`
	}
	b.JSON(t, http.MethodGet, "/lag", "", http.StatusOK, &all)
	i := slices.IndexFunc(all.Groups, func(x struct {
		Group    string `json:"group"`
		Status   string `json:"status"`
		TotalLag int64  `json:"total_lag"`
	}) bool {
		return x.Group == "lagging"
	})
	if i < 0 || all.Groups[i].TotalLag != 0 || all.Groups[i].Status != "OK" {
		t.Fatalf("GET /lag: %+v", all)
	}
	var metrics string
	if status, body := b.Get(t, "/metrics"); status == http.StatusOK {
		metrics = string(body)
	}
	if !strings.Contains(metrics, `fjord_group_lag{group="lagging",partition="0",topic="lagging"} 0`) {
		t.Fatalf("metrics lack the group's lag:\n%s", metrics)
	}
}

func testGroupBadInput(t *testing.T, b *brokertest.Broker) {
	for _, tc := range []struct {
		method, path, body string
		status             int
		code               string
	}{
		{"POST", "/groups/g/members", `{"topics":["once2"],"session_timeout_ms":999}`, 400, "invalid_request"},
		{"POST", "/groups/g/members", `{"topics":["once2"],"session_timeout_ms":300001}`, 400, "invalid_request"},
		{"POST", "/groups/g/members", `{"topics":["once2"],"colour":"red"}`, 400, "invalid_request"},
		{"POST", "/groups/g/members", `{"topics":[]}`, 400, "invalid_request"},
		{"POST", "/groups/g/members", `{"topics":["once2"],"auto_offset_reset":"first"}`, 400, "invalid_request"},
		{"POST", "/groups/g/members", `{"topics":["nope"]}`, 404, "topic_not_found"},
		{"POST", "/groups/g/members", `{"topics":["once2"]} {}`, 400, "invalid_request"},
		{"GET", "/groups/g/members/nobody/records", "", 404, "member_not_found"},
		{"POST", "/groups/g/members/nobody/commit", "", 404, "member_not_found"},
		{"POST", "/groups/g/members/nobody/heartbeat", "", 404, "member_not_found"},
		{"DELETE", "/groups/g/members/nobody", "", 404, "member_not_found"},
		{"GET", "/groups/nogroup", "", 404, "group_not_found"},
		{"GET", "/groups/nogroup/lag", "", 404, "group_not_found"},
		{"PUT", "/groups/g2/offsets", `{"topic":"once2","to":"middle"}`, 400, "invalid_request"},
		{"PUT", "/groups/g2/offsets", `{"topic":"once2","offsets":[]}`, 400, "invalid_request"},
	} {
		expectGroupProblem(t, b, tc.method, tc.path, tc.body, tc.status, tc.code)
	}
	if status, _ := b.Get(t, "/groups/g2"); status != http.StatusNotFound {
		t.Fatalf("a failed reset created group g2: %d", status)
	}
}

// TestGroupOffsetsSurviveKill commits, kills the broker with SIGKILL and
// expects the offsets and lag windows back after the restart.
func TestGroupOffsetsSurviveKill(t *testing.T) {
	b := brokertest.Start(t)
	g := groupClient{b, "durable"}
	createGroupTopic(t, b, "durable", 3, 10)
	m := g.join(t, `{"topics":["durable"],"auto_offset_reset":"earliest"}`).MemberID
	g.fetch(t, m, "timeout_ms=0&max_records=20")
	committed := g.commit(t, m)
	before := g.lag(t)
	b.Kill(t)
	b.Restart(t)

	d := g.describe(t)
	var after []groupOffsetRef
	for _, o := range d.Offsets {
		after = append(after, groupOffsetRef{o.Topic, o.Partition, o.CommittedOffset})
	}
	if fmt.Sprint(after) != fmt.Sprint(committed) || d.State != "empty" {
		t.Fatalf("after kill -9: %+v, committed %+v", d, committed)
	}
	if l := g.lag(t); fmt.Sprint(l) != fmt.Sprint(before) || l.TotalLag != 10 {
		t.Fatalf("lag after restart %+v, before %+v", l, before)
	}
	expectGroupProblem(t, b, http.MethodGet, g.member(m)+"/records", "", http.StatusNotFound, "member_not_found")
	m = g.join(t, `{"topics":["durable"],"auto_offset_reset":"earliest"}`).MemberID
	if r := g.fetch(t, m, "timeout_ms=0"); len(r.Records) != 10 {
		t.Fatalf("a new member read %d records after the restart, want the 10 uncommitted", len(r.Records))
	}
}
