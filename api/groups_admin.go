package api

import (
	"bytes"
	"encoding/json"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/fjord-streaming/fjord/engine"
	"github.com/fjord-streaming/fjord/engine/group"
)

// GroupSummary is one group in GET /groups.
type GroupSummary struct {
	Group   string `json:"group" example:"billing"`
	State   string `json:"state" enums:"empty,rebalancing,stable" example:"stable"`
	Members int    `json:"members" example:"2"`
}

// GroupList is the body of GET /groups.
type GroupList struct {
	Groups []GroupSummary `json:"groups"`
}

// GroupMember is one member in a group description.
type GroupMember struct {
	MemberID string `json:"member_id" example:"3f1c9a0e5b7d4c2a8e6f0b1d2c3a4e5f"`
	// Assignments are the partitions the member may consume now.
	Assignments []TopicPartitionRef `json:"assignments"`
	// LastSeen is the member's last fetch, heartbeat, commit or join (Unix ms).
	LastSeen         int64    `json:"last_seen" example:"1767225600123"`
	Topics           []string `json:"topics" example:"orders"`
	SessionTimeoutMs int64    `json:"session_timeout_ms" example:"30000"`
}

// GroupOffset is a committed offset with its partition's high watermark.
type GroupOffset struct {
	Topic           string `json:"topic" example:"orders"`
	Partition       int32  `json:"partition" example:"0"`
	CommittedOffset int64  `json:"committed_offset" example:"40"`
	HighWatermark   int64  `json:"high_watermark" example:"43"`
	Lag             int64  `json:"lag" example:"3"`
}

// GroupDescription is the body of GET /groups/{group}.
type GroupDescription struct {
	Group string `json:"group" example:"billing"`
	// State is empty without members, rebalancing while a partition waits for its previous owner to
	// see the new generation, stable otherwise.
	State      string        `json:"state" enums:"empty,rebalancing,stable" example:"stable"`
	Generation int64         `json:"generation" example:"3"`
	Assignor   string        `json:"assignor" enums:"range,roundrobin,sticky" example:"range"`
	Members    []GroupMember `json:"members"`
	Offsets    []GroupOffset `json:"offsets"`
}

// ResetOffsetsRequest is the body of PUT /groups/{group}/offsets: either
// offsets, or topic with to ("earliest", "latest" or {"timestamp":ms}).
type ResetOffsetsRequest struct {
	Offsets []PartitionOffsetRef `json:"offsets,omitempty"`
	Topic   string               `json:"topic,omitempty" example:"orders"`
	// To is "earliest", "latest" or {"timestamp": Unix ms} (the first offset at or after it, the end when none is).
	To json.RawMessage `json:"to,omitempty" swaggertype:"string" example:"earliest"`
}

// ResetOffsetsResponse lists the group's new committed offsets.
type ResetOffsetsResponse struct {
	Offsets []PartitionOffsetRef `json:"offsets"`
}

// listGroups godoc
// @Summary      List consumer groups
// @Description  Every group with members or committed offsets (a group without offsets is not kept across restarts).
// @ID           listGroups
// @Tags         groups
// @Produce      json
// @Success      200 {object} api.GroupList
// @Router       /groups [get]
func (g *groupsAPI) listGroups(c echo.Context) error {
	out := GroupList{Groups: []GroupSummary{}}
	for _, s := range g.m.List() {
		out.Groups = append(out.Groups, GroupSummary{Group: s.Group, State: string(s.State), Members: s.Members})
	}
	out.Groups = gatherList(c, g.s.router, out.Groups, "groups", func(s GroupSummary) string { return s.Group })
	return c.JSON(http.StatusOK, out)
}

// describeGroup godoc
// @Summary      Describe a consumer group
// @Description  Its state, generation, assignor, live members with their assignments, and committed offsets with
// @Description  the partitions' high watermarks and lag.
// @ID           describeGroup
// @Tags         groups
// @Produce      json
// @Param        group path string true "group name" example(billing)
// @Success      200 {object} api.GroupDescription
// @Failure      404 {object} problem.Details "group_not_found"
// @Router       /groups/{group} [get]
func (g *groupsAPI) describeGroup(c echo.Context) error {
	d, err := g.m.Describe(c.Param("group"))
	if err != nil {
		return err
	}
	out := GroupDescription{Group: d.Group, State: string(d.State), Generation: d.Generation, Assignor: d.Assignor,
		Members: []GroupMember{}, Offsets: []GroupOffset{}}
	for _, m := range d.Members {
		out.Members = append(out.Members, GroupMember{MemberID: m.ID, Assignments: assignmentRefs(m.Assignment),
			LastSeen: m.LastSeen.UnixMilli(), Topics: m.Topics, SessionTimeoutMs: m.SessionTimeout.Milliseconds()})
	}
	for _, o := range d.Committed {
		out.Offsets = append(out.Offsets, GroupOffset{Topic: o.Topic, Partition: o.Partition, CommittedOffset: o.Offset,
			HighWatermark: o.HighWatermark, Lag: o.Lag})
	}
	return c.JSON(http.StatusOK, out)
}

