package api

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/fjord-streaming/fjord/engine/group"
)

// LagWindowEntry is one commit remembered for lag status.
type LagWindowEntry struct {
	Offset    int64 `json:"offset" example:"38"`
	Lag       int64 `json:"lag" example:"2"`
	Timestamp int64 `json:"timestamp" example:"1767225600123"`
}

// PartitionLag is the lag of one partition of a group.
type PartitionLag struct {
	Topic     string `json:"topic" example:"orders"`
	Partition int32  `json:"partition" example:"0"`
	// CommittedOffset is absent when the group has committed nothing for the partition.
	CommittedOffset *int64 `json:"committed_offset,omitempty" example:"40"`
	HighWatermark   int64  `json:"high_watermark" example:"43"`
	// Lag is high_watermark - committed_offset, never negative (the whole retained partition when nothing is committed).
	Lag    int64  `json:"lag" example:"3"`
	Status string `json:"status" enums:"OK,WARNING,STOP,STALL,REWIND" example:"OK"`
	// Window holds the last commits (oldest first), the evidence of status.
	Window []LagWindowEntry `json:"window"`
}

// MaxLag names the partition with the largest lag.
type MaxLag struct {
	Topic     string `json:"topic" example:"orders"`
	Partition int32  `json:"partition" example:"1"`
	Lag       int64  `json:"lag" example:"9"`
}

// GroupLag is the body of GET /groups/{group}/lag.
type GroupLag struct {
	Group    string `json:"group" example:"billing"`
	Status   string `json:"status" enums:"OK,WARNING,ERROR" example:"OK"`
	TotalLag int64  `json:"total_lag" example:"12"`
	// MaxLag is absent when the group covers no partition.
	MaxLag     *MaxLag        `json:"max_lag,omitempty"`
	Partitions []PartitionLag `json:"partitions"`
}

// GroupLagSummary is one group in GET /lag.
type GroupLagSummary struct {
	Group    string  `json:"group" example:"billing"`
	Status   string  `json:"status" enums:"OK,WARNING,ERROR" example:"OK"`
	TotalLag int64   `json:"total_lag" example:"12"`
	MaxLag   *MaxLag `json:"max_lag,omitempty"`
}

// LagList is the body of GET /lag.
type LagList struct {
	Groups []GroupLagSummary `json:"groups"`
}

func maxLag(pl *group.PartitionLag) *MaxLag {
	if pl == nil {
		return nil
	}
	return &MaxLag{Topic: pl.Topic, Partition: pl.Partition, Lag: pl.Lag}
}

// groupLag godoc
// @Summary      Consumer lag of a group, with Burrow-style status
// @Description  Per partition of the subscribed topics and of every committed offset: lag = high watermark - committed
// @Description  offset (the whole retained partition when nothing is committed), and a status evaluated over a window
// @Description  of the last commits (--lag-window, commits closer than --lag-min-distance replace the previous one):
// @Description  OK when the window is not full or the lag is 0; STOP when the group stopped committing (now - last
// @Description  commit > last - first commit) short of the high watermark; OK when some commit had lag 0; REWIND when
// @Description  the offset went backwards; STALL when it never moved; WARNING when the lag never decreased; OK otherwise.
// @Description  The group status is the worst, with STOP, STALL and REWIND reported as ERROR.
// @ID           getGroupLag
// @Tags         groups
// @Produce      json
// @Param        group path string true "group name" example(billing)
// @Success      200 {object} api.GroupLag
// @Failure      404 {object} problem.Details "group_not_found"
// @Router       /groups/{group}/lag [get]
func (g *groupsAPI) groupLag(c echo.Context) error {
	gl, err := g.m.Lag(c.Param("group"))
	if err != nil {
		return err
	}
	out := GroupLag{Group: gl.Group, Status: string(gl.Status), TotalLag: gl.TotalLag, MaxLag: maxLag(gl.MaxLag),
		Partitions: make([]PartitionLag, 0, len(gl.Partitions))}
	for _, p := range gl.Partitions {
		pl := PartitionLag{Topic: p.Topic, Partition: p.Partition, HighWatermark: p.HighWatermark, Lag: p.Lag,
			Status: string(p.Status), Window: make([]LagWindowEntry, 0, len(p.Window))}
		if p.Committed >= 0 {
			pl.CommittedOffset = &p.Committed
		}
		for _, w := range p.Window {
			pl.Window = append(pl.Window, LagWindowEntry{Offset: w.Offset, Lag: w.Lag, Timestamp: w.Time.UnixMilli()})
		}
		out.Partitions = append(out.Partitions, pl)
	}
	return c.JSON(http.StatusOK, out)
}

// allLag godoc
// @Summary      Consumer lag of every group
// @Description  Each group's status, total lag and the partition with the largest lag (see GET /groups/{group}/lag).
// @ID           listLag
// @Tags         groups
// @Produce      json
// @Success      200 {object} api.LagList
// @Router       /lag [get]
func (g *groupsAPI) allLag(c echo.Context) error {
	out := LagList{Groups: []GroupLagSummary{}}
	for _, gl := range g.m.AllLag() {
		out.Groups = append(out.Groups, GroupLagSummary{Group: gl.Group, Status: string(gl.Status), TotalLag: gl.TotalLag,
			MaxLag: maxLag(gl.MaxLag)})
	}
	out.Groups = gatherList(c, g.s.router, out.Groups, "groups", func(s GroupLagSummary) string { return s.Group })
	return c.JSON(http.StatusOK, out)
}
