package starter

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/qesflow/qesflow/internal/testenv"
	"github.com/qesflow/qesflow/workflows"
)

// TestAPIWithoutWorker covers what the API decides before any workflow code runs: auth,
// validation, body limits, unknown users, unmatched routes, the OpenAPI document, metrics and
// logs. It runs against a real in-process Temporal server, with no worker.
func TestAPIWithoutWorker(t *testing.T) {
	ts := testenv.NewTemporal(t)
	tc := ts.GetDefaultClient()
	h := startAPI(t, tc, Config{ProductionMode: true, CallTimeout: 10 * time.Second, UpdateTimeout: 2 * time.Second})

	t.Run("auth per route and scope", func(t *testing.T) {
		h.t = t
		testAuthEveryRoute(t, h)
	})
	t.Run("bad input is 400 and changes nothing", func(t *testing.T) {
		h.t = t
		testBadInput(t, h, tc)
	})
	t.Run("bodies over 64 KiB are 413", func(t *testing.T) {
		h.t = t
		big := `{"userId":"u-413","redirectUrl":"https://example.com/` + strings.Repeat("a", MaxBodyBytes) + `"}`
		for _, path := range []string{"/v1/onboardings", "/v1/onboardings/u-413/restart", "/v1/onboardings/u-413/cancel"} {
			r := h.do(http.MethodPost, path, keyBoth, big)
			require.Equal(t, http.StatusRequestEntityTooLarge, r.Status, path)
			require.Equal(t, ProblemTypePrefix+problemPayloadTooLarge, r.problem(t).Type)
		}
		r := h.do(http.MethodPost, "/v1/onboardings/u-413/compliance-decision", keyCompliance, big)
		require.Equal(t, http.StatusRequestEntityTooLarge, r.Status)
		requireNoWorkflow(t, tc, "u-413")
	})
	t.Run("unknown user is 404 on every user route", func(t *testing.T) {
		h.t = t
		for _, c := range []struct {
			method, path, key string
			body              any
		}{
			{http.MethodGet, "/v1/onboardings/never-seen", keyOnboarding, nil},
			{http.MethodGet, "/v1/onboardings/never-seen/details", keyCompliance, nil},
			{http.MethodPost, "/v1/onboardings/never-seen/restart", keyOnboarding, nil},
			{http.MethodPost, "/v1/onboardings/never-seen/cancel", keyOnboarding, `{"reason":"operator"}`},
			{http.MethodPost, "/v1/onboardings/never-seen/compliance-decision", keyCompliance, `{"decision":"clear"}`},
		} {
			r := h.do(c.method, c.path, c.key, c.body)
			require.Equal(t, http.StatusNotFound, r.Status, "%s %s: %s", c.method, c.path, r.Body)
			p := r.problem(t)
			require.Equal(t, ProblemTypePrefix+KindNotFound.String(), p.Type)
			require.Equal(t, "never-seen", p.UserID)
			require.Equal(t, workflows.WorkflowID("never-seen"), p.WorkflowID)
		}
		requireNoWorkflow(t, tc, "never-seen")
	})
	t.Run("no worker: the update times out with 504, and repeating is safe", func(t *testing.T) {
		h.t = t
		for range 2 {
			r := h.do(http.MethodPost, "/v1/onboardings", keyOnboarding, `{"userId":"no-worker-1"}`)
			require.Equal(t, http.StatusGatewayTimeout, r.Status, "body: %s", r.Body)
			p := r.problem(t)
			require.Equal(t, ProblemTypePrefix+KindTimeout.String(), p.Type)
			require.Contains(t, p.Detail, "safe")
		}
		desc, err := tc.DescribeWorkflowExecution(context.Background(), workflows.WorkflowID("no-worker-1"), "")
		require.NoError(t, err)
		require.Equal(t, "Running", desc.GetWorkflowExecutionInfo().GetStatus().String(), "one run, waiting for a worker")
	})
	t.Run("unmatched routes", func(t *testing.T) {
		h.t = t
		r := h.do(http.MethodDelete, "/v1/onboardings", keyOnboarding, nil)
		require.Equal(t, http.StatusMethodNotAllowed, r.Status)
		require.Equal(t, []string{"GET", "POST"}, r.Header.Values("Allow"))
		require.Equal(t, ProblemTypePrefix+problemMethodNotAllowed, r.problem(t).Type)

		r = h.do(http.MethodDelete, "/v1/onboardings/u1", keyOnboarding, nil)
		require.Equal(t, http.StatusMethodNotAllowed, r.Status)
		require.Equal(t, []string{"GET"}, r.Header.Values("Allow"))

		r = h.do(http.MethodGet, "/v2/whatever", "", nil)
		require.Equal(t, http.StatusNotFound, r.Status)
		r.problem(t)
	})
	t.Run("openapi document is public", func(t *testing.T) {
		h.t = t
		r := h.do(http.MethodGet, "/openapi.json", "", nil)
		require.Equal(t, http.StatusOK, r.Status)
		require.Equal(t, "application/json", r.Header.Get("Content-Type"))
		require.Equal(t, openAPIJSON, r.Body)
		require.True(t, json.Valid(r.Body))
	})
	t.Run("readiness checks Temporal", func(t *testing.T) {
		h.t = t
		resp, err := http.Get(h.baseURL + "/readyz")
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode)
	})
	t.Run("metrics and logs", func(t *testing.T) {
		h.t = t
		require.GreaterOrEqual(t, h.counter("POST /v1/onboardings", "400"), 5.0)
		require.GreaterOrEqual(t, h.counter("GET /v1/onboardings/{userId}", "401"), 1.0)
		require.GreaterOrEqual(t, h.counter("GET /v1/onboardings/{userId}/details", "403"), 1.0)
		require.GreaterOrEqual(t, h.counter("unmatched", "405"), 1.0)

		resp, err := http.Get(h.baseURL + "/metrics")
		require.NoError(t, err)
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.NoError(t, err)
		require.Contains(t, string(body), `qesflow_api_requests_total{route="POST /v1/onboardings",status="400"}`)
		require.Contains(t, string(body), `qesflow_api_request_duration_seconds_bucket{route="POST /v1/onboardings"`)

		require.NotEmpty(t, h.logs.FilterMessage("onboarding request refused").All())
		for _, e := range h.logs.FilterMessage("onboarding request refused").All() {
			require.NotEmpty(t, e.ContextMap()["requestId"], "outcome logs carry the request id")
		}
		h.requireLogsClean(keyOnboarding, keyCompliance, keyBoth, "not-a-real-key", "secret-redirect.example", "s3cr3t-note")
	})
}

