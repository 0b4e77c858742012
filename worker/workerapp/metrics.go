package workerapp

import (
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.temporal.io/sdk/client"
)

// timerBuckets (seconds) span a sub-millisecond task poll up to a
// five-minute activity.
var timerBuckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300}

// MetricsHandler is the SDK's client.MetricsHandler on a Prometheus
// registry. The SDK names its metrics "temporal_…" and tags them freely,
// so each series is its own metric with constant labels, collected by one
// unchecked collector.
type MetricsHandler struct {
	set  *seriesSet
	tags map[string]string
}

var _ client.MetricsHandler = (*MetricsHandler)(nil)

// NewMetricsHandler registers a collector on reg and returns its handler.
func NewMetricsHandler(reg prometheus.Registerer) (*MetricsHandler, error) {
	set := &seriesSet{series: map[string]prometheus.Metric{}}
	if err := reg.Register(set); err != nil {
		return nil, err
	}
	return &MetricsHandler{set: set}, nil
}

// WithTags implements client.MetricsHandler.
func (h *MetricsHandler) WithTags(tags map[string]string) client.MetricsHandler {
	merged := make(map[string]string, len(h.tags)+len(tags))
	maps.Copy(merged, h.tags)
	maps.Copy(merged, tags)
	return &MetricsHandler{set: h.set, tags: merged}
}

// Counter implements client.MetricsHandler.
func (h *MetricsHandler) Counter(name string) client.MetricsCounter {
	c := h.set.get(name, h.tags, func(name string, labels prometheus.Labels) prometheus.Metric {
		return prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: "Temporal SDK counter " + name + ".", ConstLabels: labels})
	}).(prometheus.Counter)
	return counter{c}
}

// Gauge implements client.MetricsHandler.
func (h *MetricsHandler) Gauge(name string) client.MetricsGauge {
	g := h.set.get(name, h.tags, func(name string, labels prometheus.Labels) prometheus.Metric {
		return prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: "Temporal SDK gauge " + name + ".", ConstLabels: labels})
	}).(prometheus.Gauge)
	return gauge{g}
}

// Timer implements client.MetricsHandler; durations are in seconds.
func (h *MetricsHandler) Timer(name string) client.MetricsTimer {
	hist := h.set.get(name, h.tags, func(name string, labels prometheus.Labels) prometheus.Metric {
		return prometheus.NewHistogram(prometheus.HistogramOpts{Name: name, Help: "Temporal SDK timer " + name + " in seconds.", ConstLabels: labels, Buckets: timerBuckets})
	}).(prometheus.Histogram)
	return timer{hist}
}

type counter struct{ c prometheus.Counter }

// Inc adds d; the SDK never passes a negative delta, and Prometheus
// counters panic on one, so such a value is dropped.
func (c counter) Inc(d int64) {
	if d > 0 {
		c.c.Add(float64(d))
	}
}

type gauge struct{ g prometheus.Gauge }

func (g gauge) Update(v float64) { g.g.Set(v) }

type timer struct{ h prometheus.Histogram }

func (t timer) Record(d time.Duration) { t.h.Observe(d.Seconds()) }

// seriesSet holds one metric per name and label set.
type seriesSet struct {
	mu     sync.Mutex
	series map[string]prometheus.Metric
}

func (s *seriesSet) get(name string, tags map[string]string, build func(string, prometheus.Labels) prometheus.Metric) prometheus.Metric {
	name = sanitize(name)
	labels := make(prometheus.Labels, len(tags))
	for k, v := range tags {
		labels[sanitize(k)] = v
	}
	var key strings.Builder
	key.WriteString(name)
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		key.WriteString("\xff" + k + "\xfe" + labels[k])
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if m, ok := s.series[key.String()]; ok {
		return m
	}
	m := build(name, labels)
	s.series[key.String()] = m
	return m
}

// Describe sends nothing: the collector is unchecked, since its series
// are only known once the SDK asks for them.
func (s *seriesSet) Describe(chan<- *prometheus.Desc) {}

// Collect implements prometheus.Collector.
func (s *seriesSet) Collect(ch chan<- prometheus.Metric) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, m := range s.series {
		ch <- m
	}
}

// sanitize maps a name onto [a-zA-Z_][a-zA-Z0-9_]*.
func sanitize(s string) string {
	b := []byte(s)
	for i, c := range b {
		ok := c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9'
		if !ok {
			b[i] = '_'
		}
	}
	if len(b) == 0 {
		return "_"
	}
	return string(b)
}
