package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/fjord-streaming/fjord/api/problem"
	"github.com/fjord-streaming/fjord/api/wire"
	"github.com/fjord-streaming/fjord/engine"
	"github.com/fjord-streaming/fjord/engine/group"
)

// PartitionNotAssigned is the API code of a commit or seek of a partition
// the member does not own (409): it was never assigned to it, or it moved
// to another member in a rebalance the member has seen.
const PartitionNotAssigned = "partition_not_assigned"

func init() {
	bad := func(err error) problem.Mapping {
		return problem.Mapping{Err: err, Status: http.StatusBadRequest, Code: problem.InvalidRequest}
	}
	problem.Register(
		problem.Mapping{Err: group.ErrMemberNotFound, Status: http.StatusNotFound, Code: problem.MemberNotFound},
		problem.Mapping{Err: group.ErrGroupNotFound, Status: http.StatusNotFound, Code: problem.GroupNotFound},
		problem.Mapping{Err: group.ErrUnknownPartition, Status: http.StatusNotFound, Code: problem.PartitionNotFound},
		problem.Mapping{Err: group.ErrGroupNotEmpty, Status: http.StatusConflict, Code: problem.GroupNotEmpty},
		problem.Mapping{Err: group.ErrNoCommittedOffset, Status: http.StatusConflict, Code: problem.NoCommittedOffset},
		problem.Mapping{Err: group.ErrNotOwner, Status: http.StatusConflict, Code: PartitionNotAssigned},
		bad(group.ErrInvalidGroupName), bad(group.ErrInvalidRequest), bad(group.ErrNoTopics),
		bad(group.ErrInvalidSessionTimeout), bad(group.ErrUnknownAssignor), bad(group.ErrAssignorMismatch),
		bad(group.ErrInvalidGeneration), bad(group.ErrInvalidOffset), bad(group.ErrDuplicatePartition),
		bad(group.ErrInvalidMemberID), bad(group.ErrMemberExists),
	)
}

// groupsAPI serves consumer groups and lag over a group.Manager.
type groupsAPI struct {
	s *Server
	m *group.Manager
}

// MountGroups serves the consumer-group and lag endpoints over m.
func (s *Server) MountGroups(m *group.Manager) {
	g := &groupsAPI{s: s, m: m}
	e := s.echo
	e.GET("/groups", g.listGroups)
	e.GET("/lag", g.allLag)
	// Everything about one group is served by its coordinator.
	at := g.coordinated
	e.GET("/groups/:group", at(g.describeGroup))
	e.DELETE("/groups/:group", at(g.deleteGroup))
	e.PUT("/groups/:group/offsets", at(g.resetOffsets))
	e.GET("/groups/:group/lag", at(g.groupLag))
	e.POST("/groups/:group/members", at(g.joinGroup))
	e.DELETE("/groups/:group/members/:member", at(g.leaveGroup))
	e.GET("/groups/:group/members/:member/records", at(g.memberRecords))
	e.POST("/groups/:group/members/:member/commit", at(g.commit))
	e.POST("/groups/:group/members/:member/seek", at(g.seek))
	e.POST("/groups/:group/members/:member/heartbeat", at(g.heartbeat))
}

// JoinGroupRequest is the body of POST /groups/{group}/members.
type JoinGroupRequest struct {
	// Topics to subscribe to; each must exist.
	Topics []string `json:"topics" example:"orders" minItems:"1"`
	// AutoOffsetReset is where the member starts on a partition without committed offset
	// (and when its position left the retained log); none makes such a fetch 409 no_committed_offset.
	AutoOffsetReset string `json:"auto_offset_reset,omitempty" enums:"earliest,latest,none" default:"latest" example:"earliest"`
	// SessionTimeoutMs: the member expires after this long without a fetch, heartbeat or commit.
	SessionTimeoutMs *int64 `json:"session_timeout_ms,omitempty" minimum:"1000" maximum:"300000" default:"30000" example:"30000"`
	// Assignor spreads partitions over members; the first member of an empty group chooses it,
	// later members must name the same one or none.
	Assignor string `json:"assignor,omitempty" enums:"range,roundrobin,sticky" default:"range"`
}

