package controller

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/fjord-streaming/fjord/controller/metadata"
)

// metrics are the controller's own counters, which exist whether or not
// they are registered.
type metrics struct {
	// elections counts committed leader elections by reason (failover,
	// unclean, preferred, shutdown) at this broker as the controller.
	elections *prometheus.CounterVec
}

func newMetrics() metrics {
	m := metrics{elections: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "fjord_controller_leader_elections_total",
		Help: "Partition leader elections committed by this broker as the controller, by reason."}, []string{"reason"})}
	for _, r := range []metadata.Reason{metadata.ReasonFailover, metadata.ReasonUnclean, metadata.ReasonPreferred, metadata.ReasonShutdown} {
		m.elections.WithLabelValues(string(r))
	}
	return m
}

// registerMetrics exposes the controller's view: who controls, the Raft
// node's state, term and commit index, the metadata version, how many
// brokers are alive, and the leadership counts. Offline and imbalanced
// partitions are reported by the controller alone (0 elsewhere), so that a
// sum over the brokers counts each partition once.
func (c *Controller) registerMetrics() {
	reg := c.cfg.Registerer
	if reg == nil {
		return
	}
	counts := func(imbalanced bool) func() float64 {
		return func() float64 {
			if !c.IsController() {
				return 0
			}
			off, imb := c.fsm.current().LeadershipCounts()
			if imbalanced {
				return float64(imb)
			}
			return float64(off)
		}
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
		gauge("fjord_controller_offline_partitions", "Partitions without a leader (reported by the controller).", counts(false)),
		gauge("fjord_controller_preferred_leader_imbalance", "Partitions with a leader other than their first replica (reported by the controller).",
			counts(true)),
		c.metrics.elections,
	)
}
