package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/fjord-streaming/fjord/api/peer"
	"github.com/fjord-streaming/fjord/engine/group"
	"github.com/fjord-streaming/fjord/storage"
	"github.com/fjord-streaming/fjord/ws"
)

// routedGroups serves WebSocket group subscriptions at the group's
// coordinator: the local manager when this broker coordinates the group,
// otherwise the coordinator's REST group API, called as a forwarded
// request (one hop; the coordinator trusts the cluster secret, since this
// broker already authorized the subscription).
type routedGroups struct {
	local ws.Groups
	m     *group.Manager
	b     *broker
	http  *http.Client
}

var _ ws.Groups = (*routedGroups)(nil)

// at returns the coordinator's base URL, or "" when this broker is it.
func (g *routedGroups) at(name string) (string, error) {
	id, err := g.m.Coordinator(name)
	if err != nil {
		return "", err
	}
	if g.b.cluster == nil || id == int32(g.b.cfg.ID) {
		return "", nil
	}
	addr, ok := g.b.cluster.ctrl.BrokerAddr(id)
	if !ok {
		return "", fmt.Errorf("group %q: coordinator %d is unknown", name, id)
	}
	scheme := "http"
	if g.b.cluster.tls != nil {
		scheme = "https"
	}
	return scheme + "://" + addr, nil
}

