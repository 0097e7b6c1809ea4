package treezorsim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/qesflow/qesflow/treezor"
)

func TestTokenEndpoint(t *testing.T) {
	h := newHarness(t)
	good := url.Values{"grant_type": {"client_credentials"}, "client_id": {testClientID}, "client_secret": {testClientSecret}}
	withScope := url.Values{"grant_type": {"client_credentials"}, "client_id": {testClientID}, "client_secret": {testClientSecret}, "scope": {"read_only read_write"}}
	badSecret := url.Values{"grant_type": {"client_credentials"}, "client_id": {testClientID}, "client_secret": {"nope"}}
	badGrant := url.Values{"grant_type": {"password"}, "client_id": {testClientID}, "client_secret": {testClientSecret}}
	badScope := url.Values{"grant_type": {"client_credentials"}, "client_id": {testClientID}, "client_secret": {testClientSecret}, "scope": {"everything"}}

	tests := []struct {
		name      string
		req       func() *http.Request
		status    int
		wantError string
	}{
		{"urlencoded", func() *http.Request { return formRequest(t, h.srv.URL, good) }, http.StatusOK, ""},
		{"urlencoded with scope", func() *http.Request { return formRequest(t, h.srv.URL, withScope) }, http.StatusOK, ""},
		{"multipart", func() *http.Request { return multipartRequest(t, h.srv.URL, good) }, http.StatusOK, ""},
		{"basic auth", func() *http.Request {
			r := formRequest(t, h.srv.URL, url.Values{"grant_type": {"client_credentials"}})
			r.SetBasicAuth(testClientID, testClientSecret)
			return r
		}, http.StatusOK, ""},
		{"wrong secret", func() *http.Request { return formRequest(t, h.srv.URL, badSecret) }, http.StatusUnauthorized, "invalid_client"},
		{"wrong secret multipart", func() *http.Request { return multipartRequest(t, h.srv.URL, badSecret) }, http.StatusUnauthorized, "invalid_client"},
		{"wrong grant", func() *http.Request { return formRequest(t, h.srv.URL, badGrant) }, http.StatusBadRequest, "unsupported_grant_type"},
		{"unknown scope", func() *http.Request { return formRequest(t, h.srv.URL, badScope) }, http.StatusBadRequest, "invalid_scope"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := http.DefaultClient.Do(tc.req())
			require.NoError(t, err)
			defer resp.Body.Close()
			require.Equal(t, tc.status, resp.StatusCode)
			var body map[string]any
			require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
			if tc.wantError != "" {
				require.Equal(t, tc.wantError, body["error"])
				return
			}
			require.Equal(t, "Bearer", body["token_type"])
			require.EqualValues(t, 3600, body["expires_in"])
			require.NotEmpty(t, body["access_token"])
		})
	}
	require.Equal(t, 4, h.sim.Stats().TokensIssued)
}

