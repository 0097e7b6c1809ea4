package starter

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/qesflow/qesflow/internal/schemacheck"
	"github.com/qesflow/qesflow/treezor"
	"github.com/qesflow/qesflow/workflows"
)

// exchange builds a request and its recorded answer for the schema checker.
func exchange(t *testing.T, method, target, reqBody string, status int, respBody string) (*http.Request, []byte, *http.Response, []byte) {
	t.Helper()
	req := httptest.NewRequest(method, "http://localhost:8080"+target, strings.NewReader(reqBody))
	req.Header.Set("Authorization", "Bearer "+keyBoth)
	if reqBody != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	ct := "application/json"
	if status >= 400 {
		ct = "application/problem+json"
	}
	resp := &http.Response{StatusCode: status, Header: http.Header{"Content-Type": {ct}},
		Body: io.NopCloser(strings.NewReader(respBody)), Request: req}
	return req, []byte(reqBody), resp, []byte(respBody)
}

// TestSchemaCheckerCatchesMismatch proves the checker that every API test goes through
// fails on what the document forbids: an integer kycReview, a status outside its enum, a
// problem without code, an undeclared status, and a refused request answered 2xx.
func TestSchemaCheckerCatchesMismatch(t *testing.T) {
	c := apiSchema(t)
	details := `{"userId":"1001","state":"COMPLETED_VALIDATED","attempt":1,"maxAttempts":3,"timeline":[],"updatedAt":"2026-01-02T03:04:05Z","kycReview":%s}`
	userStatus := `{"userId":"1001","status":%q,"message":"m","attempt":1,"final":false}`
	problemBody := `{"type":"urn:qesflow:problem:not-found","title":"t","status":404%s}`
	cases := []struct {
		name                  string
		method, path, reqBody string
		status                int
		respBody              string
		wantErr               string // "" : the exchange matches
	}{
		{"details with a kycReview name", "GET", "/v1/onboardings/1001/details", "", 200, strings.Replace(details, "%s", `"VALIDATED"`, 1), ""},
		{"details with Treezor's integer", "GET", "/v1/onboardings/1001/details", "", 200, strings.Replace(details, "%s", `2`, 1), "kycReview"},
		{"user status in the vocabulary", "GET", "/v1/onboardings/1001", "", 200, strings.Replace(userStatus, "%q", `"UNDER_REVIEW"`, 1), ""},
		{"user status outside it", "GET", "/v1/onboardings/1001", "", 200, strings.Replace(userStatus, "%q", `"FRAUD"`, 1), "status"},
		{"problem with code", "GET", "/v1/onboardings/1001", "", 404, strings.Replace(problemBody, "%s", `,"code":"not-found"`, 1), ""},
		{"problem without code", "GET", "/v1/onboardings/1001", "", 404, strings.Replace(problemBody, "%s", ``, 1), "code"},
		{"undeclared status", "GET", "/v1/onboardings/1001", "", 409, strings.Replace(problemBody, "%s", `,"code":"not-found"`, 1), "409"},
		{"refused request answered 2xx", "POST", "/v1/onboardings", `{"userId":"1001","extra":1}`, 201,
			`{"userId":"1001","workflowId":"w","runId":"r","attempt":1,"status":"AWAITING_USER","created":true}`, "refuses"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := strings.Join(c.Check(exchange(t, tc.method, tc.path, tc.reqBody, tc.status, tc.respBody)), "\n")
			if tc.wantErr == "" {
				require.Empty(t, got)
				return
			}
			require.Contains(t, got, tc.wantErr)
		})
	}
}

