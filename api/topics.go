package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/fjord-streaming/fjord/engine"
)

// CreateTopicRequest is the body of POST /topics.
type CreateTopicRequest struct {
	// Name matches [A-Za-z0-9._-]{1,249}, is not "." or "..", and does not start with "__".
	Name string `json:"name" example:"orders" minLength:"1" maxLength:"249"`
	// Partitions defaults to 1.
	Partitions int32 `json:"partitions,omitempty" example:"3" minimum:"1" maximum:"10000"`
	// ReplicationFactor defaults to min(3, live brokers).
	ReplicationFactor int32 `json:"replication_factor,omitempty" example:"1" minimum:"1"`
	// Config keys: retention.ms, retention.bytes, min.insync.replicas, max.message.bytes,
	// replica.lag.time.max.ms, unclean.leader.election.enable. Values are integers; -1 means unlimited.
	// Unknown keys are invalid_request.
	Config map[string]json.RawMessage `json:"config,omitempty" swaggertype:"object,integer" example:"retention.ms:604800000,max.message.bytes:1048576"`
}

// PatchTopicRequest is the body of PATCH /topics/{topic}.
type PatchTopicRequest struct {
	// Partitions is the new, larger partition count; fewer is partition_decrease_not_allowed.
	Partitions *int32 `json:"partitions,omitempty" example:"6" minimum:"1" maximum:"10000"`
	// Config keys to change (same keys as on create); the others keep their values.
	Config map[string]json.RawMessage `json:"config,omitempty" swaggertype:"object,integer" example:"retention.ms:86400000"`
	// ReplicationFactor is the new, larger replication factor, at most the live brokers; the
	// added replicas go after each partition's replicas, copy its log and join its ISR once
	// caught up. It never shrinks (invalid_request).
	ReplicationFactor *int32 `json:"replication_factor,omitempty" example:"3" minimum:"1"`
}

// TopicSummary is one entry of GET /topics.
type TopicSummary struct {
	Name              string `json:"name" example:"orders"`
	Partitions        int    `json:"partitions" example:"3"`
	ReplicationFactor int32  `json:"replication_factor" example:"1"`
	Internal          bool   `json:"internal,omitempty"`
}

// TopicList is the body of GET /topics.
type TopicList struct {
	Topics []TopicSummary `json:"topics"`
}

// PartitionDescription is one partition in a topic description.
type PartitionDescription struct {
	Partition      int32   `json:"partition" example:"0"`
	Leader         int32   `json:"leader" example:"1"`
	LeaderEpoch    int32   `json:"leader_epoch" example:"0"`
	Replicas       []int32 `json:"replicas" example:"1"`
	ISR            []int32 `json:"isr" example:"1"`
	LogStartOffset int64   `json:"log_start_offset" example:"0"`
	HighWatermark  int64   `json:"high_watermark" example:"42"`
	LogEndOffset   int64   `json:"log_end_offset" example:"42"`
	// SizeBytes is the retained log size on the leader.
	SizeBytes int64 `json:"size_bytes" example:"4096"`
	// ReplicaStates has one entry per replica, in the order of replicas, as the answering broker sees them.
	// The leader's view is authoritative and complete; a broker that does not lead the partition knows only
	// who leads and who is in sync, and its own replica's log end offset: the rest is null.
	ReplicaStates []ReplicaState `json:"replica_states"`
}

// ReplicaState is one replica of a partition in a topic description.
type ReplicaState struct {
	// Broker is the id of the broker holding the replica.
	Broker int32 `json:"broker" example:"1"`
	// Leader is true for the partition's leader.
	Leader bool `json:"leader" example:"true"`
	// InSync is true when the replica is in the ISR.
	InSync bool `json:"in_sync" example:"true"`
	// LogEndOffset is the replica's log end offset: a follower's is its durable log end as of its last fetch
	// from the leader. Null when the answering broker does not know it.
	LogEndOffset *int64 `json:"log_end_offset" example:"42" extensions:"x-nullable"`
	// LagRecords is how many records of the leader's log the replica lacks (0 for the leader). Null unless the
	// answering broker leads the partition and has heard from the replica since it took the lead.
	LagRecords *int64 `json:"lag_records" example:"0" extensions:"x-nullable"`
	// LagMs is how long the replica has been behind the leader's log end, in milliseconds: since it was last
	// caught up, or since the leader took the lead when later (0 for the leader and for a caught-up replica).
	// replica.lag.time.max.ms is compared with it to drop the replica from the ISR. Null unless the answering
	// broker leads the partition.
	LagMs *int64 `json:"lag_ms" example:"0" extensions:"x-nullable"`
	// LastFetchMs is when the replica last fetched from the leader (Unix ms); absent for the leader, and when
	// unknown.
	LastFetchMs int64 `json:"last_fetch_ms,omitempty" example:"1767225600123"`
}