func formRequest(t *testing.T, base string, form url.Values) *http.Request {
	req, err := http.NewRequest(http.MethodPost, base+"/oauth/token", strings.NewReader(form.Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return req
}

func multipartRequest(t *testing.T, base string, form url.Values) *http.Request {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, vs := range form {
		for _, v := range vs {
			require.NoError(t, mw.WriteField(k, v))
		}
	}
	require.NoError(t, mw.Close())
	req, err := http.NewRequest(http.MethodPost, base+"/oauth/token", &buf)
	require.NoError(t, err)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return req
}

func TestInitiateQESAnswersBothShapes(t *testing.T) {
	for _, flat := range []bool{false, true} {
		t.Run(map[bool]string{false: "nested", true: "flat"}[flat], func(t *testing.T) {
			h := newHarness(t, func(c *Config) { c.QESResponseFlat = flat })
			h.sim.CreateUser(completeUser("1001", "FR"))

			ident, err := h.client.InitiateQES(context.Background(), "1001", "https://app.example.com/back", "")
			require.NoError(t, err)
			require.NotEmpty(t, ident.IdentificationID)
			require.Equal(t, h.srv.URL+"/identifications/"+ident.IdentificationID, ident.IdentificationURL)

			id, u, ok := h.sim.LastIdentification("1001")
			require.True(t, ok)
			require.Equal(t, ident.IdentificationID, id)
			require.Equal(t, ident.IdentificationURL, u)

			// The raw answer has the configured shape.
			status, body := h.do(http.MethodPost, "/v1/users/1001/qes", h.token(""), map[string]string{})
			require.Equal(t, http.StatusCreated, status)
			var raw map[string]json.RawMessage
			require.NoError(t, json.Unmarshal(body, &raw))
			_, nested := raw["identification"]
			_, top := raw["identificationId"]
			require.Equal(t, !flat, nested)
			require.Equal(t, flat, top)
			require.Equal(t, 2, h.sim.Stats().IdentificationsCreated["1001"])
		})
	}
}

func TestInitiateQESRefusesIncompleteUserUntilFixed(t *testing.T) {
	h := newHarness(t)
	tok := h.token("")
	status, body := h.do(http.MethodPost, "/v1/users", tok, map[string]any{
		"firstname": "Ada", "lastname": "Lovelace", "country": "FR",
	})
	require.Equal(t, http.StatusOK, status, string(body))
	var created struct {
		Users []struct {
			UserID string `json:"userId"`
		} `json:"users"`
	}
	require.NoError(t, json.Unmarshal(body, &created))
	require.Len(t, created.Users, 1)
	userID := created.Users[0].UserID
	require.NotEmpty(t, userID)

	_, err := h.client.InitiateQES(context.Background(), userID, "", "attempt-1")
	var apiErr *treezor.APIError
	require.ErrorAs(t, err, &apiErr)
	require.Equal(t, http.StatusPreconditionRequired, apiErr.StatusCode)
	require.True(t, apiErr.UserDataIncomplete())
	require.Equal(t, []string{"email", "phone"}, apiErr.MissingFields)
	require.False(t, treezor.IsRetryable(err))
	_, _, ok := h.sim.LastIdentification(userID)
	require.False(t, ok, "a refused initiation creates no identification")

	status, body = h.do(http.MethodPut, "/v1/users/"+userID, tok, map[string]any{"email": "ada@example.com", "phone": "+33612345678"})
	require.Equal(t, http.StatusOK, status, string(body))

	// Same accessTag: a refused answer is not replayed, the fixed user gets a 201.
	ident, err := h.client.InitiateQES(context.Background(), userID, "", "attempt-1")
	require.NoError(t, err)
	require.NotEmpty(t, ident.IdentificationID)
	require.Equal(t, 1, h.sim.Stats().IdentificationsCreated[userID])
}

func TestUsersEndpoints(t *testing.T) {
	h := newHarness(t)
	tok := h.token("")
	status, _ := h.do(http.MethodPost, "/v1/users", tok, map[string]any{"userId": 777, "firstname": "A"})
	require.Equal(t, http.StatusOK, status)
	u, ok := h.sim.User("777")
	require.True(t, ok, "a numeric userId is accepted")
	require.Equal(t, "A", u.Firstname)

	tests := []struct {
		name   string
		method string
		path   string
		body   any
		status int
	}{
		{"duplicate id", http.MethodPost, "/v1/users", map[string]any{"userId": "777"}, http.StatusConflict},
		{"invalid id", http.MethodPost, "/v1/users", map[string]any{"userId": "a/b"}, http.StatusBadRequest},
		{"broken JSON", http.MethodPost, "/v1/users", "{", http.StatusBadRequest},
		{"update unknown", http.MethodPut, "/v1/users/404404", map[string]any{"email": "x@example.com"}, http.StatusNotFound},
		{"get", http.MethodGet, "/v1/users/777", nil, http.StatusOK},
		{"get unknown", http.MethodGet, "/v1/users/404404", nil, http.StatusNotFound},
		{"qes unknown user", http.MethodPost, "/v1/users/404404/qes", map[string]any{}, http.StatusNotFound},
		{"qes bad redirect", http.MethodPost, "/v1/users/777/qes", map[string]any{"redirectUrl": "javascript:alert(1)"}, http.StatusBadRequest},
		{"qes long accessTag", http.MethodPost, "/v1/users/777/qes", map[string]any{"accessTag": strings.Repeat("x", 251)}, http.StatusBadRequest},
		{"kyc review unknown user", http.MethodPut, "/v1/users/404404/Kycreview", nil, http.StatusNotFound},
		{"download unknown document", http.MethodGet, "/v1/documents/404404/download", nil, http.StatusNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var status int
			var body []byte
			if s, isString := tc.body.(string); isString {
				req, err := http.NewRequest(tc.method, h.srv.URL+tc.path, strings.NewReader(s))
				require.NoError(t, err)
				req.Header.Set("Authorization", "Bearer "+tok)
				resp, err := http.DefaultClient.Do(req)
				require.NoError(t, err)
				body, _ = io.ReadAll(resp.Body)
				resp.Body.Close()
				status = resp.StatusCode
			} else {
				status, body = h.do(tc.method, tc.path, tok, tc.body)
			}
			require.Equal(t, tc.status, status, string(body))
			if status >= 400 {
				var e struct {
					Errors []map[string]string `json:"errors"`
				}
				require.NoError(t, json.Unmarshal(body, &e))
				require.Len(t, e.Errors, 1)
				require.NotEmpty(t, e.Errors[0]["message"])
			}
		})
	}
	require.Empty(t, h.sim.Stats().IdentificationsCreated, "no failed call created an identification")
}

func TestAccessTagReplayReturnsTheFirstIdentification(t *testing.T) {
	h := newHarness(t)
	h.sim.CreateUser(completeUser("2001", "FR"))
	ctx := context.Background()

	first, err := h.client.InitiateQES(ctx, "2001", "", "qes-2001-attempt-1")
	require.NoError(t, err)
	again, err := h.client.InitiateQES(ctx, "2001", "", "qes-2001-attempt-1")
	require.NoError(t, err)
	require.Equal(t, first, again)

	// The query parameter works as well as the body field.
	status, body := h.do(http.MethodPost, "/v1/users/2001/qes?accessTag=qes-2001-attempt-1", h.token(""), map[string]string{})
	require.Equal(t, http.StatusCreated, status)
	require.Contains(t, string(body), first.IdentificationID)

	stats := h.sim.Stats()
	require.Equal(t, 1, stats.IdentificationsCreated["2001"])
	require.Equal(t, 2, stats.AccessTagReplays)

	second, err := h.client.InitiateQES(ctx, "2001", "", "qes-2001-attempt-2")
	require.NoError(t, err)
	require.NotEqual(t, first.IdentificationID, second.IdentificationID)
	require.Equal(t, 2, h.sim.Stats().IdentificationsCreated["2001"])

	// After 24 h the tag is forgotten.
	h.clock.Advance(24*time.Hour + time.Minute)
	third, err := h.client.InitiateQES(ctx, "2001", "", "qes-2001-attempt-1")
	require.NoError(t, err)
	require.NotEqual(t, first.IdentificationID, third.IdentificationID)
	require.Equal(t, 3, h.sim.Stats().IdentificationsCreated["2001"])
}

func TestKYCReviewRequest(t *testing.T) {
	h := newHarness(t)
	h.sim.CreateUser(completeUser("3001", "FR"))
	ctx := context.Background()

	res, err := h.client.RequestKYCReview(ctx, "3001", "kyc-3001")
	require.NoError(t, err)
	require.Equal(t, treezor.KYCReviewResult{UserID: "3001", KYCReview: treezor.KYCReviewPending, KYCLevel: 0}, res)

	again, err := h.client.RequestKYCReview(ctx, "3001", "kyc-3001")
	require.NoError(t, err)
	require.Equal(t, res, again)
	require.Equal(t, 1, h.sim.Stats().KYCReviewRequests["3001"], "an accessTag replay is not a new request")

	// Numbers come as strings, like Treezor's.
	status, body := h.do(http.MethodPut, "/v1/users/3001/kycreview?accessTag=kyc-3001", h.token(""), nil)
	require.Equal(t, http.StatusOK, status)
	var raw struct {
		Users []map[string]any `json:"users"`
	}
	require.NoError(t, json.Unmarshal(body, &raw))
	require.Equal(t, map[string]any{"userId": "3001", "userTypeId": "1", "kycReview": "1", "kycLevel": "0", "kycReviewComment": ""}, raw.Users[0])

	review, _, ok := h.sim.KYCStatus("3001")
	require.True(t, ok)
	require.Equal(t, treezor.KYCReviewPending, review)
	require.Equal(t, []string{"3001"}, h.sim.PendingKYCReviews())
}

func TestDocumentDownloadAndExpiry(t *testing.T) {
	h := newHarness(t)
	ident := h.initiate("4001", "FR")
	require.NoError(t, h.sim.Act(ident.IdentificationID, Success()))
	snap, ok := h.sim.Identification(ident.IdentificationID)
	require.True(t, ok)
	require.Len(t, snap.Documents, 2)
	ctx := context.Background()

	for _, docID := range snap.Documents {
		u, err := h.client.DocumentDownloadURL(ctx, docID)
		require.NoError(t, err)
		require.True(t, strings.HasPrefix(u, h.srv.URL+"/files/"+docID+"?"))
		h.clock.Advance(29 * time.Second)
		got := download(t, h.client, u)
		want, ok := h.sim.DocumentContent(docID)
		require.True(t, ok)
		require.Equal(t, want, got)
		require.True(t, bytes.HasPrefix(got, []byte("%PDF-")))

		h.clock.Advance(2 * time.Second)
		_, err = h.client.DownloadDocument(ctx, u)
		var apiErr *treezor.APIError
		require.ErrorAs(t, err, &apiErr)
		require.Equal(t, http.StatusForbidden, apiErr.StatusCode, "presigned URL expired after 30 s")
	}
	a, _ := h.sim.DocumentContent(snap.Documents[0])
	b, _ := h.sim.DocumentContent(snap.Documents[1])
	require.NotEqual(t, a, b)

	// A tampered signature or another document's signature is refused.
	u, err := h.client.DocumentDownloadURL(ctx, snap.Documents[0])
	require.NoError(t, err)
	for _, bad := range []string{
		strings.Replace(u, "sig=", "sig=0", 1),
		strings.Replace(u, "/files/"+snap.Documents[0], "/files/"+snap.Documents[1], 1),
		strings.Split(u, "?")[0],
	} {
		_, err := h.client.DownloadDocument(ctx, bad)
		var apiErr *treezor.APIError
		require.ErrorAs(t, err, &apiErr)
		require.Equal(t, http.StatusForbidden, apiErr.StatusCode)
	}
}

func download(t *testing.T, c *treezor.Client, u string) []byte {
	t.Helper()
	body, err := c.DownloadDocument(context.Background(), u)
	require.NoError(t, err)
	defer body.Close()
	b, err := io.ReadAll(body)
	require.NoError(t, err)
	return b
}

func TestScopes(t *testing.T) {
	h := newHarness(t)
	ident := h.initiate("5001", "FR")
	require.NoError(t, h.sim.Act(ident.IdentificationID, Success()))
	snap, _ := h.sim.Identification(ident.IdentificationID)
	docPath := "/v1/documents/" + snap.Documents[0] + "/download"

	readOnly, readWrite, both := h.token("read_only"), h.token("read_write"), h.token("")
	tests := []struct {
		name   string
		token  string
		method string
		path   string
		status int
	}{
		{"read_only may read", readOnly, http.MethodGet, docPath, http.StatusOK},
		{"read_only may not initiate", readOnly, http.MethodPost, "/v1/users/5001/qes", http.StatusForbidden},
		{"read_only may not request a review", readOnly, http.MethodPut, "/v1/users/5001/Kycreview", http.StatusForbidden},
		{"read_write may not read", readWrite, http.MethodGet, docPath, http.StatusForbidden},
		{"read_write may not look a user up", readWrite, http.MethodGet, "/v1/users/5001", http.StatusForbidden},
		{"read_only may look a user up", readOnly, http.MethodGet, "/v1/users/5001", http.StatusOK},
		{"default scopes may read", both, http.MethodGet, docPath, http.StatusOK},
		{"read_write may initiate", readWrite, http.MethodPost, "/v1/users/5001/qes", http.StatusCreated},
		{"default scopes may write", both, http.MethodPut, "/v1/users/5001/Kycreview", http.StatusOK},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, body := h.do(tc.method, tc.path, tc.token, map[string]string{})
			if tc.method == http.MethodGet {
				status, body = h.do(tc.method, tc.path, tc.token, nil)
			}
			require.Equal(t, tc.status, status, string(body))
		})
	}

	// The real client with a read_only token gets a non-retryable 403.
	c, err := treezor.NewClient(treezor.Config{BaseURL: h.srv.URL, ClientID: testClientID, ClientSecret: testClientSecret, Scopes: []string{"read_only"}})
	require.NoError(t, err)
	_, err = c.InitiateQES(context.Background(), "5001", "", "")
	var apiErr *treezor.APIError
	require.ErrorAs(t, err, &apiErr)
	require.Equal(t, http.StatusForbidden, apiErr.StatusCode)
	require.False(t, treezor.IsRetryable(err))
	_, err = c.DocumentDownloadURL(context.Background(), snap.Documents[0])
	require.NoError(t, err)

	// A read_write-only client cannot download; the default scopes can do both.
	c, err = treezor.NewClient(treezor.Config{BaseURL: h.srv.URL, ClientID: testClientID, ClientSecret: testClientSecret, Scopes: []string{"read_write"}})
	require.NoError(t, err)
	_, err = c.DocumentDownloadURL(context.Background(), snap.Documents[0])
	require.ErrorAs(t, err, &apiErr)
	require.Equal(t, http.StatusForbidden, apiErr.StatusCode)
	c, err = treezor.NewClient(treezor.Config{BaseURL: h.srv.URL, ClientID: testClientID, ClientSecret: testClientSecret})
	require.NoError(t, err)
	_, err = c.DocumentDownloadURL(context.Background(), snap.Documents[0])
	require.NoError(t, err)
	_, err = c.InitiateQES(context.Background(), "5001", "", "")
	require.NoError(t, err)
}