// TestSchemaCheckerReadsOpenAPI31 proves the validator applies JSON Schema 2020-12 keywords
// that only OpenAPI 3.1 allows (type arrays with null, const).
func TestSchemaCheckerReadsOpenAPI31(t *testing.T) {
	doc := `{"openapi":"3.1.0","info":{"title":"t","version":"1"},"paths":{"/x":{"get":{"responses":{"200":{
	  "description":"ok","content":{"application/json":{"schema":{"type":"object","required":["a","k"],
	  "properties":{"a":{"type":["string","null"]},"k":{"const":"fixed"}}}}}}}}}}}`
	c, err := schemacheck.New([]byte(doc))
	require.NoError(t, err)
	check := func(body string) string {
		req := httptest.NewRequest("GET", "http://localhost/x", nil)
		resp := &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/json"}},
			Body: io.NopCloser(strings.NewReader(body)), Request: req}
		return strings.Join(c.Check(req, nil, resp, []byte(body)), "\n")
	}
	require.Empty(t, check(`{"a":null,"k":"fixed"}`))
	require.NotEmpty(t, check(`{"a":1,"k":"fixed"}`), "type array")
	require.NotEmpty(t, check(`{"a":"s","k":"other"}`), "const")
}

// TestWireVocabulary: the API sends kycReview as a name and every problem with its code.
func TestWireVocabulary(t *testing.T) {
	body, err := json.Marshal(statusWire(workflows.Status{UserID: "1", KYCReview: treezor.KYCReviewValidated}))
	require.NoError(t, err)
	require.Contains(t, string(body), `"kycReview":"VALIDATED"`)
	require.Equal(t, 1, strings.Count(string(body), `"kycReview"`))

	last := workflows.Result{UserID: "1", State: workflows.StateCompletedValidated, KYCReview: treezor.KYCReviewRefused}
	p := problemFromError(&Error{Kind: KindAlreadyValidated, LastResult: &last}, ScopeCompliance)
	body, err = json.Marshal(problemWire(p))
	require.NoError(t, err)
	var got map[string]any
	require.NoError(t, json.Unmarshal(body, &got))
	require.Equal(t, "already-validated", got["code"])
	require.Equal(t, "REFUSED", got["lastResult"].(map[string]any)["kycReview"])
}

// TestOpenAPIVocabularies: every status, state, action, review and problem field is an
// enum, the enums hold the values the code sends, and no optional request field has a
// default (openapi-typescript would make it required).
func TestOpenAPIVocabularies(t *testing.T) {
	var doc struct {
		Components struct {
			Schemas map[string]struct {
				Enum       []string                  `json:"enum"`
				Properties map[string]map[string]any `json:"properties"`
			} `json:"schemas"`
		} `json:"components"`
	}
	require.NoError(t, json.Unmarshal(openAPIJSON, &doc))
	schemas := doc.Components.Schemas
	enumOf := func(prop map[string]any) []string {
		if ref, ok := prop["$ref"].(string); ok {
			return schemas[strings.TrimPrefix(ref, "#/components/schemas/")].Enum
		}
		var out []string
		list, _ := prop["enum"].([]any)
		for _, v := range list {
			out = append(out, v.(string))
		}
		return out
	}
	vocab := []string{"status", "state", "action", "actionRequired", "kycReview", "code", "signal", "decision", "kind"}
	for name, s := range schemas {
		for prop, def := range s.Properties {
			if name == "Problem" && prop == "status" {
				continue // the HTTP status code
			}
			if slices.Contains(vocab, prop) && def["type"] != "integer" {
				require.NotEmpty(t, enumOf(def), "%s.%s is not enumerated", name, prop)
			}
			if name == "CreateOnboardingRequest" || strings.HasSuffix(name, "Request") {
				require.NotContains(t, def, "default", "%s.%s has a default", name, prop)
			}
		}
	}
	requireSuperset := func(what string, enum []string, sent ...string) {
		t.Helper()
		for _, v := range sent {
			require.Contains(t, enum, v, "%s: %q is sent but not enumerated", what, v)
		}
	}
	requireSuperset("UserStatus.status", enumOf(schemas["UserStatus"].Properties["status"]),
		workflows.UserStatusPreparing, workflows.UserStatusActionRequired, workflows.UserStatusUnderReview,
		workflows.UserStatusApproved, workflows.UserStatusClosed, workflows.UserStatusExpired, workflows.UserStatusCancelled)
	requireSuperset("UserStatus.actionRequired", enumOf(schemas["UserStatus"].Properties["actionRequired"]),
		workflows.ActionCompleteIdentification, workflows.ActionBringOtherDocument, workflows.ActionSEPATransfer,
		workflows.ActionUpdatePersonalData, workflows.ActionCompletePersonalData)
	var kyc []string
	for k := treezor.KYCReviewNone; k <= treezor.KYCReviewReviewPending; k++ {
		kyc = append(kyc, k.String())
	}
	requireSuperset("KYCReview", schemas["KYCReview"].Enum, kyc...)
	var public []string
	for _, st := range schemas["State"].Enum {
		public = append(public, publicState(workflows.State(st)))
	}
	requireSuperset("PublicState", schemas["PublicState"].Enum, public...)
	slugs := []string{problemUnauthorized, problemForbidden, problemPayloadTooLarge, problemMethodNotAllowed,
		problemUnsupportedMediaType, problemIdempotencyKeyUnsupported}
	for k := range kindNames {
		slugs = append(slugs, k.String())
	}
	sort.Strings(slugs)
	requireSuperset("ProblemCode", schemas["ProblemCode"].Enum, slugs...)
	var types []string
	for _, s := range schemas["ProblemCode"].Enum {
		types = append(types, ProblemTypePrefix+s)
	}
	require.ElementsMatch(t, types, enumOf(schemas["Problem"].Properties["type"]), "Problem.type and ProblemCode list the same problems")
}

