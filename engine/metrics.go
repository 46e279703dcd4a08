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
	descLEO      = prometheus.NewDesc("fjord_partition_log_end_offset", "Log end offset.", []string{"topic", "partition"}, nil)
	descHW       = prometheus.NewDesc("fjord_partition_high_watermark", "High watermark.", []string{"topic", "partition"}, nil)
	descLogStart = prometheus.NewDesc("fjord_partition_log_start_offset", "Log start offset.", []string{"topic", "partition"}, nil)
	descBytes    = prometheus.NewDesc("fjord_partition_bytes", "Retained log bytes.", []string{"topic", "partition"}, nil)
)

// partitionCollector reports partition offsets at scrape time, so appends pay nothing.
type partitionCollector struct{ e *Engine }

func (c *partitionCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descLEO
	ch <- descHW
	ch <- descLogStart
	ch <- descBytes
}

func (c *partitionCollector) Collect(ch chan<- prometheus.Metric) {
	for _, t := range c.e.topicList() {
		for _, p := range t.Partitions() {
			o := p.LocalOffsets()
			lv := []string{t.Name(), strconv.Itoa(int(p.index))}
			ch <- prometheus.MustNewConstMetric(descLEO, prometheus.GaugeValue, float64(o.LogEnd), lv...)
			ch <- prometheus.MustNewConstMetric(descHW, prometheus.GaugeValue, float64(o.HighWatermark), lv...)
			ch <- prometheus.MustNewConstMetric(descLogStart, prometheus.GaugeValue, float64(o.LogStart), lv...)
			ch <- prometheus.MustNewConstMetric(descBytes, prometheus.GaugeValue, float64(o.Bytes), lv...)
		}
	}
}
