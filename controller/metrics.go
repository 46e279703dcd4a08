package controller

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
)

// registerMetrics exposes the controller's view: who controls, the Raft
// node's state, term and commit index, the metadata version and how many
// brokers are alive.
func (c *Controller) registerMetrics() {
	reg := c.cfg.Registerer
	if reg == nil {
		return
	}
	stat := func(key string) float64 {
		if c.raft == nil {
			return 0
		}
		v, _ := strconv.ParseFloat(c.raft.Stats()[key], 64)
		return v
	}
	gauge := func(name, help string, f func() float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, f)
	}
	reg.MustRegister(
		gauge("fjord_controller_id", "Id of the broker that controls the cluster, -1 while none does.",
			func() float64 { return float64(c.ControllerID()) }),
		gauge("fjord_controller_is_self", "1 when this broker is the controller.", func() float64 {
			if c.IsController() {
				return 1
			}
			return 0
		}),
		gauge("fjord_raft_state", "This broker's Raft state: 0 follower, 1 candidate, 2 leader, 3 shutdown.",
			func() float64 { return float64(c.raftState()) }),
		gauge("fjord_raft_term", "Current Raft term (the controller epoch).", func() float64 { return stat("term") }),
		gauge("fjord_raft_commit_index", "Raft commit index of the metadata log.", func() float64 { return stat("commit_index") }),
		gauge("fjord_metadata_version", "Index of the last metadata log entry applied here.",
			func() float64 { return float64(c.MetadataVersion()) }),
		gauge("fjord_brokers_alive", "Brokers alive in the gossip membership.", func() float64 {
			n := 0
			for _, b := range c.members.Brokers() {
				if b.Live() {
					n++
				}
			}
			return float64(n)
		}),
	)
}
