package temporalclient

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"
)

func TestPrometheusMetricsHandler(t *testing.T) {
	reg := prometheus.NewRegistry()
	h := NewPrometheusMetricsHandler(reg)

	tagged := h.WithTags(map[string]string{"namespace": "default", "task_queue": "q"})
	tagged.Counter("temporal_request").Inc(2)
	tagged.Counter("temporal_request").Inc(1)
	// the same name with an extra tag: one family, the union of label names
	tagged.WithTags(map[string]string{"operation": "StartWorkflow"}).Counter("temporal_request").Inc(5)
	h.Gauge("temporal_num_pollers").Update(4)
	h.Gauge("temporal_num_pollers").Update(3)
	timer := tagged.Timer("temporal_workflow_task_execution_latency")
	timer.Record(3 * time.Millisecond)
	timer.Record(2 * time.Second)

	want := `
# HELP temporal_request_total Temporal SDK metric temporal_request.
# TYPE temporal_request_total counter
temporal_request_total{namespace="default",operation="",task_queue="q"} 3
temporal_request_total{namespace="default",operation="StartWorkflow",task_queue="q"} 5
# HELP temporal_num_pollers Temporal SDK metric temporal_num_pollers.
# TYPE temporal_num_pollers gauge
temporal_num_pollers 3
`
	require.NoError(t, testutil.GatherAndCompare(reg, strings.NewReader(want), "temporal_request_total", "temporal_num_pollers"))

	mfs, err := reg.Gather()
	require.NoError(t, err)
	var found bool
	for _, mf := range mfs {
		if mf.GetName() != "temporal_workflow_task_execution_latency_seconds" {
			continue
		}
		found = true
		hist := mf.GetMetric()[0].GetHistogram()
		require.EqualValues(t, 2, hist.GetSampleCount())
		require.InDelta(t, 2.003, hist.GetSampleSum(), 1e-9)
		for _, b := range hist.GetBucket() {
			switch b.GetUpperBound() {
			case 0.0025:
				require.EqualValues(t, 0, b.GetCumulativeCount())
			case 0.005, 1:
				require.EqualValues(t, 1, b.GetCumulativeCount())
			case 2.5:
				require.EqualValues(t, 2, b.GetCumulativeCount())
			}
		}
	}
	require.True(t, found, "timer exported as a histogram")
}

func TestPrometheusMetricsHandlerSharesOneCollectorPerRegistry(t *testing.T) {
	reg := prometheus.NewRegistry()
	NewPrometheusMetricsHandler(reg).Counter("temporal_x").Inc(1)
	NewPrometheusMetricsHandler(reg).Counter("temporal_x").Inc(1) // would panic on MustRegister, or double-export
	require.NoError(t, testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP temporal_x_total Temporal SDK metric temporal_x.
# TYPE temporal_x_total counter
temporal_x_total 2
`), "temporal_x_total"))
}

func TestPrometheusNamesAreSanitized(t *testing.T) {
	reg := prometheus.NewRegistry()
	h := NewPrometheusMetricsHandler(reg)
	h.WithTags(map[string]string{"bad-key": "v", "__reserved": "r"}).Counter("temporal.weird-name").Inc(1)
	mfs, err := reg.Gather()
	require.NoError(t, err)
	require.Len(t, mfs, 1)
	require.Equal(t, "temporal_weird_name_total", mfs[0].GetName())
	var names []string
	for _, l := range mfs[0].GetMetric()[0].GetLabel() {
		names = append(names, l.GetName())
	}
	require.Equal(t, []string{"bad_key", "x__reserved"}, names)
}
