package activities

import (
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/qesflow/qesflow/treezor"
)

// fakeTreezor is an httptest Treezor whose API answers come from handlers set per test.
type fakeTreezor struct {
	srv      *httptest.Server
	api      map[string]http.HandlerFunc // "METHOD /path" -> handler
	qesCalls atomic.Int32
	// token, when set, answers the token endpoint instead of a valid token.
	token http.HandlerFunc
}

func newFakeTreezor(t *testing.T) *fakeTreezor {
	t.Helper()
	f := &fakeTreezor{api: map[string]http.HandlerFunc{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeTreezor) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/oauth/token" && f.token != nil {
		f.token(w, r)
		return
	}
	if r.URL.Path == "/oauth/token" {
		writeJSON(w, http.StatusOK, map[string]any{"token_type": "Bearer", "expires_in": 3600, "access_token": "tok"})
		return
	}
	h, ok := f.api[r.Method+" "+r.URL.Path]
	if !ok {
		writeJSON(w, http.StatusNotFound, map[string]any{"errors": []map[string]any{{"type": "not_found", "code": "404", "message": "no route"}}})
		return
	}
	if strings.HasPrefix(r.URL.Path, "/v1/") && r.Header.Get("Authorization") != "Bearer tok" {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	h(w, r)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (f *fakeTreezor) client(t *testing.T) *treezor.Client {
	t.Helper()
	c, err := treezor.NewClient(treezor.Config{BaseURL: f.srv.URL, ClientID: "id", ClientSecret: "secret"})
	require.NoError(t, err)
	return c
}

// activityEnv runs acts in the SDK's activity test environment.
func activityEnv(acts *Activities) *testsuite.TestActivityEnvironment {
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	env.RegisterActivity(acts)
	return env
}

func applicationError(t *testing.T, err error) *temporal.ApplicationError {
	t.Helper()
	var appErr *temporal.ApplicationError
	require.True(t, errors.As(err, &appErr), "want an ApplicationError, got %T: %v", err, err)
	return appErr
}

func TestInitiateQESReturnsTheIdentification(t *testing.T) {
	f := newFakeTreezor(t)
	var gotTag string
	f.api["POST /v1/users/42/qes"] = func(w http.ResponseWriter, r *http.Request) {
		var body map[string]string
		_ = json.NewDecoder(r.Body).Decode(&body)
		gotTag = body["accessTag"]
		writeJSON(w, http.StatusCreated, map[string]any{"identification": map[string]any{
			"identificationId": "ident-1", "identificationURL": "https://go.idnow.example/ident-1"}})
	}
	env := activityEnv(&Activities{Treezor: f.client(t)})
	val, err := env.ExecuteActivity(InitiateQESName, InitiateQESInput{UserID: "42", Attempt: 1, AccessTag: AccessTag("42", "run-1", StepQES, 1)})
	require.NoError(t, err)
	var out InitiateQESOutput
	require.NoError(t, val.Get(&out))
	require.Equal(t, InitiateQESOutput{IdentificationID: "ident-1", IdentificationURL: "https://go.idnow.example/ident-1"}, out)
	require.Equal(t, "qesflow:42:run-1:qes:1", gotTag)
}

func TestInitiateQESErrorMapping(t *testing.T) {
	cases := []struct {
		name      string
		status    int
		body      any
		errType   string
		retryable bool
		check     func(t *testing.T, appErr *temporal.ApplicationError)
	}{
		{
			name:    "428 user data incomplete",
			status:  http.StatusPreconditionRequired,
			body:    map[string]any{"errors": []map[string]any{{"type": "invalid_request", "code": "428", "message": "The user's email and phone must be set"}}},
			errType: ErrTypeUserDataIncomplete,
			check: func(t *testing.T, appErr *temporal.ApplicationError) {
				var fields []string
				require.NoError(t, appErr.Details(&fields))
				require.Equal(t, []string{"email", "phone"}, fields)
			},
		},
		{
			name:      "503 unavailable",
			status:    http.StatusServiceUnavailable,
			body:      map[string]any{"error": "maintenance"},
			errType:   ErrTypeTreezorUnavailable,
			retryable: true,
		},
		{
			name:      "429 too many requests",
			status:    http.StatusTooManyRequests,
			body:      map[string]any{"error": "slow down"},
			errType:   ErrTypeTreezorUnavailable,
			retryable: true,
		},
		{
			name:    "404 unknown user",
			status:  http.StatusNotFound,
			body:    map[string]any{"errors": []map[string]any{{"type": "not_found", "code": "user_not_found", "message": "no such user"}}},
			errType: ErrTypeTreezorUserUnknown,
			check: func(t *testing.T, appErr *temporal.ApplicationError) {
				var details RejectionDetails
				require.NoError(t, appErr.Details(&details))
				require.Equal(t, RejectionDetails{StatusCode: 404, Code: "user_not_found"}, details)
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeTreezor(t)
			f.api["POST /v1/users/42/qes"] = func(w http.ResponseWriter, r *http.Request) {
				f.qesCalls.Add(1)
				writeJSON(w, tc.status, tc.body)
			}
			env := activityEnv(&Activities{Treezor: f.client(t)})
			_, err := env.ExecuteActivity(InitiateQESName, InitiateQESInput{UserID: "42", Attempt: 1, AccessTag: "tag"})
			require.Error(t, err)
			appErr := applicationError(t, err)
			require.Equal(t, tc.errType, appErr.Type())
			require.Equal(t, !tc.retryable, appErr.NonRetryable())
			require.NotContains(t, err.Error(), "secret")
			if tc.check != nil {
				tc.check(t, appErr)
			}
		})
	}
}

// TestFailuresThatAreOursAreRetryable: answers that say nothing about the user (our
// credentials, certificate, scopes or base URL) are retryable ErrTypeTreezorUnavailable with
// the reason in the details; answers about the user's data are not.
func TestFailuresThatAreOursAreRetryable(t *testing.T) {
	treezorErr := func(code string) map[string]any {
		return map[string]any{"errors": []map[string]any{{"type": "invalid_request", "code": code, "message": "refused"}}}
	}
	html := func(status int) http.HandlerFunc {
		return func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(status)
			_, _ = w.Write([]byte("<html><body>Not Found</body></html>"))
		}
	}
	cases := []struct {
		name    string
		token   http.HandlerFunc
		qes     http.HandlerFunc
		errType string
		reason  string
	}{
		{name: "401 after a token refresh", qes: func(w http.ResponseWriter, _ *http.Request) {
			writeJSON(w, http.StatusUnauthorized, treezorErr("invalid_token"))
		}, errType: ErrTypeTreezorUnavailable, reason: treezor.ReasonAuth},
		{name: "403 scope not granted", qes: func(w http.ResponseWriter, _ *http.Request) {
			writeJSON(w, http.StatusForbidden, treezorErr("insufficient_scope"))
		}, errType: ErrTypeTreezorUnavailable, reason: treezor.ReasonForbidden},
		{name: "token request refused", token: func(w http.ResponseWriter, _ *http.Request) {
			writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_client"})
		}, errType: ErrTypeTreezorUnavailable, reason: treezor.ReasonTokenRefused},
		{name: "token request refused for its scope", token: func(w http.ResponseWriter, _ *http.Request) {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_scope"})
		}, errType: ErrTypeTreezorUnavailable, reason: treezor.ReasonTokenRefused},
		{name: "HTML 404 from a wrong base URL", qes: html(http.StatusNotFound),
			errType: ErrTypeTreezorUnavailable, reason: treezor.ReasonNotTreezor},
		{name: "HTML 200 from a wrong base URL", qes: html(http.StatusOK),
			errType: ErrTypeTreezorUnavailable, reason: treezor.ReasonMalformed},
		{name: "400 on the user's data", qes: func(w http.ResponseWriter, _ *http.Request) {
			writeJSON(w, http.StatusBadRequest, treezorErr("invalid_phone"))
		}, errType: ErrTypeTreezorRejected},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeTreezor(t)
			f.token = tc.token
			f.api["POST /v1/users/42/qes"] = tc.qes
			if tc.qes == nil {
				f.api["POST /v1/users/42/qes"] = func(w http.ResponseWriter, _ *http.Request) { t.Error("no token, no call") }
			}
			env := activityEnv(&Activities{Treezor: f.client(t)})
			_, err := env.ExecuteActivity(InitiateQESName, InitiateQESInput{UserID: "42", Attempt: 1, AccessTag: "tag"})
			appErr := applicationError(t, err)
			require.Equal(t, tc.errType, appErr.Type(), "%v", err)
			require.Equal(t, tc.errType != ErrTypeTreezorUnavailable, appErr.NonRetryable())
			if tc.reason != "" {
				var details UnavailableDetails
				require.NoError(t, appErr.Details(&details))
				require.Equal(t, tc.reason, details.Reason)
				require.Contains(t, err.Error(), "("+tc.reason+")")
			}
		})
	}

	t.Run("connection refused", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		addr := ln.Addr().String()
		require.NoError(t, ln.Close())
		c, err := treezor.NewClient(treezor.Config{BaseURL: "http://" + addr, ClientID: "id", ClientSecret: "secret"})
		require.NoError(t, err)
		_, err = activityEnv(&Activities{Treezor: c}).ExecuteActivity(InitiateQESName, InitiateQESInput{UserID: "42", Attempt: 1, AccessTag: "tag"})
		appErr := applicationError(t, err)
		require.Equal(t, ErrTypeTreezorUnavailable, appErr.Type())
		require.False(t, appErr.NonRetryable())
	})
	t.Run("TLS handshake failure", func(t *testing.T) {
		srv := httptest.NewTLSServer(http.NotFoundHandler()) // a certificate the client does not trust
		t.Cleanup(srv.Close)
		c, err := treezor.NewClient(treezor.Config{BaseURL: srv.URL, ClientID: "id", ClientSecret: "secret"})
		require.NoError(t, err)
		_, err = activityEnv(&Activities{Treezor: c}).ExecuteActivity(InitiateQESName, InitiateQESInput{UserID: "42", Attempt: 1, AccessTag: "tag"})
		appErr := applicationError(t, err)
		require.Equal(t, ErrTypeTreezorUnavailable, appErr.Type())
		require.False(t, appErr.NonRetryable())
		var details UnavailableDetails
		require.NoError(t, appErr.Details(&details))
		require.Equal(t, treezor.ReasonTLS, details.Reason)
		require.Contains(t, err.Error(), "TLS handshake failed")
	})
}