// TopicPartitionRef names one partition of a topic.
type TopicPartitionRef struct {
	Topic     string `json:"topic" example:"orders"`
	Partition int32  `json:"partition" example:"0"`
}

// MemberAssignment is the body of a join: the new member's id, the group
// generation and the partitions it may consume now (possibly none until
// their previous owners have seen the new generation).
type MemberAssignment struct {
	MemberID    string              `json:"member_id" example:"3f1c9a0e5b7d4c2a8e6f0b1d2c3a4e5f"`
	Generation  int32               `json:"generation" example:"3"`
	Assignments []TopicPartitionRef `json:"assignments"`
}

// Assignment is a member's generation and assigned partitions (heartbeat answer).
type Assignment struct {
	Generation  int32               `json:"generation" example:"3"`
	Assignments []TopicPartitionRef `json:"assignments"`
}

// MemberRecords is the body of a member fetch.
type MemberRecords struct {
	Generation  int32               `json:"generation" example:"3"`
	Assignments []TopicPartitionRef `json:"assignments"`
	// Records carry topic and partition; offsets are consecutive per partition.
	Records []ConsumeRecord `json:"records"`
}

// PartitionOffsetRef is an offset of one partition: the next offset to read.
type PartitionOffsetRef struct {
	Topic     string `json:"topic" example:"orders"`
	Partition int32  `json:"partition" example:"0"`
	Offset    int64  `json:"offset" example:"42" minimum:"0"`
}

// CommitRequest is the optional body of a commit. Without a body (or
// without offsets) the positions after the records already delivered to
// the member are committed.
type CommitRequest struct {
	Offsets *[]PartitionOffsetRef `json:"offsets,omitempty"`
}

// CommitResponse lists the committed offsets. A plain commit never moves an
// offset backwards (unless the member sought on that partition), so an
// entry may be higher than asked.
type CommitResponse struct {
	Offsets []PartitionOffsetRef `json:"offsets"`
}

// SeekRequest moves the member's position on a partition it owns: offset
// (a number, "earliest" or "latest") or timestamp (Unix ms: the first
// offset at or after it, the end when none is).
type SeekRequest struct {
	Topic     string `json:"topic" example:"orders"`
	Partition int32  `json:"partition" example:"0" minimum:"0"`
	// Offset is a non-negative integer (as a JSON number or a decimal string), "earliest" or "latest".
	Offset json.RawMessage `json:"offset,omitempty" swaggertype:"string" example:"earliest"`
	// Timestamp (Unix ms), instead of offset: seek to the first offset whose timestamp is at or after it.
	Timestamp *int64 `json:"timestamp,omitempty" example:"1767225600000" minimum:"0"`
}

// SeekResponse is the member's new position on the partition.
type SeekResponse struct {
	Topic     string `json:"topic" example:"orders"`
	Partition int32  `json:"partition" example:"0"`
	Offset    int64  `json:"offset" example:"17"`
}

func assignmentRefs(tps []group.TopicPartition) []TopicPartitionRef {
	out := make([]TopicPartitionRef, 0, len(tps))
	for _, tp := range tps {
		out = append(out, TopicPartitionRef{Topic: tp.Topic, Partition: tp.Partition})
	}
	return out
}

