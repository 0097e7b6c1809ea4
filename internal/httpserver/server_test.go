package httpserver

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// started runs a server on a free loopback port until the test ends; it returns its base URL,
// the log observer, the cancel function that starts its shutdown and a channel closed with
// Serve's result.
func started(t *testing.T, opts Options) (string, *observer.ObservedLogs, context.CancelFunc, <-chan error) {
	t.Helper()
	core, logs := observer.New(zap.DebugLevel)
	opts.Logger = zap.New(core)
	opts.Addr = "127.0.0.1:0"
	s := New(opts)
	require.NoError(t, s.Listen())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	stopped := make(chan struct{})
	go func() {
		done <- s.Serve(ctx)
		close(stopped)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-stopped:
		case <-time.After(30 * time.Second):
			t.Error("server did not stop")
		}
	})
	return "http://" + s.Addr(), logs, cancel, done
}

func get(t *testing.T, url string, header http.Header) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	require.NoError(t, err)
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, string(body)
}

func TestProbes(t *testing.T) {
	var readyErr error
	base, _, _, _ := started(t, Options{Name: "test", Ready: func(context.Context) error { return readyErr }})

	resp, body := get(t, base+"/healthz", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "ok\n", body)

	resp, body = get(t, base+"/readyz", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "ready\n", body)

	readyErr = context.DeadlineExceeded
	resp, body = get(t, base+"/readyz", nil)
	require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	require.Contains(t, body, "not ready: context deadline exceeded")
}

func TestMetricsServesRegistryAndRequestCounts(t *testing.T) {
	reg := prometheus.NewRegistry()
	own := prometheus.NewCounter(prometheus.CounterOpts{Name: "test_things_total", Help: "things"})
	reg.MustRegister(own)
	own.Add(3)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /things/{id}", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "thing") })
	base, _, _, _ := started(t, Options{Name: "test", Registry: reg, Handler: mux})

	resp, _ := get(t, base+"/things/42", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	resp, body := get(t, base+"/metrics", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Contains(t, body, "test_things_total 3")
	require.Contains(t, body, "go_goroutines")
	require.Contains(t, body, `qesflow_http_requests_total{code="200",method="GET",route="GET /things/{id}",server="test"} 1`)
}

func TestRequestIDEchoedOrGenerated(t *testing.T) {
	seen := make(chan string, 1)
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { seen <- RequestIDFrom(r.Context()) })
	base, _, _, _ := started(t, Options{Name: "test", Handler: handler})

	tests := []struct {
		name, in string
		keep     bool
	}{
		{"valid id kept", "abc-123_X.y:z", true},
		{"absent id generated", "", false},
		{"id with spaces replaced", "abc def", false},
		{"id with newline replaced", "abc%0Adef", false},
		{"too long id replaced", strings.Repeat("a", 65), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			if tt.in != "" {
				h.Set(RequestIDHeader, tt.in)
			}
			resp, _ := get(t, base+"/x", h)
			out := resp.Header.Get(RequestIDHeader)
			require.Equal(t, out, <-seen, "the handler sees the id the response carries")
			if tt.keep {
				require.Equal(t, tt.in, out)
				return
			}
			require.NotEqual(t, tt.in, out)
			require.Len(t, out, 32)
		})
	}
}

func TestAccessLogHasNoQueryStringOrAuthorization(t *testing.T) {
	handler := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusTeapot) })
	base, logs, _, _ := started(t, Options{Name: "test", Handler: handler})

	h := http.Header{}
	h.Set("Authorization", "Bearer s3cr3t-token")
	h.Set(RequestIDHeader, "req-1")
	resp, _ := get(t, base+"/users/u1?email=jane%40example.com&token=qs-secret", h)
	require.Equal(t, http.StatusTeapot, resp.StatusCode)

	entries := logs.FilterMessage("http request").All()
	require.Len(t, entries, 1)
	fields := entries[0].ContextMap()
	require.Equal(t, "GET", fields["method"])
	require.Equal(t, "/users/u1", fields["path"])
	require.EqualValues(t, http.StatusTeapot, fields["status"])
	require.Equal(t, "req-1", fields["requestId"])
	require.Contains(t, fields, "duration")
	for _, e := range logs.All() {
		for k, v := range e.ContextMap() {
			s := k + "=" + toString(v)
			require.NotContains(t, s, "s3cr3t", "log field %s", k)
			require.NotContains(t, s, "qs-secret", "log field %s", k)
			require.NotContains(t, s, "example.com", "log field %s", k)
		}
	}
}

