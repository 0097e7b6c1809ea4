package starter

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/qesflow/qesflow/internal/httpserver"
	"github.com/qesflow/qesflow/internal/schemacheck"
)

// Test API keys, one per scope combination.
const (
	keyOnboarding = "test-onboarding-key-0001-7f3a9c2e5b8d"
	keyCompliance = "test-compliance-key-0002-4e1b8f6a0c9d"
	keyBoth       = "test-both-scopes-key-0003-2d7c5a9e1f4b"
)

func testKeys() map[string]Scope {
	return map[string]Scope{
		keyOnboarding: ScopeOnboarding,
		keyCompliance: ScopeCompliance,
		keyBoth:       ScopeOnboarding | ScopeCompliance,
	}
}

// apiHarness is the API served for real: starter.New behind internal/httpserver on loopback.
type apiHarness struct {
	t        *testing.T
	baseURL  string
	logs     *observer.ObservedLogs
	registry *prometheus.Registry
	http     *http.Client
	routes   *http.ServeMux // the route table, to find which route answered
}

// startAPI serves the API over tc. cfg's Temporal, Keys, Logger and Registry are filled in.
func startAPI(t *testing.T, tc client.Client, cfg Config) *apiHarness {
	t.Helper()
	core, logs := observer.New(zap.DebugLevel)
	reg := prometheus.NewRegistry()
	cfg.Temporal = tc
	if cfg.Keys == nil {
		cfg.Keys = testKeys()
	}
	cfg.Logger = zap.New(core)
	cfg.Registry = reg
	if cfg.AuthLimiter == nil {
		// The tables send many unauthenticated requests from one address; the limit has a
		// test of its own (TestFailedAuthenticationsAreLimited).
		cfg.AuthLimiter = &httpserver.AuthLimiter{Burst: 1 << 20, Interval: time.Millisecond}
	}
	handler, err := New(cfg)
	require.NoError(t, err)

	srv := httpserver.New(httpserver.Options{
		Name: "api", Addr: "127.0.0.1:0", Handler: handler, Logger: zap.New(core), Registry: reg,
		Ready: func(ctx context.Context) error {
			_, err := tc.CheckHealth(ctx, &client.CheckHealthRequest{})
			return err
		},
	})
	require.NoError(t, srv.Listen())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
	})

	routes := http.NewServeMux()
	for _, rt := range routeTable() {
		routes.Handle(rt.pattern(), http.NotFoundHandler())
	}
	// Every exchange is checked against openapi.json; a mismatch fails the test.
	checked := schemacheck.Transport{T: t, Checker: apiSchema(t), Next: http.DefaultTransport}
	return &apiHarness{
		t:        t,
		baseURL:  "http://" + srv.Addr(),
		logs:     logs,
		registry: reg,
		http:     &http.Client{Timeout: 90 * time.Second, Transport: checked},
		routes:   routes,
	}
}

// apiResponse is one answer, body read.
type apiResponse struct {
	Status int
	Header http.Header
	Body   []byte
}

func (r apiResponse) decode(t *testing.T, v any) {
	t.Helper()
	require.NoError(t, json.Unmarshal(r.Body, v), "body: %s", r.Body)
}

// problem decodes a problem+json answer and checks its shape.
func (r apiResponse) problem(t *testing.T) problem {
	t.Helper()
	require.Equal(t, "application/problem+json", r.Header.Get("Content-Type"), "body: %s", r.Body)
	var p problem
	r.decode(t, &p)
	require.Equal(t, r.Status, p.Status)
	require.True(t, strings.HasPrefix(p.Type, ProblemTypePrefix), p.Type)
	require.NotEmpty(t, p.Title)
	require.NotEmpty(t, p.RequestID, "problems carry the request id")
	return p
}

// do sends one request; body may be nil, a string, []byte or a value to encode as JSON. Every
// answer of a route in the table must be one of the statuses the route (and the OpenAPI
// document) declares, and every exchange must match openapi.json (schemaTransport).
func (h *apiHarness) do(method, path, key string, body any) apiResponse {
	h.t.Helper()
	auth := ""
	if key != "" {
		auth = "Bearer " + key
	}
	return h.doAuth(method, path, auth, body)
}

// doAuth is do with a raw Authorization header ("" for none).
func (h *apiHarness) doAuth(method, path, auth string, body any) apiResponse {
	h.t.Helper()
	var reader io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		reader = strings.NewReader(b)
	case []byte:
		reader = bytes.NewReader(b)
	default:
		data, err := json.Marshal(b)
		require.NoError(h.t, err)
		reader = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, h.baseURL+path, reader)
	require.NoError(h.t, err)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := h.http.Do(req)
	require.NoError(h.t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(h.t, err)
	h.checkDocumented(req, resp.StatusCode)
	return apiResponse{Status: resp.StatusCode, Header: resp.Header, Body: data}
}

func (h *apiHarness) checkDocumented(req *http.Request, status int) {
	h.t.Helper()
	_, pattern := h.routes.Handler(req)
	if pattern == "" {
		return
	}
	for _, rt := range routeTable() {
		if rt.pattern() == pattern {
			require.Contains(h.t, rt.answers(), status, "%s answered %d, which the route table and OpenAPI do not declare", pattern, status)
			return
		}
	}
}

// requireLogsClean fails when any log line carries one of the secrets.
func (h *apiHarness) requireLogsClean(secrets ...string) {
	h.t.Helper()
	for _, entry := range h.logs.All() {
		line := entry.Message
		for _, f := range entry.Context {
			enc, err := json.Marshal(f.Interface)
			if err == nil {
				line += " " + f.Key + "=" + string(enc)
			}
			line += " " + f.String
		}
		for _, s := range secrets {
			require.NotContains(h.t, line, s, "a log line leaks a secret")
		}
	}
}

// counter returns the value of qesflow_api_requests_total{route,status}.
func (h *apiHarness) counter(route, status string) float64 {
	h.t.Helper()
	families, err := h.registry.Gather()
	require.NoError(h.t, err)
	for _, f := range families {
		if f.GetName() != "qesflow_api_requests_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["route"] == route && labels["status"] == status {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

// pollTimeout is generous: the box is shared and noisy; nothing asserts on durations.
const pollTimeout = 60 * time.Second

// poll calls cond until it holds (true) or pollTimeout passes (false).
func poll(cond func() bool) bool {
	deadline := time.Now().Add(pollTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(100 * time.Millisecond)
	}
	return true
}

// eventually fails the test when cond does not hold within pollTimeout.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	if !poll(cond) {
		t.Fatalf("timed out waiting for %s", what)
	}
}
