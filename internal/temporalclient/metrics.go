package temporalclient

import (
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.temporal.io/sdk/client"
)

// TimerBuckets are the histogram buckets (seconds) of SDK timers: from a millisecond (a poll
// answered at once) to five minutes (a long activity).
var TimerBuckets = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300}

// NewPrometheusMetricsHandler exports the SDK's metrics to reg: counters as <name>_total,
// gauges as <name>, timers as <name>_seconds histograms; tags become labels. The SDK emits
// one metric name with varying tag sets, so each family is exported with the union of the
// label names seen for it, missing labels being empty. Calls with the same reg share one
// collector, so the same series is never exported twice.
func NewPrometheusMetricsHandler(reg prometheus.Registerer) client.MetricsHandler {
	return promHandler{c: collectorFor(reg)}
}

var (
	collectorsMu sync.Mutex
	collectors   = map[prometheus.Registerer]*sdkCollector{}
)

func collectorFor(reg prometheus.Registerer) *sdkCollector {
	collectorsMu.Lock()
	defer collectorsMu.Unlock()
	if c, ok := collectors[reg]; ok {
		return c
	}
	c := &sdkCollector{families: map[string]*family{}}
	if reg != nil {
		reg.MustRegister(c)
		collectors[reg] = c
	}
	return c
}

type kind int

const (
	kindCounter kind = iota
	kindGauge
	kindTimer
)

var kindSuffix = map[kind]string{kindCounter: "_counter", kindGauge: "_gauge", kindTimer: "_timer"}

// promHandler is one tagged view of the collector (client.MetricsHandler).
type promHandler struct {
	c    *sdkCollector
	tags map[string]string
}

func (h promHandler) WithTags(tags map[string]string) client.MetricsHandler {
	merged := make(map[string]string, len(h.tags)+len(tags))
	maps.Copy(merged, h.tags)
	for k, v := range tags {
		merged[labelName(k)] = v
	}
	return promHandler{c: h.c, tags: merged}
}

func (h promHandler) Counter(name string) client.MetricsCounter {
	s := h.c.series(kindCounter, name, h.tags)
	return counterFunc(func(d int64) { s.add(float64(d)) })
}

func (h promHandler) Gauge(name string) client.MetricsGauge {
	s := h.c.series(kindGauge, name, h.tags)
	return gaugeFunc(s.set)
}

func (h promHandler) Timer(name string) client.MetricsTimer {
	s := h.c.series(kindTimer, name, h.tags)
	return timerFunc(func(d time.Duration) { s.observe(d.Seconds()) })
}

type counterFunc func(int64)

func (f counterFunc) Inc(d int64) { f(d) }

type gaugeFunc func(float64)

func (f gaugeFunc) Update(v float64) { f(v) }

type timerFunc func(time.Duration)

func (f timerFunc) Record(d time.Duration) { f(d) }

// sdkCollector holds every series the SDK emitted and exports them on scrape. It is an
// unchecked collector: its families are only known once the SDK emitted them.
type sdkCollector struct {
	mu       sync.RWMutex
	families map[string]*family
}

type family struct {
	name   string
	help   string
	kind   kind
	series map[string]*series // by labelKey
}

type series struct {
	mu     sync.Mutex
	labels map[string]string
	value  float64  // counter or gauge
	counts []uint64 // timer: per bucket, not cumulative; last is +Inf
	sum    float64
	count  uint64
}

func (s *series) add(d float64) {
	s.mu.Lock()
	s.value += d
	s.mu.Unlock()
}

func (s *series) set(v float64) {
	s.mu.Lock()
	s.value = v
	s.mu.Unlock()
}

func (s *series) observe(v float64) {
	i, _ := slices.BinarySearch(TimerBuckets, v) // first bucket with upper bound >= v
	s.mu.Lock()
	s.counts[i]++
	s.sum += v
	s.count++
	s.mu.Unlock()
}

