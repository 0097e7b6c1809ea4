package httpserver

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// httpMetrics are the per-server request metrics, labelled by server name, method, route
// pattern (bounded: the mux patterns, or "unmatched") and status code.
type httpMetrics struct {
	name     string
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newHTTPMetrics(reg prometheus.Registerer, name string) *httpMetrics {
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "qesflow_http_requests_total",
		Help: "HTTP requests served, by server, method, route and status code.",
	}, []string{"server", "method", "route", "code"})
	duration := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "qesflow_http_request_duration_seconds",
		Help:    "HTTP request duration, by server, method and route.",
		Buckets: prometheus.DefBuckets,
	}, []string{"server", "method", "route"})
	return &httpMetrics{
		name:     name,
		requests: registerOrExisting(reg, requests),
		duration: registerOrExisting(reg, duration),
	}
}

func (m *httpMetrics) observe(method, route string, status int, elapsed time.Duration) {
	method = methodLabel(method)
	route = routeLabel(route)
	m.requests.WithLabelValues(m.name, method, route, strconv.Itoa(status)).Inc()
	m.duration.WithLabelValues(m.name, method, route).Observe(elapsed.Seconds())
}

// methodLabel keeps the label set bounded: unknown methods become "OTHER".
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions:
		return m
	}
	return "OTHER"
}

// registerOrExisting registers c, or returns the collector already registered under the same
// descriptor, so that several servers (or restarts in one process) can share a registry.
func registerOrExisting[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
		// A conflicting, different collector: keep c unregistered rather than fail the server.
	}
	return c
}