// TestRequestShape: a POST body that is not JSON gets 415, an Idempotency-Key header 400
// with a code saying why; neither reaches Temporal.
func TestRequestShape(t *testing.T) {
	stub := &recordingTemporal{}
	handler, err := New(Config{Temporal: stub, Keys: testKeys()})
	require.NoError(t, err)
	c := apiSchema(t)
	cases := []struct {
		name, path, contentType, body string
		header                        map[string]string
		status                        int
		code                          string
	}{
		{"text/plain create", "/v1/onboardings", "text/plain", `{"userId":"1001"}`, nil, 415, problemUnsupportedMediaType},
		{"form cancel", "/v1/onboardings/1001/cancel", "application/x-www-form-urlencoded", `reason=x`, nil, 415, problemUnsupportedMediaType},
		{"no content type with a body", "/v1/onboardings/1001/restart", "", `{"reason":"x"}`, nil, 415, problemUnsupportedMediaType},
		{"JSON in latin-1", "/v1/onboardings", "application/json; charset=iso-8859-1", `{"userId":"1001"}`, nil, 415, problemUnsupportedMediaType},
		{"idempotency key", "/v1/onboardings", "application/json", `{"userId":"1001"}`, map[string]string{"Idempotency-Key": "k-1"}, 400, problemIdempotencyKeyUnsupported},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodPost, "http://localhost:8080"+tc.path, strings.NewReader(tc.body))
			req.Header.Set("Authorization", "Bearer "+keyBoth)
			if tc.contentType != "" {
				req.Header.Set("Content-Type", tc.contentType)
			}
			for k, v := range tc.header {
				req.Header.Set(k, v)
			}
			rec := httptest.NewRecorder()
			handler.ServeHTTP(rec, req)
			require.Equal(t, tc.status, rec.Code, rec.Body.String())
			var p map[string]any
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &p))
			require.Equal(t, tc.code, p["code"])
			require.Empty(t, stub.take(), "a refused request reaches Temporal")
			resp := rec.Result()
			require.Empty(t, c.Check(req, []byte(tc.body), resp, rec.Body.Bytes()))
		})
	}
	// A JSON body, and an optional body left empty, still go through (to the stub's 503).
	for _, ct := range []string{"application/json", "application/json; charset=UTF-8", ""} {
		body := `{"reason":"x"}`
		if ct == "" {
			body = ""
		}
		req := httptest.NewRequest(http.MethodPost, "http://localhost:8080/v1/onboardings/1001/restart", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+keyBoth)
		if ct != "" {
			req.Header.Set("Content-Type", ct)
		}
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, req)
		require.Equal(t, http.StatusServiceUnavailable, rec.Code, "Content-Type %q: %s", ct, rec.Body)
		require.NotEmpty(t, stub.take())
	}
}
