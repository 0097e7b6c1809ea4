package starter

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/qesflow/qesflow/treezor"
	"github.com/qesflow/qesflow/workflows"
)

// recordingTemporal is a TemporalClient that records every call and answers as a Temporal
// that is down (Unavailable), except DescribeWorkflowExecution, which finds no earlier run so
// that Start goes on to Update-With-Start. The fuzz tests read what reached it: only requests
// that passed every check may.
type recordingTemporal struct {
	mu    sync.Mutex
	calls []temporalCall
}

// temporalCall is one call that reached Temporal.
type temporalCall struct {
	method     string
	workflowID string
	name       string // update or query name
	arg        any    // update argument or workflow input
}

func (c *recordingTemporal) record(call temporalCall) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls = append(c.calls, call)
}

// take returns the calls recorded since the last take.
func (c *recordingTemporal) take() []temporalCall {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.calls
	c.calls = nil
	return out
}

var errTemporalDown = serviceerror.NewUnavailable("recording stub: Temporal is down")

func (c *recordingTemporal) NewWithStartWorkflowOperation(options client.StartWorkflowOptions, _ any, args ...any) client.WithStartWorkflowOperation {
	var arg any
	if len(args) == 1 {
		arg = args[0]
	}
	c.record(temporalCall{method: "start", workflowID: options.ID, arg: arg})
	return nil // never used: UpdateWithStartWorkflow fails first
}

func (c *recordingTemporal) UpdateWithStartWorkflow(context.Context, client.UpdateWithStartWorkflowOptions) (client.WorkflowUpdateHandle, error) {
	c.record(temporalCall{method: "update-with-start"})
	return nil, errTemporalDown
}

func (c *recordingTemporal) DescribeWorkflowExecution(_ context.Context, workflowID, _ string) (*workflowservice.DescribeWorkflowExecutionResponse, error) {
	c.record(temporalCall{method: "describe", workflowID: workflowID})
	return nil, serviceerror.NewNotFound("no such workflow")
}

func (c *recordingTemporal) GetWorkflow(_ context.Context, workflowID, _ string) client.WorkflowRun {
	c.record(temporalCall{method: "get", workflowID: workflowID})
	return nil // never reached: DescribeWorkflowExecution finds no closed run
}

func (c *recordingTemporal) QueryWorkflow(_ context.Context, workflowID, _ string, queryType string, _ ...any) (converter.EncodedValue, error) {
	c.record(temporalCall{method: "query", workflowID: workflowID, name: queryType})
	return nil, errTemporalDown
}

func (c *recordingTemporal) UpdateWorkflow(_ context.Context, o client.UpdateWorkflowOptions) (client.WorkflowUpdateHandle, error) {
	var arg any
	if len(o.Args) == 1 {
		arg = o.Args[0]
	}
	c.record(temporalCall{method: "update", workflowID: o.WorkflowID, name: o.UpdateName, arg: arg})
	return nil, errTemporalDown
}

func (c *recordingTemporal) ListWorkflow(_ context.Context, req *workflowservice.ListWorkflowExecutionsRequest) (*workflowservice.ListWorkflowExecutionsResponse, error) {
	c.record(temporalCall{method: "list", arg: req.GetQuery()})
	return nil, errTemporalDown
}

func (c *recordingTemporal) CheckHealth(context.Context, *client.CheckHealthRequest) (*client.CheckHealthResponse, error) {
	return &client.CheckHealthResponse{}, nil
}

// fuzzRoutes are the operations FuzzAPIRequest drives, by operationId.
var fuzzRoutes = []string{
	"createOnboarding", "restartOnboarding", "cancelOnboarding", "decideCompliance",
	"getOnboardingStatus", "getOnboardingDetails",
}

// fuzzKeys are the Authorization headers FuzzAPIRequest picks from.
var fuzzKeys = []string{"Bearer " + keyBoth, "Bearer " + keyOnboarding, "Bearer " + keyCompliance, "", "Bearer wrong-key", "Basic " + keyBoth}

