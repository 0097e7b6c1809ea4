package starter

import (
	"errors"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// apiMetrics are the onboarding API's request metrics, labelled by route pattern (bounded:
// the route table plus "unmatched") and status code.
type apiMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newAPIMetrics(reg prometheus.Registerer) *apiMetrics {
	m := &apiMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "qesflow_api_requests_total",
			Help: "Onboarding API requests, by route and status code.",
		}, []string{"route", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "qesflow_api_request_duration_seconds",
			Help: "Onboarding API request duration, by route.",
			// POST /v1/onboardings waits for Treezor through the workflow: seconds, not ms.
			Buckets: []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30},
		}, []string{"route"}),
	}
	if reg != nil {
		m.requests = registerOrReuse(reg, m.requests)
		m.duration = registerOrReuse(reg, m.duration)
	}
	return m
}

func (m *apiMetrics) observe(route string, status int, elapsed time.Duration) {
	m.requests.WithLabelValues(route, strconv.Itoa(status)).Inc()
	m.duration.WithLabelValues(route).Observe(elapsed.Seconds())
}

// registerOrReuse registers c, or reuses the identical collector already registered (two APIs
// in one process, e.g. tests or `qesflow dev`).
func registerOrReuse[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	err := reg.Register(c)
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		if existing, ok := are.ExistingCollector.(C); ok {
			return existing
		}
	}
	return c
}
