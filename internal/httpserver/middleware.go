package httpserver

import (
	"errors"
	"net/http"
	"runtime/debug"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// statusRecorder remembers the status code a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	status  int
	written bool
}

func (r *statusRecorder) WriteHeader(code int) {
	if !r.written {
		r.status = code
		r.written = true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if !r.written {
		r.status = http.StatusOK
		r.written = true
	}
	return r.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer (Flush, deadlines).
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// withAccessLog logs one line per request: method, route (or path, never the query string),
// status, duration and request id. Bodies and headers (Authorization) are never logged.
// Probes, and requests whose handler logged their outcome itself (OutcomeLogged), are logged
// at debug level only.
func withAccessLog(log *zap.Logger, m *httpMetrics, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		elapsed := time.Since(start)
		route := r.Pattern // set in place by the ServeMux once it routed r
		m.observe(r.Method, route, rec.status, elapsed)
		info := requestInfoFrom(r.Context())
		// Check first: at info level, a debug line costs nothing, its fields not even built.
		ce := log.Check(accessLogLevel(route, info), "http request")
		if ce == nil {
			return
		}
		var id string
		if info != nil {
			id = info.id
		}
		ce.Write(
			zap.String("method", r.Method),
			zap.String("route", routeLabel(route)),
			zap.String("path", truncate(r.URL.Path, 256)),
			zap.Int("status", rec.status),
			zap.Duration("duration", elapsed),
			zap.String("requestId", id),
		)
	})
}

// accessLogLevel keeps probes and scrapes, and requests that already have their outcome line
// from the handler, out of the default log.
func accessLogLevel(route string, info *requestInfo) zapcore.Level {
	if isProbe(route) || (info != nil && info.outcomeLogged.Load()) {
		return zapcore.DebugLevel
	}
	return zapcore.InfoLevel
}

// withRecovery turns a handler panic into a 500 and an error log with the stack. The request
// id middleware runs outside it, so the log and the answer carry the id.
func withRecovery(log *zap.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec, ok := w.(*statusRecorder) // the access log's, when it runs outside: one is enough
		if !ok {
			rec = &statusRecorder{ResponseWriter: w}
		}
		defer func() {
			p := recover()
			if p == nil {
				return
			}
			if err, ok := p.(error); ok && errors.Is(err, http.ErrAbortHandler) {
				panic(p) // the handler asked net/http to abort the connection
			}
			log.Error("panic in http handler",
				zap.Any("panic", p),
				zap.String("route", routeLabel(r.Pattern)),
				zap.String("requestId", RequestIDFrom(r.Context())),
				zap.ByteString("stack", debug.Stack()),
			)
			if !rec.written {
				writeText(rec, http.StatusInternalServerError, "internal server error\n")
			}
		}()
		next.ServeHTTP(rec, r)
	})
}

// routeLabel is the bounded route name for logs and metrics.
func routeLabel(pattern string) string {
	if pattern == "" {
		return "unmatched"
	}
	return pattern
}

// isProbe reports whether pattern is one of the built-in health, readiness or metrics routes.
func isProbe(pattern string) bool {
	switch pattern {
	case "GET /healthz", "GET /readyz", "GET /metrics":
		return true
	}
	return false
}
