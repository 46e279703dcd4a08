package engine

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/fjord-streaming/fjord/storage"
)

// metrics are the engine's Prometheus series. A nil *metrics records nothing.
type metrics struct {
	recordsIn, bytesIn, recordsOut, bytesOut *prometheus.CounterVec
	appendSeconds                            prometheus.Histogram
	waiting                                  prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer, e *Engine) *metrics {
	if reg == nil {
		return nil
	}
	m := &metrics{
		recordsIn: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "fjord_records_produced_total",
			Help: "Records appended, by topic."}, []string{"topic"}),
		bytesIn: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "fjord_bytes_produced_total",
			Help: "Key, value and header bytes appended, by topic."}, []string{"topic"}),
		recordsOut: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "fjord_records_read_total",
			Help: "Records returned to readers, by topic."}, []string{"topic"}),
		bytesOut: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "fjord_bytes_read_total",
			Help: "Key, value and header bytes returned to readers, by topic."}, []string{"topic"}),
		appendSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "fjord_append_duration_seconds",
			Help: "Time from append request to durable commit, per partition append.", Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16)}),
		waiting: prometheus.NewGauge(prometheus.GaugeOpts{Name: "fjord_fetch_waiting",
			Help: "Long-poll fetches currently waiting for records."}),
	}
	reg.MustRegister(m.recordsIn, m.bytesIn, m.recordsOut, m.bytesOut, m.appendSeconds, m.waiting, &partitionCollector{e})
	return m
}

func (m *metrics) produced(topic string, recs []storage.Record, d time.Duration) {
	if m == nil {
		return
	}
	m.recordsIn.WithLabelValues(topic).Add(float64(len(recs)))
	m.bytesIn.WithLabelValues(topic).Add(float64(sumBytes(recs)))
	m.appendSeconds.Observe(d.Seconds())
}

func (m *metrics) read(topic string, recs []storage.Record) {
	if m == nil || len(recs) == 0 {
		return
	}
	m.recordsOut.WithLabelValues(topic).Add(float64(len(recs)))
	m.bytesOut.WithLabelValues(topic).Add(float64(sumBytes(recs)))
}

// waiters adds d to the number of waiting long polls.
func (m *metrics) waiters(d float64) {
	if m != nil {
		m.waiting.Add(d)
	}
}

func (m *metrics) dropTopic(topic string) {
	if m == nil {
		return
	}
	for _, v := range []*prometheus.CounterVec{m.recordsIn, m.bytesIn, m.recordsOut, m.bytesOut} {
		v.DeleteLabelValues(topic)
	}
}

func sumBytes(recs []storage.Record) int {
	n := 0
	for i := range recs {
		n += recordBytes(&recs[i])
	}
	return n
}

var (
	partitionLabels = []string{"topic", "partition"}
	replicaLabels   = []string{"topic", "partition", "replica"}

	descLEO      = prometheus.NewDesc("fjord_partition_log_end_offset", "Log end offset of this broker's replica.", partitionLabels, nil)
	descHW       = prometheus.NewDesc("fjord_partition_high_watermark", "High watermark of this broker's replica.", partitionLabels, nil)
	descLogStart = prometheus.NewDesc("fjord_partition_log_start_offset", "Log start offset of this broker's replica.", partitionLabels, nil)
	descBytes    = prometheus.NewDesc("fjord_partition_bytes", "Retained log bytes of this broker's replica.", partitionLabels, nil)

	descISRSize = prometheus.NewDesc("fjord_partition_isr_size",
		"In-sync replicas, the leader included (reported by the partition's leader).", partitionLabels, nil)
	descUnderReplicated = prometheus.NewDesc("fjord_under_replicated_partitions",
		"Partitions this broker leads whose ISR is smaller than their replica list.", nil, nil)
	descLagRecords = prometheus.NewDesc("fjord_replica_lag_records",
		"Records of the leader's log a follower lacks, as the leader sees it from the follower's fetches "+
			"(absent for a follower not heard from since this broker took the lead).", replicaLabels, nil)
	descLagSeconds = prometheus.NewDesc("fjord_replica_lag_seconds",
		"Time since a follower was last caught up with the leader's log end (0 while caught up), as the leader sees it; "+
			"replica.lag.time.max.ms is compared with it.", replicaLabels, nil)
)

// partitionCollector reports, at scrape time so that appends pay nothing,
// the offsets of every replica this broker holds, and for the partitions
// it leads the ISR size and each follower's lag. Offline partitions are
// the controller's to report (fjord_controller_offline_partitions).
type partitionCollector struct{ e *Engine }

func (c *partitionCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descLEO, descHW, descLogStart, descBytes, descISRSize, descUnderReplicated, descLagRecords, descLagSeconds} {
		ch <- d
	}
}

func (c *partitionCollector) Collect(ch chan<- prometheus.Metric) {
	c.collect(ch, time.Now())
}

// collect is Collect at now.
func (c *partitionCollector) collect(ch chan<- prometheus.Metric, now time.Time) {
	gauge := func(d *prometheus.Desc, v float64, lv ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, lv...)
	}
	under := 0
	for _, t := range c.e.topicList() {
		for _, p := range t.Partitions() {
			v := p.replicaView(now)
			lv := []string{t.Name(), strconv.Itoa(int(p.index))}
			if v.replica {
				gauge(descLEO, float64(v.local.LogEnd), lv...)
				gauge(descHW, float64(v.local.HighWatermark), lv...)
				gauge(descLogStart, float64(v.local.LogStart), lv...)
				gauge(descBytes, float64(v.local.Bytes), lv...)
			}
			if !v.leading {
				continue
			}
			gauge(descISRSize, float64(v.isr), lv...)
			if v.isr < v.replicas {
				under++
			}
			for _, rs := range v.states {
				if rs.Leader {
					continue
				}
				rv := append(lv[:2:2], strconv.Itoa(int(rs.Broker)))
				if rs.LagRecords >= 0 {
					gauge(descLagRecords, float64(rs.LagRecords), rv...)
				}
				gauge(descLagSeconds, float64(rs.LagMs)/1000, rv...)
			}
		}
	}
	gauge(descUnderReplicated, float64(under))
}