// FuzzAPIRequest sends arbitrary user ids, bodies and keys through the real API handler
// (starter.New) over a recording Temporal stub, and checks that:
//   - every answer is a status the route declares (OpenAPI), a problem+json for errors;
//   - a request reaches Temporal only when it passed every check: then the answer is the
//     stub's 503, and what arrived is valid (user id, workflow id, signal argument, workflow
//     input); any 4xx left Temporal untouched;
//   - a POST body that is not valid UTF-8 never reaches Temporal (JSON must be UTF-8;
//     decoding would silently replace the bytes);
//   - a refused redirect URL is never echoed.
func FuzzAPIRequest(f *testing.F) {
	seeds := []struct {
		route uint8
		user  string
		body  string
		key   uint8
	}{
		{0, "", `{"userId":"1001"}`, 0},
		{0, "", `{"userId":"1001","redirectUrl":"https://app.example/done","country":"de"}`, 1},
		{0, "", `{"userId":"1001","override":true}`, 1},
		{0, "", `{"userId":"../../etc"}`, 0},
		{0, "", `{"userId":"1' OR '1'='1"}`, 0},
		{0, "", `{"userId":"1001","redirectUrl":"javascript:alert(1)//x"}`, 0},
		{0, "", `{"userId":"1001","country":"DEU"}`, 0},
		{0, "", `{"userId":"1001","extra":1}`, 0},
		{0, "", `{"userId":1e400}`, 0},
		{0, "", "{\"userId\":\"10\xff01\"}", 0},
		{0, "", `[[[[[[[[[[]]]]]]]]]]`, 0},
		{0, "", `{"userId":"1001"} {"userId":"1002"}`, 0},
		{0, "", ``, 0},
		{1, "1001", ``, 0},
		{1, "1001", `{"reason":"user fixed the address"}`, 1},
		{1, "1001", "{\"reason\":\"\xc3\x28\"}", 1},
		{2, "1001", `{"reason":"operator"}`, 4},
		{2, "..", `{}`, 0},
		{2, "a/../b", `{}`, 0},
		{3, "1001", `{"decision":"clear","note":"checked the documents"}`, 2},
		{3, "1001", "{\"decision\":\"reject\",\"note\":\"fa\xffke\"}", 0},
		{3, "1001", `{"decision":"approve"}`, 0},
		{3, "1001", `{"decision":"clear","note":"` + strings.Repeat("n", 2001) + `"}`, 0},
		{4, "1001", ``, 1},
		{4, "1001\n", ``, 1},
		{5, "%00", ``, 2},
		{5, "1001", ``, 3},
	}
	for _, s := range seeds {
		f.Add(s.route, s.user, []byte(s.body), s.key)
	}
	stub := &recordingTemporal{}
	handler, err := New(Config{Temporal: stub, Keys: testKeys()})
	if err != nil {
		f.Fatal(err)
	}
	routes := map[string]route{}
	for _, rt := range routeTable() {
		routes[rt.operationID] = rt
	}
	f.Fuzz(func(t *testing.T, routeSel uint8, userID string, body []byte, keySel uint8) {
		rt := routes[fuzzRoutes[int(routeSel)%len(fuzzRoutes)]]
		target := requestPath(rt, userID)
		u, err := url.Parse(target)
		if err != nil {
			return // not a request a client can send
		}
		req := httptest.NewRequest(rt.method, "http://api.test/", bytes.NewReader(body))
		req.URL = u
		req.RequestURI = u.RequestURI()
		req.Header.Set("Content-Type", "application/json")
		if auth := fuzzKeys[int(keySel)%len(fuzzKeys)]; auth != "" {
			req.Header.Set("Authorization", auth)
		}
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, req)
		calls := stub.take()

		status := rec.Code
		if status >= 300 && status < 400 {
			// The mux redirects paths with dot segments or empty segments to their clean form.
			if len(calls) > 0 || !strings.Contains(u.EscapedPath(), "/.") && !strings.Contains(u.EscapedPath(), "//") {
				t.Fatalf("%s %s: unexpected redirect %d (calls %v)", rt.method, target, status, calls)
			}
			return
		}
		if !slices.Contains(rt.statuses, status) {
			t.Fatalf("%s %s: status %d is not declared for %s (body %q)", rt.method, target, status, rt.operationID, rec.Body)
		}
		if status >= 400 {
			checkProblem(t, rec, status)
		}
		if len(calls) == 0 {
			if status == http.StatusServiceUnavailable {
				t.Fatalf("%s %s: 503 without calling Temporal", rt.method, target)
			}
			return
		}
		if status != http.StatusServiceUnavailable {
			t.Fatalf("%s %s: Temporal was called but the answer is %d, not the stub's 503", rt.method, target, status)
		}
		if rt.method == http.MethodPost && !utf8.Valid(body) { // GET routes ignore any body
			t.Fatalf("%s %s: a body that is not UTF-8 reached Temporal: %q -> %+v", rt.method, target, body, calls)
		}
		for _, c := range calls {
			checkCall(t, rt, userID, c)
		}
		if redirect := redirectURLOf(body); len(redirect) >= 10 && status == http.StatusBadRequest {
			if strings.Contains(rec.Body.String(), redirect) {
				t.Fatalf("the refused redirect URL is echoed: %s", rec.Body)
			}
		}
	})
}