func testAuthEveryRoute(t *testing.T, h *apiHarness) {
	// A request each route can answer without a running workflow once authorised.
	authorised := map[string]struct {
		path   string
		body   any
		status int
	}{
		"POST /v1/onboardings":                              {"/v1/onboardings", `{"userId":"bad id"}`, http.StatusBadRequest},
		"GET /v1/onboardings":                               {"/v1/onboardings?status=CLOSED", nil, http.StatusOK},
		"GET /v1/onboardings/{userId}":                      {"/v1/onboardings/auth-user", nil, http.StatusNotFound},
		"GET /v1/onboardings/{userId}/details":              {"/v1/onboardings/auth-user/details", nil, http.StatusNotFound},
		"POST /v1/onboardings/{userId}/restart":             {"/v1/onboardings/auth-user/restart", nil, http.StatusNotFound},
		"POST /v1/onboardings/{userId}/cancel":              {"/v1/onboardings/auth-user/cancel", nil, http.StatusNotFound},
		"POST /v1/onboardings/{userId}/compliance-decision": {"/v1/onboardings/auth-user/compliance-decision", `{"decision":"reject"}`, http.StatusNotFound},
		"GET /openapi.json":                                 {"/openapi.json", nil, http.StatusOK},
	}
	keysWith := map[Scope][]string{
		ScopeOnboarding: {keyOnboarding, keyBoth},
		ScopeCompliance: {keyCompliance, keyBoth},
	}
	keysWithout := map[Scope][]string{
		ScopeOnboarding: {keyCompliance},
		ScopeCompliance: {keyOnboarding},
	}
	// A route open to any one scope takes every key.
	keysWith[ScopeOnboarding|ScopeCompliance] = []string{keyOnboarding, keyCompliance, keyBoth}
	for _, rt := range routeTable() {
		c, ok := authorised[rt.pattern()]
		require.True(t, ok, "add %s to the auth table", rt.pattern())
		if rt.scope == 0 {
			r := h.do(rt.method, c.path, "", c.body)
			require.Equal(t, c.status, r.Status, rt.pattern())
			continue
		}
		for _, auth := range []string{"", "Bearer not-a-real-key", "Basic " + keyBoth, "Bearer", "bearer  "} {
			r := h.doAuth(rt.method, c.path, auth, c.body)
			require.Equal(t, http.StatusUnauthorized, r.Status, "%s with %q", rt.pattern(), auth)
			require.True(t, strings.HasPrefix(r.Header.Get("WWW-Authenticate"), "Bearer"), rt.pattern())
			require.Equal(t, ProblemTypePrefix+problemUnauthorized, r.problem(t).Type)
		}
		for _, key := range keysWithout[rt.scope] {
			r := h.do(rt.method, c.path, key, c.body)
			require.Equal(t, http.StatusForbidden, r.Status, rt.pattern())
			p := r.problem(t)
			require.Equal(t, ProblemTypePrefix+problemForbidden, p.Type)
			require.Equal(t, rt.scope.String(), p.RequiredScope)
			require.Contains(t, r.Header.Get("WWW-Authenticate"), `error="insufficient_scope"`)
		}
		for _, key := range keysWith[rt.scope] {
			r := h.do(rt.method, c.path, key, c.body)
			require.Equal(t, c.status, r.Status, "%s: %s", rt.pattern(), r.Body)
			// lower-case scheme is accepted too
			r = h.doAuth(rt.method, c.path, "bearer "+key, c.body)
			require.Equal(t, c.status, r.Status, rt.pattern())
		}
	}
	// "override" needs the compliance scope on top of onboarding.
	r := h.do(http.MethodPost, "/v1/onboardings", keyOnboarding, `{"userId":"auth-user","override":true}`)
	require.Equal(t, http.StatusForbidden, r.Status)
	require.Equal(t, "compliance", r.problem(t).RequiredScope)
}

