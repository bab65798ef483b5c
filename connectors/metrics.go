package connectors

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/scimbridge/scimbridge/store"
)

type metrics struct {
	d          *Dispatcher
	deliveries *prometheus.CounterVec
	retries    *prometheus.CounterVec
	scans      *prometheus.HistogramVec
	latency    *prometheus.HistogramVec
	depth      *prometheus.Desc
	age        *prometheus.Desc
	dead       *prometheus.Desc
	inflight   *prometheus.Desc
}

func newMetrics(d *Dispatcher) *metrics {
	return &metrics{
		d: d,
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "scimbridge_deliveries_total",
			Help: "Changes handled by connector and outcome (delivered, noop, unsupported, retry, dead).",
		}, []string{"connector", "outcome"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "scimbridge_delivery_retries_total",
			Help: "Transient delivery failures scheduled for a retry.",
		}, []string{"connector"}),
		scans: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "scimbridge_queue_scan_duration_seconds",
			Help:    "Duration of one pass of the delivery scheduler over the head of the queue.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 4, 8),
		}, []string{"connector"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "scimbridge_delivery_duration_seconds",
			Help:    "Duration of one connector call (one batch).",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 14),
		}, []string{"connector"}),
		depth:    prometheus.NewDesc("scimbridge_queue_depth", "Queued changes per connector.", []string{"connector"}, nil),
		age:      prometheus.NewDesc("scimbridge_queue_oldest_age_seconds", "Age of the oldest queued change per connector.", []string{"connector"}, nil),
		dead:     prometheus.NewDesc("scimbridge_dead_letters", "Dead letters per connector.", []string{"connector"}, nil),
		inflight: prometheus.NewDesc("scimbridge_deliveries_in_flight", "Changes being delivered per connector.", []string{"connector"}, nil),
	}
}

func (m *metrics) register(reg prometheus.Registerer) error {
	for _, c := range []prometheus.Collector{m.deliveries, m.retries, m.scans, m.latency, m} {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}

// Describe and Collect read queue gauges from the store at scrape time, so
// they are right after a restart and cost nothing between scrapes.
func (m *metrics) Describe(ch chan<- *prometheus.Desc) {
	ch <- m.depth
	ch <- m.age
	ch <- m.dead
	ch <- m.inflight
}

func (m *metrics) Collect(ch chan<- prometheus.Metric) {
	now := time.Now()
	_ = m.d.db.View(func(tx *store.Tx) error {
		for _, l := range m.d.lanes {
			depth, oldest, err := tx.QueueStats(l.name)
			if err != nil {
				continue
			}
			age := 0.0
			if !oldest.IsZero() {
				age = now.Sub(oldest).Seconds()
			}
			ch <- prometheus.MustNewConstMetric(m.depth, prometheus.GaugeValue, float64(depth), l.name)
			ch <- prometheus.MustNewConstMetric(m.age, prometheus.GaugeValue, age, l.name)
			ch <- prometheus.MustNewConstMetric(m.dead, prometheus.GaugeValue, float64(tx.DeadLetterCount(l.name)), l.name)
			ch <- prometheus.MustNewConstMetric(m.inflight, prometheus.GaugeValue, float64(l.inflightCount()), l.name)
		}
		return nil
	})
}

func (l *lane) inflightCount() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.inflight)
}
