package workerapp_test

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/strictcycle/strictcycle/worker/workerapp"
)

func zapNop() *zap.Logger { return zap.NewNop() }

func TestMetricsHandler(t *testing.T) {
	reg := prometheus.NewRegistry()
	h, err := workerapp.NewMetricsHandler(reg)
	require.NoError(t, err)

	ns := h.WithTags(map[string]string{"namespace": "default"})
	ns.Counter("temporal_request").Inc(2)
	ns.Counter("temporal_request").Inc(1)
	ns.Counter("temporal_request").Inc(-5) // dropped: counters only go up
	// Same name, another label set (overriding a tag): its own series.
	ns.WithTags(map[string]string{"operation": "Poll", "namespace": "other"}).Counter("temporal_request").Inc(1)
	ns.Gauge("temporal_worker_task_slots_available").Update(7)
	ns.Timer("temporal_request_latency").Record(30 * time.Millisecond)
	h.Counter("bad-name.with:chars").Inc(1)

	mfs, err := reg.Gather()
	require.NoError(t, err)
	got := map[string]*dto.MetricFamily{}
	for _, mf := range mfs {
		got[mf.GetName()] = mf
	}
	require.Len(t, got, 4)

	req := got["temporal_request"]
	require.Equal(t, dto.MetricType_COUNTER, req.GetType())
	series := map[string]float64{}
	for _, m := range req.GetMetric() {
		key := ""
		for _, lp := range m.GetLabel() {
			key += lp.GetName() + "=" + lp.GetValue() + ";"
		}
		series[key] = m.GetCounter().GetValue()
	}
	require.Equal(t, map[string]float64{"namespace=default;": 3, "namespace=other;operation=Poll;": 1}, series)

	require.Equal(t, 7.0, got["temporal_worker_task_slots_available"].GetMetric()[0].GetGauge().GetValue())
	hist := got["temporal_request_latency"].GetMetric()[0].GetHistogram()
	require.Equal(t, uint64(1), hist.GetSampleCount())
	require.InDelta(t, 0.03, hist.GetSampleSum(), 1e-9)
	require.Contains(t, got, "bad_name_with_chars")
}