// replicaStates converts the engine's replica states, -1 meaning unknown.
func replicaStates(in []engine.ReplicaState) []ReplicaState {
	known := func(v int64) *int64 {
		if v < 0 {
			return nil
		}
		return &v
	}
	out := make([]ReplicaState, len(in))
	for i, r := range in {
		out[i] = ReplicaState{Broker: r.Broker, Leader: r.Leader, InSync: r.InSync, LogEndOffset: known(r.LogEnd),
			LagRecords: known(r.LagRecords), LagMs: known(r.LagMs), LastFetchMs: r.LastFetchMs}
	}
	return out
}

// TopicDescription is the body of GET/POST/PATCH topic answers.
type TopicDescription struct {
	Name              string `json:"name" example:"orders"`
	ReplicationFactor int32  `json:"replication_factor" example:"1"`
	Internal          bool   `json:"internal,omitempty"`
	// Config holds every key with its effective value.
	Config     map[string]int64       `json:"config" example:"retention.ms:604800000,retention.bytes:-1,min.insync.replicas:1,max.message.bytes:1048576"`
	Partitions []PartitionDescription `json:"partitions"`
}

// describe builds a topic description from ti, with the replica states of
// this broker's partitions of the topic.
func (s *Server) describe(ti engine.TopicInfo) TopicDescription {
	d := TopicDescription{Name: ti.Name, ReplicationFactor: ti.ReplicationFactor, Internal: ti.Internal,
		Config: ti.Config.Map(), Partitions: []PartitionDescription{}}
	for _, p := range ti.Partitions {
		pd := PartitionDescription{
			Partition: p.Partition, Leader: p.Leader, LeaderEpoch: p.LeaderEpoch, Replicas: p.Replicas, ISR: p.ISR,
			LogStartOffset: p.LogStart, HighWatermark: p.HighWatermark, LogEndOffset: p.LogEnd, SizeBytes: p.Bytes,
			ReplicaStates: []ReplicaState{},
		}
		// A partition gone since ti was taken (the topic deleted) keeps an
		// empty list.
		if part, err := s.engine.Partition(ti.Name, p.Partition); err == nil {
			pd.ReplicaStates = replicaStates(part.Replicas())
		}
		d.Partitions = append(d.Partitions, pd)
	}
	return d
}

// configValues turns JSON integers into int64s; anything else, a string
// holding digits included, is invalid. (json.Number would accept "1000".)
func configValues(in map[string]json.RawMessage) (map[string]int64, error) {
	if in == nil {
		return nil, nil
	}
	out := make(map[string]int64, len(in))
	for k, v := range in {
		n, err := strconv.ParseInt(string(v), 10, 64)
		if err != nil {
			return nil, invalid(fmt.Sprintf("config %q: %s is not an integer", k, v))
		}
		out[k] = n
	}
	return out, nil
}

// createTopic godoc
// @Summary      Create a topic
// @Description  Names match [A-Za-z0-9._-]{1,249}, are not "." or "..", and do not start with "__" (reserved).
// @Description  partitions defaults to 1, replication_factor to min(3, live brokers). Config values are integers,
// @Description  -1 meaning unlimited.
// @ID           createTopic
// @Tags         topics
// @Accept       json
// @Produce      json
// @Param        body body api.CreateTopicRequest true "topic to create"
// @Success      201 {object} api.TopicDescription "created"
// @Failure      400 {object} problem.Details "invalid_request (malformed body, unknown field or config key, replication factor above the live brokers), invalid_topic_name"
// @Failure      409 {object} problem.Details "topic_exists"
// @Failure      413 {object} problem.Details "request_too_large"
// @Failure      408 {object} problem.Details "request_timeout (the body did not arrive within --body-read-timeout)"
// @Failure      415 {object} problem.Details "unsupported_media_type"
// @Router       /topics [post]
func (s *Server) createTopic(c echo.Context) error {
	var req CreateTopicRequest
	if err := s.decodeJSON(c, &req); err != nil {
		return err
	}
	cfg, err := configValues(req.Config)
	if err != nil {
		return err
	}
	if req.Partitions < 0 || req.ReplicationFactor < 0 {
		return invalid("partitions and replication_factor must be positive")
	}
	ti, err := s.engine.CreateTopic(engine.TopicSpec{Name: req.Name, Partitions: req.Partitions,
		ReplicationFactor: req.ReplicationFactor, Config: cfg})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, s.describe(ti))
}