func testBadInput(t *testing.T, h *apiHarness, tc client.Client) {
	long := strings.Repeat("x", 65)
	tests := []struct {
		name, method, path, key string
		body                    string
		field                   string
	}{
		{"missing userId", "POST", "/v1/onboardings", keyOnboarding, `{}`, "userId"},
		{"empty userId", "POST", "/v1/onboardings", keyOnboarding, `{"userId":""}`, "userId"},
		{"userId too long", "POST", "/v1/onboardings", keyOnboarding, `{"userId":"` + long + `"}`, "userId"},
		{"userId charset", "POST", "/v1/onboardings", keyOnboarding, `{"userId":"bad/user"}`, "userId"},
		{"userId not a string", "POST", "/v1/onboardings", keyOnboarding, `{"userId":42}`, "body"},
		{"relative redirect", "POST", "/v1/onboardings", keyOnboarding, `{"userId":"bad-in-1","redirectUrl":"/back"}`, "redirectUrl"},
		{"http redirect in production", "POST", "/v1/onboardings", keyOnboarding, `{"userId":"bad-in-1","redirectUrl":"http://secret-redirect.example/back"}`, "redirectUrl"},
		{"redirect not a URL", "POST", "/v1/onboardings", keyOnboarding, `{"userId":"bad-in-1","redirectUrl":"not a url"}`, "redirectUrl"},
		{"country of three letters", "POST", "/v1/onboardings", keyOnboarding, `{"userId":"bad-in-1","country":"DEU"}`, "country"},
		{"country of digits", "POST", "/v1/onboardings", keyOnboarding, `{"userId":"bad-in-1","country":"12"}`, "country"},
		{"unknown field", "POST", "/v1/onboardings", keyOnboarding, `{"userId":"bad-in-1","email":"someone@example.com"}`, "body"},
		{"malformed JSON", "POST", "/v1/onboardings", keyOnboarding, `{"userId":`, "body"},
		{"trailing data", "POST", "/v1/onboardings", keyOnboarding, `{"userId":"bad-in-1"} {"userId":"bad-in-2"}`, "body"},
		{"array body", "POST", "/v1/onboardings", keyOnboarding, `["bad-in-1"]`, "body"},
		{"empty body", "POST", "/v1/onboardings", keyOnboarding, ``, "body"},
		{"path userId charset", "GET", "/v1/onboardings/bad.user", keyOnboarding, ``, "userId"},
		{"path userId too long", "GET", "/v1/onboardings/" + long, keyOnboarding, ``, "userId"},
		{"details path userId", "GET", "/v1/onboardings/bad%20user/details", keyCompliance, ``, "userId"},
		{"restart unknown field", "POST", "/v1/onboardings/bad-in-1/restart", keyOnboarding, `{"why":"x"}`, "body"},
		{"restart reason too long", "POST", "/v1/onboardings/bad-in-1/restart", keyOnboarding, `{"reason":"` + strings.Repeat("r", 501) + `"}`, "reason"},
		{"cancel path userId", "POST", "/v1/onboardings/bad:user/cancel", keyOnboarding, ``, "userId"},
		{"decision missing", "POST", "/v1/onboardings/bad-in-1/compliance-decision", keyCompliance, `{"note":"s3cr3t-note"}`, "decision"},
		{"decision unknown", "POST", "/v1/onboardings/bad-in-1/compliance-decision", keyCompliance, `{"decision":"maybe"}`, "decision"},
		{"decision body empty", "POST", "/v1/onboardings/bad-in-1/compliance-decision", keyCompliance, ``, "body"},
		{"note too long", "POST", "/v1/onboardings/bad-in-1/compliance-decision", keyCompliance, `{"decision":"clear","note":"` + strings.Repeat("n", 2001) + `"}`, "note"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h.t = t
			var body any
			if tt.body != "" || tt.method == http.MethodPost {
				body = tt.body
			}
			r := h.do(tt.method, tt.path, tt.key, body)
			require.Equal(t, http.StatusBadRequest, r.Status, "%s", r.Body)
			p := r.problem(t)
			require.Equal(t, ProblemTypePrefix+KindInvalid.String(), p.Type)
			require.Equal(t, tt.field, p.Field)
			require.NotContains(t, p.Detail, "secret-redirect.example", "details never echo input values")
			require.NotContains(t, p.Detail, "someone@example.com")
		})
	}
	h.t = t
	requireNoWorkflow(t, tc, "bad-in-1")
	requireNoWorkflow(t, tc, "bad-in-2")
}

