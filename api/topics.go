package api

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/fjord-streaming/fjord/engine"
)

// CreateTopicRequest is the body of POST /topics.
type CreateTopicRequest struct {
	// Name matches [A-Za-z0-9._-]{1,249}, is not "." or "..", and does not start with "__".
	Name string `json:"name" example:"orders"`
	// Partitions defaults to 1.
	Partitions int32 `json:"partitions,omitempty" example:"3" minimum:"1" maximum:"10000"`
	// ReplicationFactor defaults to min(3, live brokers).
	ReplicationFactor int32 `json:"replication_factor,omitempty" example:"1" minimum:"1"`
	// Config keys: retention.ms, retention.bytes, min.insync.replicas, max.message.bytes,
	// replica.lag.time.max.ms, unclean.leader.election.enable. Values are integers; -1 means unlimited.
	Config map[string]json.Number `json:"config,omitempty" swaggertype:"object,integer"`
}

// PatchTopicRequest is the body of PATCH /topics/{topic}.
type PatchTopicRequest struct {
	// Partitions is the new, larger partition count.
	Partitions *int32 `json:"partitions,omitempty" example:"6"`
	// Config keys to change.
	Config map[string]json.Number `json:"config,omitempty" swaggertype:"object,integer"`
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
	Replicas       []int32 `json:"replicas"`
	ISR            []int32 `json:"isr"`
	LogStartOffset int64   `json:"log_start_offset" example:"0"`
	HighWatermark  int64   `json:"high_watermark" example:"42"`
	LogEndOffset   int64   `json:"log_end_offset" example:"42"`
	// SizeBytes is the retained log size on the leader.
	SizeBytes int64 `json:"size_bytes" example:"4096"`
}

// TopicDescription is the body of GET/POST/PATCH topic answers.
type TopicDescription struct {
	Name              string                 `json:"name" example:"orders"`
	ReplicationFactor int32                  `json:"replication_factor" example:"1"`
	Internal          bool                   `json:"internal,omitempty"`
	Config            map[string]int64       `json:"config"`
	Partitions        []PartitionDescription `json:"partitions"`
}

func describe(ti engine.TopicInfo) TopicDescription {
	d := TopicDescription{Name: ti.Name, ReplicationFactor: ti.ReplicationFactor, Internal: ti.Internal,
		Config: ti.Config.Map(), Partitions: []PartitionDescription{}}
	for _, p := range ti.Partitions {
		d.Partitions = append(d.Partitions, PartitionDescription{
			Partition: p.Partition, Leader: p.Leader, LeaderEpoch: p.LeaderEpoch, Replicas: p.Replicas, ISR: p.ISR,
			LogStartOffset: p.LogStart, HighWatermark: p.HighWatermark, LogEndOffset: p.LogEnd, SizeBytes: p.Bytes,
		})
	}
	return d
}

// configValues turns JSON numbers into integers; anything else is invalid.
func configValues(in map[string]json.Number) (map[string]int64, error) {
	if in == nil {
		return nil, nil
	}
	out := make(map[string]int64, len(in))
	for k, v := range in {
		n, err := v.Int64()
		if err != nil {
			return nil, invalid(fmt.Sprintf("config %q: %q is not an integer", k, v.String()))
		}
		out[k] = n
	}
	return out, nil
}

// createTopic godoc
// @Summary      Create a topic
// @Tags         topics
// @Accept       json
// @Produce      json
// @Param        body body api.CreateTopicRequest true "topic to create"
// @Success      201 {object} api.TopicDescription
// @Failure      400 {object} problem.Details "invalid_request, invalid_topic_name"
// @Failure      409 {object} problem.Details "topic_exists"
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
	return c.JSON(http.StatusCreated, describe(ti))
}

// listTopics godoc
// @Summary      List topics
// @Tags         topics
// @Produce      json
// @Param        internal query bool false "include internal topics such as __consumer_offsets"
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
// @Tags         topics
// @Produce      json
// @Param        topic path string true "topic name"
// @Success      200 {object} api.TopicDescription
// @Failure      404 {object} problem.Details "topic_not_found"
// @Router       /topics/{topic} [get]
func (s *Server) describeTopic(c echo.Context) error {
	ti, err := s.engine.DescribeTopic(c.Param("topic"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, describe(ti))
}

// patchTopic godoc
// @Summary      Add partitions or change config
// @Tags         topics
// @Accept       json
// @Produce      json
// @Param        topic path string true "topic name"
// @Param        body body api.PatchTopicRequest true "changes"
// @Success      200 {object} api.TopicDescription
// @Failure      400 {object} problem.Details "invalid_request"
// @Failure      404 {object} problem.Details "topic_not_found"
// @Failure      409 {object} problem.Details "partition_decrease_not_allowed"
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
	if req.Partitions == nil && cfg == nil {
		return invalid("nothing to change: give partitions and/or config")
	}
	ti, err := s.engine.UpdateTopic(c.Param("topic"), engine.TopicUpdate{Partitions: req.Partitions, Config: cfg})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, describe(ti))
}

// deleteTopic godoc
// @Summary      Delete a topic, its data and every group's offsets for it
// @Tags         topics
// @Param        topic path string true "topic name"
// @Success      204
// @Failure      404 {object} problem.Details "topic_not_found"
// @Router       /topics/{topic} [delete]
func (s *Server) deleteTopic(c echo.Context) error {
	if err := s.engine.DeleteTopic(c.Param("topic")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