// requestPath is the route's path for userID, escaped the way a client would.
func requestPath(rt route, userID string) string {
	return strings.Replace(rt.path, "{userId}", url.PathEscape(userID), 1)
}

// checkProblem asserts an error answer is a well-formed problem+json body.
func checkProblem(t *testing.T, rec *httptest.ResponseRecorder, status int) {
	t.Helper()
	if ct := rec.Header().Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("error %d has Content-Type %q", status, ct)
	}
	var p problem
	if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil || p.Status != status ||
		!strings.HasPrefix(p.Type, ProblemTypePrefix) || p.Title == "" {
		t.Fatalf("error %d has a malformed problem body %q (%v)", status, rec.Body, err)
	}
}

// checkCall asserts that what reached Temporal is valid for the route.
func checkCall(t *testing.T, rt route, pathUserID string, c temporalCall) {
	t.Helper()
	if c.method == "update-with-start" {
		return // carries the start operation recorded just before
	}
	userID := strings.TrimPrefix(c.workflowID, workflows.WorkflowID(""))
	if c.workflowID != workflows.WorkflowID(userID) || ValidUserID(userID) != nil {
		t.Fatalf("%s reached Temporal with workflow id %q", rt.operationID, c.workflowID)
	}
	if rt.operationID != "createOnboarding" && userID != pathUserID {
		t.Fatalf("%s for path user %q reached workflow %q", rt.operationID, pathUserID, c.workflowID)
	}
	switch arg := c.arg.(type) {
	case nil:
	case workflows.Input:
		if err := arg.Validate(); err != nil || arg.UserID != userID {
			t.Fatalf("start with invalid input %+v: %v", arg, err)
		}
		if arg.Country != "" && arg.Country != strings.ToUpper(arg.Country) {
			t.Fatalf("start with a country not upper-cased: %q", arg.Country)
		}
	case workflows.RestartRequest:
		checkText(t, "restart reason", arg.Reason, maxReasonLen)
	case workflows.CancelRequest:
		checkText(t, "cancel reason", arg.Reason, maxReasonLen)
	case workflows.ComplianceDecision:
		if arg.Decision != workflows.DecisionClear && arg.Decision != workflows.DecisionReject {
			t.Fatalf("compliance decision %q reached the workflow", arg.Decision)
		}
		checkText(t, "compliance note", arg.Note, maxNoteLen)
	default:
		t.Fatalf("%s sent an unexpected argument %T", rt.operationID, c.arg)
	}
}

func checkText(t *testing.T, what, s string, maxRunes int) {
	t.Helper()
	if !utf8.ValidString(s) || utf8.RuneCountInString(s) > maxRunes {
		t.Fatalf("%s of %d runes (valid UTF-8: %t) reached the workflow", what, utf8.RuneCountInString(s), utf8.ValidString(s))
	}
}

// redirectURLOf is the redirectUrl of a JSON body, or "".
func redirectURLOf(body []byte) string {
	var v struct {
		RedirectURL string `json:"redirectUrl"`
	}
	_ = json.Unmarshal(body, &v)
	return v.RedirectURL
}

// FuzzPolicyOverrides checks that whatever treezor.ParsePolicyOverrides accepts (the
// --reason-policies flag) is a policy the starter and the workflow accept too, so that a
// configuration that parses never makes every start fail.
func FuzzPolicyOverrides(f *testing.F) {
	for _, s := range []string{"", "3011=TERMINAL_DECLINED,3016=RETRY_NOW", "3201=RETRY_NOW", "3299=compliance",
		"3001=WAIT_USER_DATA, 3141=RETRY_NEW_DOCUMENT", "3000=RETRY_NOW", "+3011=RETRY_NOW"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		parsed, err := treezor.ParsePolicyOverrides(s)
		if err != nil {
			return
		}
		policy := &workflows.PolicyOverride{ReasonPolicies: parsed}
		if err := (workflows.Input{UserID: "1001", Policy: policy}).Validate(); err != nil {
			t.Fatalf("the workflow refuses overrides %q that parsed as %v: %v", s, parsed, err)
		}
		if _, err := NewService(Config{Temporal: &recordingTemporal{}, Policy: policy}); err != nil {
			t.Fatalf("the starter refuses overrides %q that parsed as %v: %v", s, parsed, err)
		}
	})
}