// requireNoWorkflow checks that no onboarding was ever started for userID.
func requireNoWorkflow(t *testing.T, tc client.Client, userID string) {
	t.Helper()
	_, err := tc.DescribeWorkflowExecution(context.Background(), workflows.WorkflowID(userID), "")
	var nf *serviceerror.NotFound
	require.ErrorAs(t, err, &nf, "user %s must have no workflow", userID)
}

// TestAPITemporalUnavailable: with nothing listening where Temporal should be, calls that need
// Temporal answer 503 problem+json, and /readyz fails.
func TestAPITemporalUnavailable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	deadAddr := ln.Addr().String()
	require.NoError(t, ln.Close())
	tc, err := client.NewLazyClient(client.Options{HostPort: deadAddr})
	require.NoError(t, err)
	t.Cleanup(tc.Close)

	h := startAPI(t, tc, Config{CallTimeout: 2 * time.Second, UpdateTimeout: 2 * time.Second})
	for _, c := range []struct {
		method, path, key, body string
	}{
		{http.MethodPost, "/v1/onboardings", keyOnboarding, `{"userId":"u-503"}`},
		{http.MethodGet, "/v1/onboardings/u-503", keyOnboarding, ``},
		{http.MethodGet, "/v1/onboardings/u-503/details", keyCompliance, ``},
		{http.MethodPost, "/v1/onboardings/u-503/cancel", keyOnboarding, `{}`},
	} {
		var body any
		if c.body != "" {
			body = c.body
		}
		r := h.do(c.method, c.path, c.key, body)
		require.Equal(t, http.StatusServiceUnavailable, r.Status, "%s %s: %s", c.method, c.path, r.Body)
		require.Equal(t, ProblemTypePrefix+KindUnavailable.String(), r.problem(t).Type)
	}
	resp, err := http.Get(h.baseURL + "/readyz")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	// Auth still comes first.
	require.Equal(t, http.StatusUnauthorized, h.do(http.MethodGet, "/v1/onboardings/u-503", "", nil).Status)
}

func TestNewRequiresKeysAndTemporal(t *testing.T) {
	tc, err := client.NewLazyClient(client.Options{HostPort: "127.0.0.1:1"})
	require.NoError(t, err)
	t.Cleanup(tc.Close)
	_, err = New(Config{Temporal: tc})
	require.ErrorContains(t, err, "no API key configured")
	_, err = New(Config{Keys: testKeys()})
	require.ErrorContains(t, err, "Temporal client is required")
	_, err = New(Config{Temporal: tc, Keys: testKeys()})
	require.NoError(t, err)
	_, err = New(Config{Temporal: tc, Keys: testKeys(), Policy: &workflows.PolicyOverride{MaxAttempts: -1}})
	require.ErrorContains(t, err, "maxAttempts")
}