func TestAccessLogAtDebugWhenHandlerLoggedOutcome(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /own", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusAccepted)
		OutcomeLogged(r.Context())
	})
	mux.HandleFunc("POST /plain", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusAccepted) })
	base, logs, _, _ := started(t, Options{Name: "test", Handler: mux})

	for _, path := range []string{"/own", "/plain"} {
		resp, err := http.Post(base+path, "text/plain", strings.NewReader("x"))
		require.NoError(t, err)
		require.NoError(t, resp.Body.Close())
		require.Equal(t, http.StatusAccepted, resp.StatusCode)
	}

	levels := map[string]zapcore.Level{}
	for _, e := range logs.FilterMessage("http request").All() {
		fields := e.ContextMap()
		levels[toString(fields["route"])] = e.Level
		require.EqualValues(t, http.StatusAccepted, fields["status"])
		require.NotEmpty(t, fields["requestId"])
	}
	require.Equal(t, map[string]zapcore.Level{"POST /own": zapcore.DebugLevel, "POST /plain": zapcore.InfoLevel}, levels)
}

func TestOutcomeLoggedOutsideARequestDoesNothing(t *testing.T) {
	require.NotPanics(t, func() { OutcomeLogged(context.Background()) })
	require.Empty(t, RequestIDFrom(context.Background()))
}

func toString(v any) string {
	s, ok := v.(string)
	if ok {
		return s
	}
	return strings.TrimSpace(strings.ReplaceAll(strings.ReplaceAll(zap.Any("", v).String, "\n", ""), "\t", ""))
}

func TestPanicBecomes500(t *testing.T) {
	handler := http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("boom") })
	base, logs, _, _ := started(t, Options{Name: "test", Handler: handler})

	resp, body := get(t, base+"/explode", nil)
	require.Equal(t, http.StatusInternalServerError, resp.StatusCode)
	require.Equal(t, "internal server error\n", body)
	require.NotEmpty(t, resp.Header.Get(RequestIDHeader))

	panics := logs.FilterMessage("panic in http handler").All()
	require.Len(t, panics, 1)
	require.Equal(t, resp.Header.Get(RequestIDHeader), panics[0].ContextMap()["requestId"])
	// the server survives
	resp, _ = get(t, base+"/healthz", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
}

func TestGracefulShutdownFinishesInFlightRequest(t *testing.T) {
	entered := make(chan struct{})
	release := make(chan struct{})
	handler := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		close(entered)
		<-release
		_, _ = io.WriteString(w, "finished")
	})
	base, _, cancel, done := started(t, Options{Name: "test", Handler: handler})

	type result struct {
		status int
		body   string
		err    error
	}
	results := make(chan result, 1)
	go func() {
		resp, err := http.Get(base + "/slow")
		if err != nil {
			results <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		results <- result{status: resp.StatusCode, body: string(b), err: err}
	}()
	<-entered
	cancel() // shutdown starts while the request is in flight

	// New connections are refused once the listener is closed.
	require.Eventually(t, func() bool {
		_, err := http.Get(base + "/healthz")
		return err != nil
	}, 10*time.Second, 10*time.Millisecond)
	select {
	case err := <-done:
		t.Fatalf("Serve returned before the in-flight request finished: %v", err)
	default:
	}

	close(release)
	r := <-results
	require.NoError(t, r.err)
	require.Equal(t, http.StatusOK, r.status)
	require.Equal(t, "finished", r.body)
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(30 * time.Second):
		t.Fatal("Serve did not return after the in-flight request finished")
	}
}

func TestListenReportsTakenPort(t *testing.T) {
	first := New(Options{Name: "a", Addr: "127.0.0.1:0"})
	require.NoError(t, first.Listen())
	second := New(Options{Name: "b", Addr: first.Addr()})
	err := second.Listen()
	require.Error(t, err)
	require.Contains(t, err.Error(), "b server: listen on "+first.Addr())
	require.NoError(t, first.ln.Close())
}

func TestCloseReleasesListenerOrStopsServing(t *testing.T) {
	idle := New(Options{Name: "idle", Addr: "127.0.0.1:0"})
	require.NoError(t, idle.Listen())
	addr := idle.Addr()
	require.NoError(t, idle.Close())
	again := New(Options{Name: "again", Addr: addr}) // the port is free again
	require.NoError(t, again.Listen())
	require.NoError(t, again.Close())
	require.Error(t, idle.Serve(context.Background()))

	serving := New(Options{Name: "serving", Addr: "127.0.0.1:0"})
	require.NoError(t, serving.Listen())
	done := make(chan error, 1)
	go func() { done <- serving.Serve(context.Background()) }()
	require.Eventually(t, func() bool {
		resp, err := http.Get("http://" + serving.Addr() + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return true
	}, 10*time.Second, 10*time.Millisecond)
	require.NoError(t, serving.Close())
	require.NoError(t, <-done)
}

func TestServersShareARegistry(t *testing.T) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectorsForTest()...)
	a, _, _, _ := started(t, Options{Name: "api", Registry: reg})
	b, _, _, _ := started(t, Options{Name: "bridge", Registry: reg})
	get(t, a+"/nothing", nil)
	get(t, b+"/nothing", nil)
	resp, body := get(t, a+"/metrics", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Contains(t, body, `qesflow_http_requests_total{code="404",method="GET",route="/",server="api"} 1`)
	require.Contains(t, body, `qesflow_http_requests_total{code="404",method="GET",route="/",server="bridge"} 1`)
}

func collectorsForTest() []prometheus.Collector {
	return []prometheus.Collector{collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})}
}