// joinGroup godoc
// @Summary      Join a consumer group as a new member
// @Description  Creates a member of the group (and the group if needed). The broker assigns the partitions of the
// @Description  subscribed topics among the live members (range by default, roundrobin or sticky); each partition is
// @Description  owned by at most one member, so the new member's assignment may be empty until the previous owners
// @Description  have seen the new generation (on their next fetch or heartbeat). A member that neither fetches nor
// @Description  heartbeats for session_timeout_ms expires.
// @ID           joinGroup
// @Tags         groups
// @Accept       json
// @Produce      json
// @Param        group path string true "group name, [A-Za-z0-9._-]{1,249}" example(billing)
// @Param        body  body api.JoinGroupRequest true "subscription"
// @Success      201 {object} api.MemberAssignment
// @Header       201 {string} Location "/groups/{group}/members/{member_id}"
// @Failure      400 {object} problem.Details "invalid_request (no topics, bad auto_offset_reset, session_timeout_ms out of range, unknown or different assignor, bad group name)"
// @Failure      404 {object} problem.Details "topic_not_found"
// @Failure      408 {object} problem.Details "request_timeout (the body did not arrive within --body-read-timeout)"
// @Failure      415 {object} problem.Details "unsupported_media_type"
// @Router       /groups/{group}/members [post]
func (g *groupsAPI) joinGroup(c echo.Context) error {
	var req JoinGroupRequest
	if err := g.s.decodeJSON(c, &req); err != nil {
		return err
	}
	if len(req.Topics) == 0 {
		return invalid("topics must name at least one topic")
	}
	timeout := group.DefaultSessionTimeout
	if req.SessionTimeoutMs != nil {
		ms := *req.SessionTimeoutMs
		if ms < group.MinSessionTimeout.Milliseconds() || ms > group.MaxSessionTimeout.Milliseconds() {
			return invalid(fmt.Sprintf("session_timeout_ms must be from %d to %d", group.MinSessionTimeout.Milliseconds(),
				group.MaxSessionTimeout.Milliseconds()))
		}
		timeout = time.Duration(ms) * time.Millisecond
	}
	name := c.Param("group")
	st, err := g.m.Join(c.Request().Context(), name, group.JoinRequest{Topics: req.Topics,
		AutoOffsetReset: req.AutoOffsetReset, SessionTimeout: timeout, Assignor: req.Assignor})
	if err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderLocation, "/groups/"+name+"/members/"+st.MemberID)
	return c.JSON(http.StatusCreated, MemberAssignment{MemberID: st.MemberID, Generation: st.Generation,
		Assignments: assignmentRefs(st.Assignments)})
}

// memberRecords godoc
// @Summary      Fetch records as a group member (long-poll)
// @Description  Returns records of the member's assigned partitions from its positions (its committed offset, else
// @Description  auto_offset_reset), starting at a different partition each call so every partition gets its turn.
// @Description  When none are ready, waits up to timeout_ms for some; it answers early when the member's generation
// @Description  or assignment changes. Positions move past the returned records; commit them with an empty commit.
// @Description  Counts as a heartbeat. The answer's generation and assignments are the member's current ones.
// @ID           fetchMemberRecords
// @Tags         groups
// @Produce      json
// @Param        group       path  string true  "group name" example(billing)
// @Param        member      path  string true  "member id"
// @Param        max_records query int    false "most records to return" default(500) minimum(1) maximum(10000)
// @Param        max_bytes   query int    false "stop after this many bytes (at least one record is returned when available)" default(1048576) minimum(1) maximum(67108864)
// @Param        timeout_ms  query int    false "long-poll wait when no record is ready" default(1000) minimum(0) maximum(60000)
// @Success      200 {object} api.MemberRecords
// @Failure      400 {object} problem.Details "invalid_request"
// @Failure      404 {object} problem.Details "member_not_found (never joined, left, or expired)"
// @Failure      409 {object} problem.Details "no_committed_offset (auto_offset_reset none and an assigned partition without committed offset)"
// @Failure      416 {object} problem.Details "offset_out_of_range (auto_offset_reset none and a position outside the retained log)"
// @Router       /groups/{group}/members/{member}/records [get]
func (g *groupsAPI) memberRecords(c echo.Context) error {
	maxRecords, err := queryInt(c, "max_records", 500, 1, 10000)
	if err != nil {
		return err
	}
	maxBytes, err := queryInt(c, "max_bytes", 1<<20, 1, 64<<20)
	if err != nil {
		return err
	}
	wait, err := queryInt(c, "timeout_ms", 1000, 0, 60000)
	if err != nil {
		return err
	}
	res, err := g.m.Fetch(c.Request().Context(), c.Param("group"), c.Param("member"), int(maxRecords), int(maxBytes),
		time.Duration(wait)*time.Millisecond)
	if err != nil {
		if c.Request().Context().Err() != nil {
			return nil // the client went away; nothing was delivered
		}
		return err
	}
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	b := append((*bp)[:0], `{"generation":`...)
	b = strconv.AppendInt(b, int64(res.Generation), 10)
	b = append(b, `,"assignments":`...)
	b = appendAssignments(b, res.Assignments)
	b = append(b, `,"records":[`...)
	var enc wire.Encoder
	for i := range res.Records {
		if i > 0 {
			b = append(b, ',')
		}
		r := &res.Records[i]
		b = enc.AppendRecord(b, r.Topic, r.Partition, &r.Record)
	}
	b = append(b, "]}"...)
	*bp = b
	return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, b)
}

