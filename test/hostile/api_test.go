package hostile

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/qesflow/qesflow/devstack"
	"github.com/qesflow/qesflow/starter"
)

// apiCase is one hostile API request and the answer the API documents for it (status and
// problem type slug; "" when the answer is not a problem document).
type apiCase struct {
	name    string
	method  string
	path    string // sent byte for byte
	key     string // "none", "wrong", "onboarding", "compliance"
	body    []byte
	wantSt  int
	wantTyp string
	// wantLocation is the redirect target of a 3xx.
	wantLocation string
}

// Problem type slugs the API documents (starter/openapi.json).
const (
	slugInvalid          = "invalid-request"
	slugUnauthorized     = "unauthorized"
	slugForbidden        = "forbidden"
	slugTooLarge         = "payload-too-large"
	slugMethodNotAllowed = "method-not-allowed"
	slugNotFound         = "not-found"
)

// apiCases is the hostile table for the onboarding API. Those that name a user name the one
// whose onboarding runs, so anything that got through would show in its timeline.
func apiCases(userID string) []apiCase {
	create := "/v1/onboardings"
	restart := "/v1/onboardings/" + userID + "/restart"
	cancel := "/v1/onboardings/" + userID + "/cancel"
	decide := "/v1/onboardings/" + userID + "/compliance-decision"
	status := "/v1/onboardings/" + userID
	nested := func(prefix, suffix string, depth int) []byte {
		return []byte(prefix + strings.Repeat("[", depth) + strings.Repeat("]", depth) + suffix)
	}
	oversized := append([]byte(`{"userId":"`+userID+`","redirectUrl":"https://app.example/`), bytes.Repeat([]byte("a"), starter.MaxBodyBytes)...)
	oversized = append(oversized, []byte(`"}`)...)
	js := func(v any) []byte {
		b, err := json.Marshal(v)
		if err != nil {
			panic(err)
		}
		return b
	}
	return []apiCase{
		{name: "no API key", method: http.MethodPost, path: restart, key: "none", body: js(map[string]string{"reason": "x"}),
			wantSt: http.StatusUnauthorized, wantTyp: slugUnauthorized},
		{name: "wrong API key", method: http.MethodPost, path: cancel, key: "wrong", body: js(map[string]string{"reason": "x"}),
			wantSt: http.StatusUnauthorized, wantTyp: slugUnauthorized},
		{name: "onboarding key on the compliance decision", method: http.MethodPost, path: decide, key: "onboarding",
			body: js(map[string]string{"decision": "clear"}), wantSt: http.StatusForbidden, wantTyp: slugForbidden},
		{name: "compliance key on restart", method: http.MethodPost, path: restart, key: "compliance",
			wantSt: http.StatusForbidden, wantTyp: slugForbidden},
		{name: "onboarding key asks for override", method: http.MethodPost, path: create, key: "onboarding",
			body: js(map[string]any{"userId": userID, "override": true}), wantSt: http.StatusForbidden, wantTyp: slugForbidden},
		{name: "body over 64 KiB on create", method: http.MethodPost, path: create, key: "onboarding", body: oversized,
			wantSt: http.StatusRequestEntityTooLarge, wantTyp: slugTooLarge},
		{name: "body over 64 KiB on cancel", method: http.MethodPost, path: cancel, key: "onboarding",
			body: append([]byte(`{"reason":"`), bytes.Repeat([]byte("a"), starter.MaxBodyBytes)...), wantSt: http.StatusRequestEntityTooLarge, wantTyp: slugTooLarge},
		{name: "20k [ as the body", method: http.MethodPost, path: create, key: "onboarding", body: nested("", "", 20_000),
			wantSt: http.StatusBadRequest, wantTyp: slugInvalid},
		{name: "20k [ in a field", method: http.MethodPost, path: restart, key: "onboarding", body: nested(`{"reason":`, "}", 20_000),
			wantSt: http.StatusBadRequest, wantTyp: slugInvalid},
		{name: "invalid UTF-8 in userId", method: http.MethodPost, path: create, key: "onboarding", body: []byte(`{"userId":"` + userID + "\xff\"}"),
			wantSt: http.StatusBadRequest, wantTyp: slugInvalid},
		{name: "invalid UTF-8 in the restart reason", method: http.MethodPost, path: restart, key: "onboarding", body: []byte("{\"reason\":\"caf\xe9\"}"),
			wantSt: http.StatusBadRequest, wantTyp: slugInvalid},
		{name: "invalid UTF-8 in the compliance note", method: http.MethodPost, path: decide, key: "compliance", body: []byte("{\"decision\":\"clear\",\"note\":\"\xc3\x28\"}"),
			wantSt: http.StatusBadRequest, wantTyp: slugInvalid},
		{name: "userId 1e400", method: http.MethodPost, path: create, key: "onboarding", body: []byte(`{"userId":1e400}`),
			wantSt: http.StatusBadRequest, wantTyp: slugInvalid},
		{name: "override 99999999999999999999", method: http.MethodPost, path: create, key: "onboarding",
			body: []byte(`{"userId":"` + userID + `","override":99999999999999999999}`), wantSt: http.StatusBadRequest, wantTyp: slugInvalid},
		{name: "note 1e400", method: http.MethodPost, path: decide, key: "compliance", body: []byte(`{"decision":"clear","note":1e400}`),
			wantSt: http.StatusBadRequest, wantTyp: slugInvalid},
		{name: "unknown field on create", method: http.MethodPost, path: create, key: "onboarding",
			body: js(map[string]any{"userId": userID, "isAdmin": true}), wantSt: http.StatusBadRequest, wantTyp: slugInvalid},
		{name: "unknown field on restart", method: http.MethodPost, path: restart, key: "onboarding",
			body: js(map[string]any{"reason": "x", "state": "COMPLETED_VALIDATED"}), wantSt: http.StatusBadRequest, wantTyp: slugInvalid},
		{name: "two JSON objects", method: http.MethodPost, path: cancel, key: "onboarding", body: []byte(`{"reason":"a"}{"reason":"b"}`),
			wantSt: http.StatusBadRequest, wantTyp: slugInvalid},
		{name: "unknown compliance decision", method: http.MethodPost, path: decide, key: "compliance", body: js(map[string]string{"decision": "approve"}),
			wantSt: http.StatusBadRequest, wantTyp: slugInvalid},
		{name: "path traversal ..%2F..%2Fetc", method: http.MethodGet, path: "/v1/onboardings/..%2F..%2Fetc", key: "onboarding",
			wantSt: http.StatusBadRequest, wantTyp: slugInvalid},
		{name: "path traversal %2e%2e", method: http.MethodGet, path: "/v1/onboardings/%2e%2e", key: "onboarding",
			wantSt: http.StatusBadRequest, wantTyp: slugInvalid},
		{name: "path traversal %2e%2e on restart", method: http.MethodPost, path: "/v1/onboardings/%2e%2e/restart", key: "onboarding",
			wantSt: http.StatusBadRequest, wantTyp: slugInvalid},
		{name: "path traversal ..%2F" + userID + " on cancel", method: http.MethodPost, path: "/v1/onboardings/..%2F" + userID + "/cancel", key: "onboarding",
			wantSt: http.StatusBadRequest, wantTyp: slugInvalid},
		{name: "literal ../../etc (redirected to the clean path)", method: http.MethodGet, path: "/v1/onboardings/../../etc", key: "onboarding",
			wantSt: http.StatusTemporaryRedirect, wantLocation: "/etc"},
		{name: "the clean path /etc", method: http.MethodGet, path: "/etc", key: "onboarding",
			wantSt: http.StatusNotFound, wantTyp: slugNotFound},
		{name: "user id 1' OR '1'='1 in the path", method: http.MethodGet, path: "/v1/onboardings/1'%20OR%20'1'='1/details", key: "compliance",
			wantSt: http.StatusBadRequest, wantTyp: slugInvalid},
		{name: `user id "; DROP in the path`, method: http.MethodPost, path: "/v1/onboardings/%22%3B%20DROP%20TABLE%20users%3B--/cancel", key: "onboarding",
			wantSt: http.StatusBadRequest, wantTyp: slugInvalid},
		{name: "user id with a newline in the path", method: http.MethodPost, path: "/v1/onboardings/" + userID + "%0A/restart", key: "onboarding",
			wantSt: http.StatusBadRequest, wantTyp: slugInvalid},
		{name: "user id with %00 in the path", method: http.MethodPost, path: "/v1/onboardings/" + userID + "%00/cancel", key: "onboarding",
			wantSt: http.StatusBadRequest, wantTyp: slugInvalid},
		{name: "user id with %2500 in the path", method: http.MethodGet, path: "/v1/onboardings/" + userID + "%2500", key: "onboarding",
			wantSt: http.StatusBadRequest, wantTyp: slugInvalid},
		{name: `user id "; DROP in the body`, method: http.MethodPost, path: create, key: "onboarding",
			body: js(map[string]string{"userId": `"; DROP TABLE users; --`}), wantSt: http.StatusBadRequest, wantTyp: slugInvalid},
		{name: "user id with a newline in the body", method: http.MethodPost, path: create, key: "onboarding",
			body: js(map[string]string{"userId": userID + "\n"}), wantSt: http.StatusBadRequest, wantTyp: slugInvalid},
		{name: "user id of 65 characters", method: http.MethodPost, path: create, key: "onboarding",
			body: js(map[string]string{"userId": strings.Repeat("9", 65)}), wantSt: http.StatusBadRequest, wantTyp: slugInvalid},
		{name: "redirectUrl javascript:alert(1)", method: http.MethodPost, path: create, key: "onboarding",
			body: js(map[string]string{"userId": userID, "redirectUrl": "javascript:alert(1)"}), wantSt: http.StatusBadRequest, wantTyp: slugInvalid},
		{name: "redirectUrl with credentials", method: http.MethodPost, path: create, key: "onboarding",
			body: js(map[string]string{"userId": userID, "redirectUrl": "https://user:pass@evil.example/"}), wantSt: http.StatusBadRequest, wantTyp: slugInvalid},
		{name: "country DEU", method: http.MethodPost, path: create, key: "onboarding",
			body: js(map[string]string{"userId": userID, "country": "DEU"}), wantSt: http.StatusBadRequest, wantTyp: slugInvalid},
		// The list API builds its visibility query from checked values only.
		{name: "list: quote in a state", method: http.MethodGet, path: create + "?state=AWAITING_USER'%20OR%20'1'='1", key: "compliance",
			wantSt: http.StatusBadRequest, wantTyp: slugInvalid},
		{name: "list: state closing the IN list", method: http.MethodGet, path: create + "?state=AWAITING_USER')%20OR%20(QESState%20!%3D%20'", key: "compliance",
			wantSt: http.StatusBadRequest, wantTyp: slugInvalid},
		{name: "list: country injection", method: http.MethodGet, path: create + "?country=DE'%20OR%20WorkflowType%20!%3D%20'", key: "compliance",
			wantSt: http.StatusBadRequest, wantTyp: slugInvalid},
		{name: "list: status injection", method: http.MethodGet, path: create + "?status=CLOSED'%20OR%20'1'='1", key: "onboarding",
			wantSt: http.StatusBadRequest, wantTyp: slugInvalid},
		{name: "list: date injection", method: http.MethodGet, path: create + "?updatedBefore=2026-12-01T00:00:00Z'%20OR%20'1'='1", key: "compliance",
			wantSt: http.StatusBadRequest, wantTyp: slugInvalid},
		{name: "list: raw visibility query", method: http.MethodGet, path: create + "?query=WorkflowType%20!%3D%20''", key: "compliance",
			wantSt: http.StatusBadRequest, wantTyp: slugInvalid},
		{name: "list: forged page token", method: http.MethodGet, path: create + "?pageToken=AQAAAAAAAAAA" + "eyJ0b2tlbiI6MX0", key: "compliance",
			wantSt: http.StatusBadRequest, wantTyp: slugInvalid},
		{name: "list: page size 1e9", method: http.MethodGet, path: create + "?pageSize=1000000000", key: "compliance",
			wantSt: http.StatusBadRequest, wantTyp: slugInvalid},
		{name: "list: internal state with the onboarding key", method: http.MethodGet, path: create + "?state=FRAUD_SUSPECTED", key: "onboarding",
			wantSt: http.StatusForbidden, wantTyp: slugForbidden},
		{name: "DELETE on an onboarding", method: http.MethodDelete, path: status, key: "onboarding",
			wantSt: http.StatusMethodNotAllowed, wantTyp: slugMethodNotAllowed},
		{name: "PUT on the collection", method: http.MethodPut, path: create, key: "onboarding", body: js(map[string]string{"userId": userID}),
			wantSt: http.StatusMethodNotAllowed, wantTyp: slugMethodNotAllowed},
		{name: "GET on restart", method: http.MethodGet, path: restart, key: "onboarding",
			wantSt: http.StatusMethodNotAllowed, wantTyp: slugMethodNotAllowed},
	}
}