// series returns the series of name with tags, creating it on first use.
func (c *sdkCollector) series(k kind, name string, tags map[string]string) *series {
	fname := familyName(k, name)
	key := labelKey(tags)
	c.mu.RLock()
	f, ok := c.families[fname]
	var s *series
	if ok && f.kind == k {
		s = f.series[key]
	}
	c.mu.RUnlock()
	if s != nil {
		return s
	}

	c.mu.Lock()
	defer c.mu.Unlock()
	f, ok = c.families[fname]
	if ok && f.kind != k { // a name the SDK uses for two kinds: keep them apart
		fname += kindSuffix[k]
		f, ok = c.families[fname]
	}
	if !ok {
		f = &family{name: fname, kind: k, help: "Temporal SDK metric " + name + ".", series: map[string]*series{}}
		c.families[fname] = f
	}
	if s = f.series[key]; s == nil {
		s = &series{labels: maps.Clone(tags)}
		if k == kindTimer {
			s.counts = make([]uint64, len(TimerBuckets)+1)
		}
		f.series[key] = s
	}
	return s
}

// Describe sends nothing: the collector is unchecked.
func (c *sdkCollector) Describe(chan<- *prometheus.Desc) {}

// Collect exports every series, each family with the union of its label names.
func (c *sdkCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	for _, f := range c.families {
		f.collect(ch)
	}
}

func (f *family) collect(ch chan<- prometheus.Metric) {
	names := f.labelNames()
	desc := prometheus.NewDesc(f.name, f.help, names, nil)
	for _, s := range f.series {
		values := make([]string, len(names))
		for i, n := range names {
			values[i] = s.labels[n]
		}
		s.mu.Lock()
		switch f.kind {
		case kindCounter:
			ch <- prometheus.MustNewConstMetric(desc, prometheus.CounterValue, s.value, values...)
		case kindGauge:
			ch <- prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, s.value, values...)
		case kindTimer:
			ch <- prometheus.MustNewConstHistogram(desc, s.count, s.sum, cumulative(s.counts), values...)
		}
		s.mu.Unlock()
	}
}

func (f *family) labelNames() []string {
	set := map[string]struct{}{}
	for _, s := range f.series {
		for n := range s.labels {
			set[n] = struct{}{}
		}
	}
	return slices.Sorted(maps.Keys(set))
}

func cumulative(counts []uint64) map[float64]uint64 {
	out := make(map[float64]uint64, len(TimerBuckets))
	var total uint64
	for i, upper := range TimerBuckets {
		total += counts[i]
		out[upper] = total
	}
	return out
}

// familyName is the Prometheus name of an SDK metric of kind k.
func familyName(k kind, name string) string {
	n := metricName(name)
	switch k {
	case kindCounter:
		if !strings.HasSuffix(n, "_total") {
			n += "_total"
		}
	case kindTimer:
		if !strings.HasSuffix(n, "_seconds") {
			n += "_seconds"
		}
	}
	return n
}

// labelKey is a canonical string for a tag set.
func labelKey(tags map[string]string) string {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		b.WriteString(k)
		b.WriteByte(0)
		b.WriteString(tags[k])
		b.WriteByte(0)
	}
	return b.String()
}

// metricName replaces characters Prometheus does not allow in metric names.
func metricName(s string) string { return sanitize(s, true) }

// labelName replaces characters Prometheus does not allow in label names.
func labelName(s string) string {
	n := sanitize(s, false)
	if strings.HasPrefix(n, "__") { // reserved for Prometheus' own labels
		n = "x" + n
	}
	return n
}

func sanitize(s string, allowColon bool) string {
	if s == "" {
		return "_"
	}
	b := []byte(s)
	for i, c := range b {
		ok := c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			(i > 0 && c >= '0' && c <= '9') || (allowColon && c == ':')
		if !ok {
			b[i] = '_'
		}
	}
	return string(b)
}