// resetOffsets godoc
// @Summary      Reset the committed offsets of a group without members
// @Description  Either {"offsets":[{"topic","partition","offset"}]} (each within the retained log), or
// @Description  {"topic":"orders","to":"earliest"|"latest"|{"timestamp":ms}} for every partition of the topic. Offsets
// @Description  may move backwards. Creates the group when it does not exist. Only while the group has no members.
// @ID           resetGroupOffsets
// @Tags         groups
// @Accept       json
// @Produce      json
// @Param        group path string true "group name, [A-Za-z0-9._-]{1,249}" example(billing)
// @Param        body  body api.ResetOffsetsRequest true "new offsets"
// @Success      200 {object} api.ResetOffsetsResponse "the new committed offsets"
// @Failure      400 {object} problem.Details "invalid_request"
// @Failure      404 {object} problem.Details "topic_not_found, partition_not_found"
// @Failure      409 {object} problem.Details "group_not_empty"
// @Failure      408 {object} problem.Details "request_timeout (the body did not arrive within --body-read-timeout)"
// @Failure      415 {object} problem.Details "unsupported_media_type"
// @Failure      416 {object} problem.Details "offset_out_of_range, with log_start_offset and high_watermark"
// @Router       /groups/{group}/offsets [put]
func (g *groupsAPI) resetOffsets(c echo.Context) error {
	var req ResetOffsetsRequest
	if err := g.s.decodeJSON(c, &req); err != nil {
		return err
	}
	rr, err := resetRequest(req)
	if err != nil {
		return err
	}
	offs, err := g.m.ResetOffsets(c.Request().Context(), c.Param("group"), rr)
	if err != nil {
		return err
	}
	out := ResetOffsetsResponse{Offsets: make([]PartitionOffsetRef, 0, len(offs))}
	for _, o := range offs {
		out.Offsets = append(out.Offsets, PartitionOffsetRef{Topic: o.Topic, Partition: o.Partition, Offset: o.Offset})
	}
	return c.JSON(http.StatusOK, out)
}

// resetRequest validates the two forms of a reset body.
func resetRequest(req ResetOffsetsRequest) (group.ResetRequest, error) {
	var rr group.ResetRequest
	if (req.Offsets != nil) == (req.Topic != "") {
		return rr, invalid(`give either "offsets" or "topic" with "to"`)
	}
	if req.Offsets != nil {
		if len(req.To) > 0 {
			return rr, invalid(`"to" goes with "topic", not with "offsets"`)
		}
		rr.Offsets = make([]group.PartitionOffset, 0, len(req.Offsets))
		for _, o := range req.Offsets {
			if o.Topic == "" || o.Partition < 0 || o.Offset < 0 {
				return rr, invalid("every offset needs a topic, a non-negative partition and a non-negative offset")
			}
			rr.Offsets = append(rr.Offsets, group.PartitionOffset{
				TopicPartition: group.TopicPartition{Topic: o.Topic, Partition: o.Partition}, Offset: o.Offset})
		}
		return rr, nil
	}
	rr.Topic = req.Topic
	var s string
	if json.Unmarshal(req.To, &s) == nil {
		switch s {
		case "earliest":
			rr.To = engine.OffsetEarliest
			return rr, nil
		case "latest":
			rr.To = engine.OffsetLatest
			return rr, nil
		}
	} else {
		var ts struct {
			Timestamp *int64 `json:"timestamp"`
		}
		dec := json.NewDecoder(bytes.NewReader(req.To))
		dec.DisallowUnknownFields()
		if dec.Decode(&ts) == nil && ts.Timestamp != nil && *ts.Timestamp >= 0 {
			rr.Timestamp = ts.Timestamp
			return rr, nil
		}
	}
	return rr, invalid(`"to" must be "earliest", "latest" or {"timestamp": ms}`)
}

// deleteGroup godoc
// @Summary      Delete a consumer group without members, and its offsets
// @ID           deleteGroup
// @Tags         groups
// @Param        group path string true "group name" example(billing)
// @Success      204
// @Failure      404 {object} problem.Details "group_not_found"
// @Failure      409 {object} problem.Details "group_not_empty"
// @Router       /groups/{group} [delete]
func (g *groupsAPI) deleteGroup(c echo.Context) error {
	if err := g.m.DeleteGroup(c.Request().Context(), c.Param("group")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