func appendAssignments(b []byte, tps []group.TopicPartition) []byte {
	b = append(b, '[')
	for i, tp := range tps {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"topic":`...)
		b = wire.AppendString(b, tp.Topic)
		b = append(b, `,"partition":`...)
		b = strconv.AppendInt(b, int64(tp.Partition), 10)
		b = append(b, '}')
	}
	return append(b, ']')
}

// decodeOptionalJSON decodes a JSON body strictly into v, if there is one.
// It reports whether there was.
func (g *groupsAPI) decodeOptionalJSON(c echo.Context, v any) (bool, error) {
	body, err := g.s.limitBody(c)
	if err != nil {
		return false, err
	}
	raw, err := io.ReadAll(body)
	if err != nil {
		return false, err
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		return false, nil
	}
	c.Request().Body = io.NopCloser(bytes.NewReader(raw))
	return true, g.s.decodeJSON(c, v)
}

// commit godoc
// @Summary      Commit offsets as a group member
// @Description  Without a body (or without offsets): commits the positions after the records already delivered to
// @Description  this member. With {"offsets":[...]}: commits those (the next offset to read, Kafka semantics) for
// @Description  partitions the member owns. A plain commit never moves an offset backwards unless the member sought
// @Description  on that partition since. A 200 commit is durable and survives restarts.
// @ID           commitMemberOffsets
// @Tags         groups
// @Accept       json
// @Produce      json
// @Param        group  path string true  "group name" example(billing)
// @Param        member path string true  "member id"
// @Param        body   body api.CommitRequest false "offsets to commit; omit to commit what was delivered"
// @Success      200 {object} api.CommitResponse "the committed offsets"
// @Failure      400 {object} problem.Details "invalid_request (negative offset, a partition twice)"
// @Failure      404 {object} problem.Details "member_not_found, partition_not_found"
// @Failure      409 {object} problem.Details "partition_not_assigned (the member does not own a partition)"
// @Failure      408 {object} problem.Details "request_timeout (the body did not arrive within --body-read-timeout)"
// @Failure      415 {object} problem.Details "unsupported_media_type"
// @Router       /groups/{group}/members/{member}/commit [post]
func (g *groupsAPI) commit(c echo.Context) error {
	var req CommitRequest
	if _, err := g.decodeOptionalJSON(c, &req); err != nil {
		return err
	}
	var offs []group.OffsetCommit
	if req.Offsets != nil {
		offs = make([]group.OffsetCommit, 0, len(*req.Offsets))
		for _, o := range *req.Offsets {
			offs = append(offs, group.OffsetCommit{TopicPartition: group.TopicPartition{Topic: o.Topic, Partition: o.Partition},
				Offset: o.Offset})
		}
	}
	out, err := g.m.Commit(c.Request().Context(), c.Param("group"), c.Param("member"), offs)
	if err != nil {
		return err
	}
	resp := CommitResponse{Offsets: make([]PartitionOffsetRef, 0, len(out))}
	for _, o := range out {
		resp.Offsets = append(resp.Offsets, PartitionOffsetRef{Topic: o.Topic, Partition: o.Partition, Offset: o.Offset})
	}
	return c.JSON(http.StatusOK, resp)
}

// seek godoc
// @Summary      Move a group member's position on a partition
// @Description  offset is a number, "earliest" or "latest"; or timestamp (Unix ms) seeks to the first offset whose
// @Description  timestamp is at or after it (the end when none is). The member's next fetch of the partition starts
// @Description  there, and its next commit of it may move the committed offset backwards.
// @ID           seekMember
// @Tags         groups
// @Accept       json
// @Produce      json
// @Param        group  path string true "group name" example(billing)
// @Param        member path string true "member id"
// @Param        body   body api.SeekRequest true "where to"
// @Success      200 {object} api.SeekResponse "the new position"
// @Failure      400 {object} problem.Details "invalid_request (neither or both of offset and timestamp, bad offset)"
// @Failure      404 {object} problem.Details "member_not_found, topic_not_found, partition_not_found"
// @Failure      409 {object} problem.Details "partition_not_assigned"
// @Failure      416 {object} problem.Details "offset_out_of_range, with log_start_offset and high_watermark"
// @Router       /groups/{group}/members/{member}/seek [post]
func (g *groupsAPI) seek(c echo.Context) error {
	var req SeekRequest
	if err := g.s.decodeJSON(c, &req); err != nil {
		return err
	}
	if req.Topic == "" || req.Partition < 0 {
		return invalid("topic and a non-negative partition are required")
	}
	sr := group.SeekRequest{Topic: req.Topic, Partition: req.Partition, Timestamp: req.Timestamp}
	switch {
	case (len(req.Offset) > 0) == (req.Timestamp != nil):
		return invalid("give exactly one of offset and timestamp")
	case req.Timestamp != nil && *req.Timestamp < 0:
		return invalid("timestamp must not be negative")
	case len(req.Offset) > 0:
		off, err := rawOffset(req.Offset)
		if err != nil {
			return err
		}
		sr.Offset = off
	}
	pos, err := g.m.SeekOffset(c.Request().Context(), c.Param("group"), c.Param("member"), sr)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, SeekResponse{Topic: req.Topic, Partition: req.Partition, Offset: pos})
}

// rawOffset reads an offset given as a JSON number, a decimal string,
// "earliest" or "latest".
func rawOffset(raw json.RawMessage) (int64, error) {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		switch s {
		case "earliest":
			return engine.OffsetEarliest, nil
		case "latest":
			return engine.OffsetLatest, nil
		}
		if n, err := strconv.ParseInt(s, 10, 64); err == nil && n >= 0 {
			return n, nil // a decimal string, as typed clients send it
		}
		return 0, invalid(fmt.Sprintf("offset %q must be a non-negative integer, \"earliest\" or \"latest\"", s))
	}
	n, err := strconv.ParseInt(string(raw), 10, 64)
	if err != nil || n < 0 {
		return 0, invalid(fmt.Sprintf("offset %s must be a non-negative integer, \"earliest\" or \"latest\"", raw))
	}
	return n, nil
}

// heartbeat godoc
// @Summary      Keep a group member alive
// @Description  Needed only while the member does not fetch (fetches count as heartbeats). Returns the member's
// @Description  current generation and assignment.
// @ID           heartbeatMember
// @Tags         groups
// @Produce      json
// @Param        group  path string true "group name" example(billing)
// @Param        member path string true "member id"
// @Success      200 {object} api.Assignment
// @Failure      404 {object} problem.Details "member_not_found (never joined, left, or expired)"
// @Router       /groups/{group}/members/{member}/heartbeat [post]
func (g *groupsAPI) heartbeat(c echo.Context) error {
	st, err := g.m.Heartbeat(c.Request().Context(), c.Param("group"), c.Param("member"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, Assignment{Generation: st.Generation, Assignments: assignmentRefs(st.Assignments)})
}

// leaveGroup godoc
// @Summary      Leave a consumer group
// @Description  Removes the member now; its partitions are reassigned to the others at once. What it did not commit
// @Description  is read again by the next owner (at-least-once).
// @ID           leaveGroup
// @Tags         groups
// @Param        group  path string true "group name" example(billing)
// @Param        member path string true "member id"
// @Success      204
// @Failure      404 {object} problem.Details "member_not_found"
// @Router       /groups/{group}/members/{member} [delete]
func (g *groupsAPI) leaveGroup(c echo.Context) error {
	if err := g.m.Leave(c.Request().Context(), c.Param("group"), c.Param("member")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