// sendAPI sends one case to the API with the key it names.
func sendAPI(t *testing.T, s *devstack.Stack, c apiCase) response {
	t.Helper()
	h := map[string]string{}
	switch c.key {
	case "none":
	case "wrong":
		h["Authorization"] = "Bearer not-a-key"
	case "onboarding":
		h["Authorization"] = "Bearer " + s.Credentials.OnboardingKey
	case "compliance":
		h["Authorization"] = "Bearer " + s.Credentials.ComplianceKey
	default:
		t.Fatalf("unknown key %q", c.key)
	}
	if c.body != nil {
		h["Content-Type"] = "application/json"
	}
	return send(t, request{method: c.method, url: s.APIURL, rawPath: c.path, header: h, body: c.body})
}

// checkAPIAnswer asserts the documented status and problem type, and that a problem's detail
// echoes no request value.
func checkAPIAnswer(t *testing.T, c apiCase, resp response) {
	t.Helper()
	require.Equal(t, c.wantSt, resp.status, "answer: %.300s", resp.body)
	if c.wantLocation != "" {
		require.Equal(t, c.wantLocation, resp.header.Get("Location"))
	}
	if c.wantTyp == "" {
		return
	}
	require.Equal(t, "application/problem+json", resp.header.Get("Content-Type"), "answer: %.300s", resp.body)
	var p struct {
		Type   string `json:"type"`
		Status int    `json:"status"`
		Detail string `json:"detail"`
	}
	require.NoError(t, json.Unmarshal(resp.body, &p), "answer: %.300s", resp.body)
	require.Equal(t, starter.ProblemTypePrefix+c.wantTyp, p.Type)
	require.Equal(t, c.wantSt, p.Status)
	// Field names may be named (`unknown field "isAdmin"`), values never.
	for _, bad := range []string{"javascript:", "user:pass", "DROP", "\xff", "1e400", "caf"} {
		require.NotContains(t, p.Detail, bad, "the problem echoes request data")
	}
}