func TestBearerTokenChecks(t *testing.T) {
	h := newHarness(t)
	h.sim.CreateUser(completeUser("6001", "FR"))
	tok := h.token("")

	status, _ := h.do(http.MethodPost, "/v1/users/6001/qes", "", map[string]string{})
	require.Equal(t, http.StatusUnauthorized, status, "no token")
	status, _ = h.do(http.MethodPost, "/v1/users/6001/qes", "not-a-token", map[string]string{})
	require.Equal(t, http.StatusUnauthorized, status, "unknown token")
	status, _ = h.do(http.MethodPost, "/v1/users/6001/qes", tok, map[string]string{})
	require.Equal(t, http.StatusCreated, status)

	h.clock.Advance(time.Hour)
	status, _ = h.do(http.MethodPost, "/v1/users/6001/qes", tok, map[string]string{})
	require.Equal(t, http.StatusUnauthorized, status, "expired token")
	require.Equal(t, 1, h.sim.Stats().IdentificationsCreated["6001"])

	// The client recovers from an expired token by fetching a new one.
	_, err := h.client.InitiateQES(context.Background(), "6001", "", "")
	require.NoError(t, err)
	h.clock.Advance(2 * time.Hour)
	_, err = h.client.InitiateQES(context.Background(), "6001", "", "")
	require.NoError(t, err)
	require.Equal(t, 3, h.sim.Stats().IdentificationsCreated["6001"])

	// Wrong client credentials: the client reports a non-retryable 401.
	c, err := treezor.NewClient(treezor.Config{BaseURL: h.srv.URL, ClientID: testClientID, ClientSecret: "wrong"})
	require.NoError(t, err)
	_, err = c.InitiateQES(context.Background(), "6001", "", "")
	var apiErr *treezor.APIError
	require.True(t, errors.As(err, &apiErr), "got %v", err)
	require.Equal(t, http.StatusUnauthorized, apiErr.StatusCode)
}