// call sends a forwarded request to the coordinator and decodes its JSON
// answer into out; problem answers come back as the engine's errors.
func (g *routedGroups) call(ctx context.Context, method, url string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	peer.SetForwarded(req, int32(g.b.cfg.ID), g.b.cfg.ClusterSecret)
	resp, err := g.http.Do(req)
	if err != nil {
		return fmt.Errorf("group coordinator: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		return peer.ProblemError(resp.StatusCode, b)
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(b, out)
}

type memberJSON struct {
	MemberID    string         `json:"member_id"`
	Generation  int64          `json:"generation"`
	Assignments []tpJSON       `json:"assignments"`
	Records     []consumerJSON `json:"records"`
}

type tpJSON struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	Offset    int64  `json:"offset,omitempty"`
}

func (m memberJSON) member(id string) ws.GroupMember {
	if m.MemberID != "" {
		id = m.MemberID
	}
	out := ws.GroupMember{MemberID: id, Generation: m.Generation, Assignments: make([]ws.TopicPartition, len(m.Assignments))}
	for i, a := range m.Assignments {
		out.Assignments[i] = ws.TopicPartition{Topic: a.Topic, Partition: a.Partition}
	}
	return out
}

func (g *routedGroups) Join(ctx context.Context, name string, req ws.GroupJoin) (ws.GroupMember, error) {
	base, err := g.at(name)
	if err != nil {
		return ws.GroupMember{}, err
	}
	if base == "" {
		return g.local.Join(ctx, name, req)
	}
	body := map[string]any{"topics": req.Topics, "session_timeout_ms": req.SessionTimeout.Milliseconds()}
	if req.AutoOffsetReset != "" {
		body["auto_offset_reset"] = req.AutoOffsetReset
	}
	if req.Assignor != "" {
		body["assignor"] = req.Assignor
	}
	var m memberJSON
	if err := g.call(ctx, http.MethodPost, base+"/groups/"+url.PathEscape(name)+"/members", body, &m); err != nil {
		return ws.GroupMember{}, err
	}
	return m.member(""), nil
}

func (g *routedGroups) Fetch(ctx context.Context, name, member string, maxRecords, maxBytes int, wait time.Duration) (ws.GroupFetch, error) {
	base, err := g.at(name)
	if err != nil {
		return ws.GroupFetch{}, err
	}
	if base == "" {
		return g.local.Fetch(ctx, name, member, maxRecords, maxBytes, wait)
	}
	q := url.Values{"max_records": {strconv.Itoa(maxRecords)}, "max_bytes": {strconv.Itoa(maxBytes)},
		"timeout_ms": {strconv.FormatInt(wait.Milliseconds(), 10)}}
	var m memberJSON
	u := base + "/groups/" + url.PathEscape(name) + "/members/" + url.PathEscape(member) + "/records?" + q.Encode()
	if err := g.call(ctx, http.MethodGet, u, nil, &m); err != nil {
		return ws.GroupFetch{}, err
	}
	gm := m.member(member)
	out := ws.GroupFetch{Generation: gm.Generation, Assignments: gm.Assignments, Records: make([]ws.GroupRecord, len(m.Records))}
	for i, r := range m.Records {
		rec, err := r.record()
		if err != nil {
			return ws.GroupFetch{}, fmt.Errorf("group %q: record from the coordinator: %w", name, err)
		}
		out.Records[i] = ws.GroupRecord{Topic: r.Topic, Partition: r.Partition, Record: rec}
	}
	return out, nil
}

func (g *routedGroups) Heartbeat(ctx context.Context, name, member string) (ws.GroupMember, error) {
	base, err := g.at(name)
	if err != nil {
		return ws.GroupMember{}, err
	}
	if base == "" {
		return g.local.Heartbeat(ctx, name, member)
	}
	var m memberJSON
	if err := g.call(ctx, http.MethodPost, base+"/groups/"+url.PathEscape(name)+"/members/"+url.PathEscape(member)+"/heartbeat", nil, &m); err != nil {
		return ws.GroupMember{}, err
	}
	return m.member(member), nil
}

func (g *routedGroups) Commit(ctx context.Context, name, member string, offsets []ws.PartitionOffset) ([]ws.PartitionOffset, error) {
	base, err := g.at(name)
	if err != nil {
		return nil, err
	}
	if base == "" {
		return g.local.Commit(ctx, name, member, offsets)
	}
	in := struct {
		Offsets []tpJSON `json:"offsets"`
	}{Offsets: make([]tpJSON, len(offsets))}
	for i, o := range offsets {
		in.Offsets[i] = tpJSON{Topic: o.Topic, Partition: o.Partition, Offset: o.Offset}
	}
	var res struct {
		Offsets []tpJSON `json:"offsets"`
	}
	if err := g.call(ctx, http.MethodPost, base+"/groups/"+url.PathEscape(name)+"/members/"+url.PathEscape(member)+"/commit", in, &res); err != nil {
		return nil, err
	}
	out := make([]ws.PartitionOffset, len(res.Offsets))
	for i, o := range res.Offsets {
		out[i] = ws.PartitionOffset{TopicPartition: ws.TopicPartition{Topic: o.Topic, Partition: o.Partition}, Offset: o.Offset}
	}
	return out, nil
}

func (g *routedGroups) Leave(ctx context.Context, name, member string) error {
	base, err := g.at(name)
	if err != nil {
		return err
	}
	if base == "" {
		return g.local.Leave(ctx, name, member)
	}
	return g.call(ctx, http.MethodDelete, base+"/groups/"+url.PathEscape(name)+"/members/"+url.PathEscape(member), nil, nil)
}

// consumerJSON is one record of a REST group fetch. Values keep their
// exact bytes (json.RawMessage), so a record reaches the WebSocket as the
// producer sent it.
type consumerJSON struct {
	Topic       string          `json:"topic"`
	Partition   int32           `json:"partition"`
	Offset      int64           `json:"offset"`
	Timestamp   int64           `json:"timestamp"`
	Key         *string         `json:"key"`
	KeyBase64   *string         `json:"key_base64"`
	Value       json.RawMessage `json:"value"`
	ValueBase64 *string         `json:"value_base64"`
	Headers     orderedHeaders  `json:"headers"`
}

func (r consumerJSON) record() (storage.Record, error) {
	rec := storage.Record{Offset: r.Offset, Timestamp: r.Timestamp, Headers: r.Headers}
	switch {
	case r.Key != nil:
		rec.KeyFormat, rec.Key = storage.FormatText, []byte(*r.Key)
	case r.KeyBase64 != nil:
		k, err := base64.StdEncoding.DecodeString(*r.KeyBase64)
		if err != nil {
			return rec, err
		}
		rec.KeyFormat, rec.Key = storage.FormatBytes, k
	}
	switch {
	case r.ValueBase64 != nil:
		v, err := base64.StdEncoding.DecodeString(*r.ValueBase64)
		if err != nil {
			return rec, err
		}
		rec.ValueFormat, rec.Value = storage.FormatBytes, v
	case len(r.Value) > 0 && string(r.Value) != "null":
		rec.ValueFormat, rec.Value = storage.FormatJSON, r.Value
	}
	return rec, nil
}

// orderedHeaders decodes a JSON object of strings in member order.
type orderedHeaders []storage.Header

func (h *orderedHeaders) UnmarshalJSON(b []byte) error {
	d := json.NewDecoder(bytes.NewReader(b))
	if t, err := d.Token(); err != nil || t != json.Delim('{') {
		if string(b) == "null" {
			return nil
		}
		return fmt.Errorf("headers: not an object")
	}
	for d.More() {
		k, err := d.Token()
		if err != nil {
			return err
		}
		var v string
		if err := d.Decode(&v); err != nil {
			return err
		}
		*h = append(*h, storage.Header{Key: k.(string), Value: v})
	}
	return nil
}
