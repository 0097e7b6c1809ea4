package httpserver

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"
)

// readyTimeout bounds one readiness check.
const readyTimeout = 5 * time.Second

// maxReasonLen bounds the reason a failing /readyz answers with.
const maxReasonLen = 200

func handleHealthz(w http.ResponseWriter, _ *http.Request) {
	writeText(w, http.StatusOK, "ok\n")
}

// readyHandler answers 200 "ready" when ready(ctx) succeeds and 503 "not ready: <reason>"
// otherwise. The reason is the error's text, truncated; errors must carry no secrets.
func readyHandler(ready func(context.Context) error, log *zap.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if ready == nil {
			writeText(w, http.StatusOK, "ready\n")
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
		defer cancel()
		if err := ready(ctx); err != nil {
			log.Warn("not ready", zap.Error(err), zap.String("requestId", RequestIDFrom(r.Context())))
			writeText(w, http.StatusServiceUnavailable, fmt.Sprintf("not ready: %s\n", truncate(err.Error(), maxReasonLen)))
			return
		}
		writeText(w, http.StatusOK, "ready\n")
	})
}

// metricsHandler serves reg, after adding the Go and process collectors to it.
func metricsHandler(reg *prometheus.Registry, log *zap.Logger) http.Handler {
	registerOrExisting(reg, collectors.NewGoCollector())
	registerOrExisting(reg, collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		ErrorLog:          zap.NewStdLog(log),
		ErrorHandling:     promhttp.ContinueOnError,
		EnableOpenMetrics: false,
	})
}

func writeText(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