// listTopics godoc
// @Summary      List topics
// @ID           listTopics
// @Tags         topics
// @Produce      json
// @Param        internal query bool false "include internal topics (names starting with __)" default(false)
// @Success      200 {object} api.TopicList
// @Router       /topics [get]
func (s *Server) listTopics(c echo.Context) error {
	internal := c.QueryParam("internal") == "true"
	out := TopicList{Topics: []TopicSummary{}}
	for _, t := range s.engine.Topics(internal) {
		out.Topics = append(out.Topics, TopicSummary{Name: t.Name, Partitions: len(t.Partitions),
			ReplicationFactor: t.ReplicationFactor, Internal: t.Internal})
	}
	return c.JSON(http.StatusOK, out)
}

// describeTopic godoc
// @Summary      Describe a topic: config and partitions with offsets
// @Description  Every config key with its effective value; per partition the leader, replicas, in-sync replicas,
// @Description  the leader's offsets, and replica_states: each replica's state (leader, in sync, log end offset, lag
// @Description  in records and ms) as the answering broker sees it. Only the partition's leader knows every
// @Description  replica's log end offset and lag, so its answer is the authoritative one; another broker answers
// @Description  null for what it does not know (it does not ask the leader). The offsets of a partition led by
// @Description  another broker come from that leader; a leader that has not answered within 2 s (for all partitions
// @Description  together) is shown with the answering broker's own replica's offsets instead.
// @ID           describeTopic
// @Tags         topics
// @Produce      json
// @Param        topic path string true "topic name" example(orders)
// @Success      200 {object} api.TopicDescription
// @Failure      404 {object} problem.Details "topic_not_found"
// @Router       /topics/{topic} [get]
func (s *Server) describeTopic(c echo.Context) error {
	ti, err := s.engine.DescribeTopic(c.Param("topic"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, s.describe(ti))
}

// patchTopic godoc
// @Summary      Add partitions, change config or add replicas
// @Description  {"partitions":6} adds partitions; {"config":{...}} changes the given keys; {"replication_factor":3}
// @Description  adds replicas to every partition (an extension of the contract, as Kafka's partition reassignment
// @Description  that adds replicas: each partition keeps its replicas, leader and ISR, the added brokers copy its log
// @Description  and join the ISR once caught up, so the replicas field grows at once and the isr field as they catch
// @Description  up; with partitions too, the replicas come first and the new partitions get as many). 200 with the
// @Description  new description.
// @ID           updateTopic
// @Tags         topics
// @Accept       json
// @Produce      json
// @Param        topic path string true "topic name" example(orders)
// @Param        body body api.PatchTopicRequest true "changes"
// @Success      200 {object} api.TopicDescription
// @Failure      400 {object} problem.Details "invalid_request (nothing to change, unknown field or config key, a smaller replication_factor or one above the live brokers), invalid_topic_name (an internal topic)"
// @Failure      404 {object} problem.Details "topic_not_found"
// @Failure      409 {object} problem.Details "partition_decrease_not_allowed"
// @Failure      413 {object} problem.Details "request_too_large"
// @Failure      408 {object} problem.Details "request_timeout (the body did not arrive within --body-read-timeout)"
// @Failure      415 {object} problem.Details "unsupported_media_type"
// @Router       /topics/{topic} [patch]
func (s *Server) patchTopic(c echo.Context) error {
	var req PatchTopicRequest
	if err := s.decodeJSON(c, &req); err != nil {
		return err
	}
	cfg, err := configValues(req.Config)
	if err != nil {
		return err
	}
	if req.Partitions == nil && cfg == nil && req.ReplicationFactor == nil {
		return invalid("nothing to change: give partitions, config and/or replication_factor")
	}
	ti, err := s.engine.UpdateTopic(c.Param("topic"), engine.TopicUpdate{Partitions: req.Partitions, Config: cfg, ReplicationFactor: req.ReplicationFactor})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, s.describe(ti))
}

// deleteTopic godoc
// @Summary      Delete a topic, its data and every group's offsets for it
// @Description  Creating the same name again right after the 204 works and starts empty at offset 0.
// @ID           deleteTopic
// @Tags         topics
// @Produce      json
// @Param        topic path string true "topic name" example(orders)
// @Success      204 "deleted"
// @Failure      400 {object} problem.Details "invalid_topic_name (an internal topic such as __consumer_offsets)"
// @Failure      404 {object} problem.Details "topic_not_found"
// @Router       /topics/{topic} [delete]
func (s *Server) deleteTopic(c echo.Context) error {
	if err := s.engine.DeleteTopic(c.Param("topic")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