func TestActivitiesRejectEmptyInput(t *testing.T) {
	env := activityEnv(&Activities{Treezor: newFakeTreezor(t).client(t)})
	_, err := env.ExecuteActivity(InitiateQESName, InitiateQESInput{UserID: " ", AccessTag: "t"})
	require.Equal(t, ErrTypeInvalidArgument, applicationError(t, err).Type())
	_, err = env.ExecuteActivity(RequestKYCReviewName, RequestKYCReviewInput{UserID: "42"})
	require.Equal(t, ErrTypeInvalidArgument, applicationError(t, err).Type())
	_, err = env.ExecuteActivity(DownloadQESDocumentName, DownloadInput{UserID: "42"})
	require.Equal(t, ErrTypeInvalidArgument, applicationError(t, err).Type())
}

func TestRequestKYCReviewDecodesLenientAnswer(t *testing.T) {
	f := newFakeTreezor(t)
	f.api["PUT /v1/users/42/Kycreview"] = func(w http.ResponseWriter, r *http.Request) {
		var body map[string]string
		_ = json.NewDecoder(r.Body).Decode(&body)
		require.Equal(t, "qesflow:42:run-1:kycreview:1", body["accessTag"])
		writeJSON(w, http.StatusOK, map[string]any{"users": []map[string]any{{"userId": "42", "kycReview": "1", "kycLevel": "2"}}})
	}
	env := activityEnv(&Activities{Treezor: f.client(t)})
	val, err := env.ExecuteActivity(RequestKYCReviewName, RequestKYCReviewInput{UserID: "42", AccessTag: AccessTag("42", "run-1", StepKYCReview, 1)})
	require.NoError(t, err)
	var out RequestKYCReviewOutput
	require.NoError(t, val.Get(&out))
	require.Equal(t, RequestKYCReviewOutput{KYCReview: treezor.KYCReviewPending, KYCLevel: 2}, out)
}

