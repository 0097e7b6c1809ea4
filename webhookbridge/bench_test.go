//go:build unix

package webhookbridge_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/qesflow/qesflow/internal/httpserver"
	"github.com/qesflow/qesflow/treezor"
	"github.com/qesflow/qesflow/webhookbridge"
)

// benchWebhook is the webhook `qesflow bench` sends: a signed user.kycreview.
func benchWebhook(b *testing.B) []byte {
	b.Helper()
	payload, err := treezor.Canonicalize([]byte(`{"users":[{"kycLevel":"2","kycReview":"1","kycReviewComment":"","userId":"sink-17"}]}`))
	require.NoError(b, err)
	sig, err := treezor.Sign(testSecret, payload)
	require.NoError(b, err)
	body, err := treezor.EncodeEnvelope(&treezor.Envelope{
		Webhook: treezor.EventUserKYCReview, WebhookID: "bench-tput-17", CreatedAt: time.Now(),
		Object: "user", ObjectID: "sink-17", ObjectPayload: payload, Signature: sig,
	})
	require.NoError(b, err)
	return body
}

// productionLogger logs like the product in `qesflow bench` (JSON, caller, stack traces on
// errors, at info level, to a file).
func productionLogger(b *testing.B) *zap.Logger {
	b.Helper()
	cfg := zap.NewProductionConfig()
	cfg.Sampling = nil
	cfg.OutputPaths = []string{filepath.Join(b.TempDir(), "bench.log")}
	log, err := cfg.Build()
	require.NoError(b, err)
	return log
}

func benchBridge(b *testing.B, log *zap.Logger, reg prometheus.Registerer) http.Handler {
	b.Helper()
	h, err := webhookbridge.New(webhookbridge.Config{
		Secrets: []string{retiredSecret, testSecret}, Temporal: nopTemporal{}, Logger: log, Registry: reg,
	})
	require.NoError(b, err)
	return h
}

// BenchmarkHandler is the bridge's own work for one webhook, without HTTP and Temporal.
func BenchmarkHandler(b *testing.B) {
	body := benchWebhook(b)
	h := benchBridge(b, productionLogger(b), prometheus.NewRegistry())
	b.ReportAllocs()
	defer reportCPU(b)()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, webhookbridge.Path, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	}
}

// BenchmarkLoopback is one webhook over loopback HTTP through internal/httpserver, client
// included, as `qesflow bench` sends it (Temporal excluded).
func BenchmarkLoopback(b *testing.B) {
	body := benchWebhook(b)
	log, reg := productionLogger(b), prometheus.NewRegistry()
	srv := httpserver.New(httpserver.Options{Name: "bridge", Addr: "127.0.0.1:0", Handler: benchBridge(b, log, reg), Logger: log, Registry: reg})
	require.NoError(b, srv.Listen())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	b.Cleanup(func() { cancel(); <-done })
	url := "http://" + srv.Addr() + webhookbridge.Path
	b.ReportAllocs()
	defer reportCPU(b)()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
			if err != nil {
				b.Error(err)
				return
			}
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
	})
}

// reportCPU reports the process CPU time (user and system, every goroutine, GC included) per
// operation: steadier than ns/op on a shared machine. Call the returned function at the end.
func reportCPU(b *testing.B) func() {
	start := processCPU(b)
	return func() { b.ReportMetric(float64(processCPU(b)-start)/float64(b.N), "cpu-ns/op") }
}

func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
