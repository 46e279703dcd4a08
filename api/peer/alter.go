package peer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/fjord-streaming/fjord/api/problem"
	"github.com/fjord-streaming/fjord/engine"
)

// The controller's internal calls besides topic changes: a partition
// leader's ISR change and a broker's controlled shutdown. Both are rare,
// so their bodies are JSON.
//
//	POST /internal/v1/admin/alter-isr
//	     {"topic":"orders","topic_id":81,"partition":0,"leader":1,
//	      "leader_epoch":4,"partition_epoch":9,"isr":[1,2]}
//	POST /internal/v1/admin/controlled-shutdown {"broker":2}
//
// Both answer {"metadata_version":N}, the version the change was committed
// at. alter-isr answers a refusal for a stale epoch with 200 and
// {"stale_epoch":"<detail>"} rather than an error status, as Kafka's
// AlterPartition answers carry their error codes: the API table maps
// engine.ErrStaleEpoch to 503 leader_not_available, which is right for
// clients, but a broker that forwarded the call reads leader_not_available
// as "the controller moved, try again there", and would retry for seconds
// a refusal that is final. Every other refusal is problem+json as for the
// topic changes.
const (
	pathAlterISR           = PathPrefix + "admin/alter-isr"
	pathControlledShutdown = PathPrefix + "admin/controlled-shutdown"
)

// alterISRJSON is engine.AlterISR on the wire.
type alterISRJSON struct {
	Topic          string  `json:"topic"`
	TopicID        uint64  `json:"topic_id"`
	Partition      int32   `json:"partition"`
	Leader         int32   `json:"leader"`
	LeaderEpoch    int32   `json:"leader_epoch"`
	PartitionEpoch int32   `json:"partition_epoch"`
	ISR            []int32 `json:"isr"`
}

// alterISRAnswer is alter-isr's answer: the version, or a stale epoch's
// refusal.
type alterISRAnswer struct {
	MetadataVersion uint64 `json:"metadata_version"`
	StaleEpoch      string `json:"stale_epoch,omitempty"`
}

// controlledShutdownJSON names the broker shutting down.
type controlledShutdownJSON struct {
	Broker *int32 `json:"broker"`
}

// AlterISR forwards a partition leader's ISR change to the controller and
// returns the metadata version it was committed at. A refusal for a stale
// leader, leader epoch or partition epoch wraps engine.ErrStaleEpoch.
func (c *Client) AlterISR(ctx context.Context, controller int32, req engine.AlterISR) (uint64, error) {
	body, err := json.Marshal(alterISRJSON{Topic: req.Topic, TopicID: req.TopicID, Partition: req.Partition, Leader: req.Leader,
		LeaderEpoch: req.LeaderEpoch, PartitionEpoch: req.PartitionEpoch, ISR: req.ISR})
	if err != nil {
		return 0, fmt.Errorf("peer: encode alter ISR: %w", err)
	}
	var ans alterISRAnswer
	if err := c.callJSON(ctx, controller, http.MethodPost, pathAlterISR, nil, "application/json", body, &ans); err != nil {
		return 0, fmt.Errorf("alter ISR of %s/%d at controller %d: %w", req.Topic, req.Partition, controller, err)
	}
	if ans.StaleEpoch != "" {
		return 0, fmt.Errorf("%w: controller %d: %s", engine.ErrStaleEpoch, controller, ans.StaleEpoch)
	}
	return ans.MetadataVersion, nil
}

// ControlledShutdown asks the controller to move broker's leaderships away
// and returns the metadata version of the last change.
func (c *Client) ControlledShutdown(ctx context.Context, controller int32, broker int32) (uint64, error) {
	body, err := json.Marshal(controlledShutdownJSON{Broker: &broker})
	if err != nil {
		return 0, fmt.Errorf("peer: encode controlled shutdown: %w", err)
	}
	var ans adminAnswer
	if err := c.callJSON(ctx, controller, http.MethodPost, pathControlledShutdown, nil, "application/json", body, &ans); err != nil {
		return 0, fmt.Errorf("controlled shutdown of broker %d at controller %d: %w", broker, controller, err)
	}
	return ans.MetadataVersion, nil
}

func (s *Server) alterISR(c echo.Context) error {
	var req alterISRJSON
	if err := readJSON(c, &req); err != nil {
		return s.fail(c, err)
	}
	if s.admin == nil {
		return s.fail(c, fmt.Errorf("%w: this broker takes no ISR changes", engine.ErrLeaderNotAvailable))
	}
	v, err := s.admin.AlterISRLocal(c.Request().Context(), engine.AlterISR{Topic: req.Topic, TopicID: req.TopicID,
		Partition: req.Partition, Leader: req.Leader, LeaderEpoch: req.LeaderEpoch, PartitionEpoch: req.PartitionEpoch, ISR: req.ISR})
	switch {
	case errors.Is(err, engine.ErrStaleEpoch):
		return c.JSON(http.StatusOK, alterISRAnswer{StaleEpoch: problem.Message(err)})
	case err != nil:
		return s.fail(c, err)
	}
	return c.JSON(http.StatusOK, alterISRAnswer{MetadataVersion: v})
}

func (s *Server) controlledShutdown(c echo.Context) error {
	var req controlledShutdownJSON
	if err := readJSON(c, &req); err != nil {
		return s.fail(c, err)
	}
	if req.Broker == nil || *req.Broker < 0 {
		return s.fail(c, fmt.Errorf("%w: controlled shutdown needs a broker id", engine.ErrInvalidRequest))
	}
	return s.adminChange(c, func(ctx context.Context, a Admin) (uint64, error) {
		return a.ControlledShutdownLocal(ctx, *req.Broker)
	})
}