func TestDownloadQESDocumentStoresTheFile(t *testing.T) {
	f := newFakeTreezor(t)
	content := []byte("%PDF signed by the QES")
	f.api["GET /v1/documents/doc-7/download"] = func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"url": f.srv.URL + "/presigned/doc-7?X-Amz-Signature=abc"})
	}
	f.api["GET /presigned/doc-7"] = func(w http.ResponseWriter, r *http.Request) {
		require.Empty(t, r.Header.Get("Authorization"), "the presigned URL gets no bearer token")
		_, _ = w.Write(content)
	}
	dir := t.TempDir()
	env := activityEnv(&Activities{Treezor: f.client(t), Store: FSDocumentStore{Dir: dir}})
	val, err := env.ExecuteActivity(DownloadQESDocumentName, DownloadInput{UserID: "42", DocumentID: "doc-7"})
	require.NoError(t, err)
	var out DownloadOutput
	require.NoError(t, val.Get(&out))
	require.Equal(t, sha(content), out.SHA256)
	require.EqualValues(t, len(content), out.Size)
	require.NotContains(t, out.StoredAs, "presigned")
	got, err := os.ReadFile(out.StoredAs)
	require.NoError(t, err)
	require.Equal(t, content, got)
}

func TestDownloadQESDocumentErrors(t *testing.T) {
	cases := []struct {
		name      string
		url       int // status of the download-URL call
		file      int // status of the presigned URL
		limit     int64
		errType   string
		retryable bool
	}{
		{name: "unknown document", url: http.StatusNotFound, errType: ErrTypeTreezorRejected},
		{name: "presigned URL expired", url: http.StatusOK, file: http.StatusForbidden, errType: ErrTypeDocumentURLExpired, retryable: true},
		{name: "storage unavailable", url: http.StatusOK, file: http.StatusBadGateway, errType: ErrTypeTreezorUnavailable, retryable: true},
		{name: "document too large", url: http.StatusOK, file: http.StatusOK, limit: 8, errType: ErrTypeDocumentTooLarge},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeTreezor(t)
			f.api["GET /v1/documents/doc-7/download"] = func(w http.ResponseWriter, r *http.Request) {
				if tc.url != http.StatusOK {
					writeJSON(w, tc.url, map[string]any{"errors": []map[string]any{{"type": "not_found", "code": "404", "message": "no document"}}})
					return
				}
				writeJSON(w, http.StatusOK, map[string]any{"url": f.srv.URL + "/presigned/doc-7"})
			}
			f.api["GET /presigned/doc-7"] = func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tc.file)
				_, _ = w.Write([]byte("more than eight bytes"))
			}
			dir := t.TempDir()
			env := activityEnv(&Activities{Treezor: f.client(t), Store: FSDocumentStore{Dir: dir}, MaxDocumentSize: tc.limit})
			_, err := env.ExecuteActivity(DownloadQESDocumentName, DownloadInput{UserID: "42", DocumentID: "doc-7"})
			require.Error(t, err)
			appErr := applicationError(t, err)
			require.Equal(t, tc.errType, appErr.Type())
			require.Equal(t, !tc.retryable, appErr.NonRetryable())
			require.NotContains(t, err.Error(), "/presigned/", "the presigned URL never appears in errors")
			require.Empty(t, entries(t, dir), "nothing is stored on failure")
		})
	}
}
