package activities

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/qesflow/qesflow/treezor"
	"github.com/qesflow/qesflow/treezorsim"
	"github.com/qesflow/qesflow/treezorsim/simtest"
)

// startTreezor serves the Treezor simulator with a complete user "42" and downloads enabled.
func startTreezor(t *testing.T, cfg ...treezorsim.Config) *simtest.Server {
	t.Helper()
	c := treezorsim.Config{DownloadsEnabled: true, DocumentsPerSuccess: 1}
	if len(cfg) > 0 {
		c = cfg[0]
	}
	tz := simtest.Start(t, c)
	tz.User("42")
	return tz
}

// signedDocument completes an identification of user 42 and returns its document id.
func signedDocument(t *testing.T, tz *simtest.Server) string {
	t.Helper()
	ident, err := tz.Client(t).InitiateQES(context.Background(), "42", "", "")
	require.NoError(t, err)
	require.NoError(t, tz.Act(ident.IdentificationID, treezorsim.Success()))
	snap, ok := tz.Identification(ident.IdentificationID)
	require.True(t, ok)
	require.NotEmpty(t, snap.Documents)
	return snap.Documents[0]
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
	tz := startTreezor(t)
	env := activityEnv(&Activities{Treezor: tz.Client(t)})
	initiate := func(tag string) InitiateQESOutput {
		val, err := env.ExecuteActivity(InitiateQESName, InitiateQESInput{UserID: "42", Attempt: 1, AccessTag: tag})
		require.NoError(t, err)
		var out InitiateQESOutput
		require.NoError(t, val.Get(&out))
		return out
	}
	tag := AccessTag("42", "run-1", StepQES, 1)
	out := initiate(tag)
	id, url, ok := tz.LastIdentification("42")
	require.True(t, ok)
	require.Equal(t, InitiateQESOutput{IdentificationID: id, IdentificationURL: url}, out)
	require.Equal(t, out, initiate(tag), "the accessTag is sent: Treezor replays the first answer")
	require.Equal(t, 1, tz.Stats().AccessTagReplays)
	require.NotEqual(t, out.IdentificationID, initiate(AccessTag("42", "run-1", StepQES, 2)).IdentificationID)
}

func TestInitiateQESErrorMapping(t *testing.T) {
	cases := []struct {
		name      string
		user      string
		status    int // injected before the call is processed (0: none)
		errType   string
		retryable bool
		check     func(t *testing.T, appErr *temporal.ApplicationError)
	}{
		{
			name:    "428 user data incomplete",
			user:    "43", // no email, no phone
			errType: ErrTypeUserDataIncomplete,
			check: func(t *testing.T, appErr *temporal.ApplicationError) {
				var fields []string
				require.NoError(t, appErr.Details(&fields))
				require.Equal(t, []string{"email", "phone"}, fields)
			},
		},
		{name: "503 unavailable", user: "42", status: http.StatusServiceUnavailable, errType: ErrTypeTreezorUnavailable, retryable: true},
		{name: "429 too many requests", user: "42", status: http.StatusTooManyRequests, errType: ErrTypeTreezorUnavailable, retryable: true},
		{
			name:    "404 unknown user",
			user:    "404404",
			errType: ErrTypeTreezorUserUnknown,
			check: func(t *testing.T, appErr *temporal.ApplicationError) {
				var details RejectionDetails
				require.NoError(t, appErr.Details(&details))
				require.Equal(t, RejectionDetails{StatusCode: 404, Code: "resource_not_found"}, details)
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tz := startTreezor(t)
			tz.CreateUser(treezorsim.User{UserID: "43", Firstname: "Grace", Lastname: "Hopper", Country: "FR"})
			if tc.status != 0 {
				tz.Fail(simtest.RouteQES, tc.status, 0)
			}
			env := activityEnv(&Activities{Treezor: tz.Client(t)})
			_, err := env.ExecuteActivity(InitiateQESName, InitiateQESInput{UserID: tc.user, Attempt: 1, AccessTag: "tag"})
			require.Error(t, err)
			appErr := applicationError(t, err)
			require.Equal(t, tc.errType, appErr.Type(), "%v", err)
			require.Equal(t, !tc.retryable, appErr.NonRetryable())
			require.NotContains(t, err.Error(), treezorsim.DevClientSecret)
			require.Zero(t, tz.Stats().IdentificationsCreated[tc.user], "nothing was created")
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
	// notTreezor is a server that is not Treezor (a wrong base URL): its byte-level HTML
	// answers are what the simulator, being Treezor, never gives.
	notTreezor := func(t *testing.T, status int) string {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/oauth/token" {
				w.Header().Set("Content-Type", "application/json")
				_, _ = w.Write([]byte(`{"token_type":"Bearer","expires_in":3600,"access_token":"tok"}`))
				return
			}
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(status)
			_, _ = w.Write([]byte("<html><body>Not Found</body></html>"))
		}))
		t.Cleanup(srv.Close)
		return srv.URL
	}
	cases := []struct {
		name    string
		setup   func(t *testing.T, tz *simtest.Server, cfg *treezor.Config)
		errType string
		reason  string
	}{
		{name: "401 after a token refresh", setup: func(_ *testing.T, tz *simtest.Server, _ *treezor.Config) {
			tz.Fail(simtest.RouteQES, http.StatusUnauthorized, 0)
		}, errType: ErrTypeTreezorUnavailable, reason: treezor.ReasonAuth},
		{name: "403 scope not granted", setup: func(_ *testing.T, _ *simtest.Server, cfg *treezor.Config) {
			cfg.Scopes = []string{treezorsim.ScopeReadOnly} // a write needs read_write
		}, errType: ErrTypeTreezorUnavailable, reason: treezor.ReasonForbidden},
		{name: "token request refused", setup: func(_ *testing.T, _ *simtest.Server, cfg *treezor.Config) {
			cfg.ClientSecret = "not-the-secret"
		}, errType: ErrTypeTreezorUnavailable, reason: treezor.ReasonTokenRefused},
		{name: "token request refused for its scope", setup: func(_ *testing.T, _ *simtest.Server, cfg *treezor.Config) {
			cfg.Scopes = []string{"no_such_scope"}
		}, errType: ErrTypeTreezorUnavailable, reason: treezor.ReasonTokenRefused},
		{name: "HTML 404 from a wrong base URL", setup: func(t *testing.T, _ *simtest.Server, cfg *treezor.Config) {
			cfg.BaseURL = notTreezor(t, http.StatusNotFound)
		}, errType: ErrTypeTreezorUnavailable, reason: treezor.ReasonNotTreezor},
		{name: "HTML 200 from a wrong base URL", setup: func(t *testing.T, _ *simtest.Server, cfg *treezor.Config) {
			cfg.BaseURL = notTreezor(t, http.StatusOK)
		}, errType: ErrTypeTreezorUnavailable, reason: treezor.ReasonMalformed},
		{name: "400 on the user's data", setup: func(_ *testing.T, tz *simtest.Server, _ *treezor.Config) {
			tz.SetRouteFault(simtest.RouteQES, treezorsim.RouteFault{Status: http.StatusBadRequest, Code: "invalid_phone"})
		}, errType: ErrTypeTreezorRejected},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tz := startTreezor(t)
			c := tz.Client(t, func(cfg *treezor.Config) { tc.setup(t, tz, cfg) })
			env := activityEnv(&Activities{Treezor: c})
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
			require.Zero(t, tz.Stats().IdentificationsCreated["42"], "nothing was created")
		})
	}

	t.Run("connection refused", func(t *testing.T) {
		tz := startTreezor(t)
		c := tz.Client(t)
		tz.Down()
		_, err := activityEnv(&Activities{Treezor: c}).ExecuteActivity(InitiateQESName, InitiateQESInput{UserID: "42", Attempt: 1, AccessTag: "tag"})
		appErr := applicationError(t, err)
		require.Equal(t, ErrTypeTreezorUnavailable, appErr.Type())
		require.False(t, appErr.NonRetryable())
	})
	t.Run("TLS handshake failure", func(t *testing.T) {
		srv := httptest.NewTLSServer(http.NotFoundHandler()) // raw: a certificate the client does not trust, nothing answered
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
	tz := startTreezor(t)
	env := activityEnv(&Activities{Treezor: tz.Client(t)})
	_, err := env.ExecuteActivity(InitiateQESName, InitiateQESInput{UserID: " ", AccessTag: "t"})
	require.Equal(t, ErrTypeInvalidArgument, applicationError(t, err).Type())
	_, err = env.ExecuteActivity(RequestKYCReviewName, RequestKYCReviewInput{UserID: "42"})
	require.Equal(t, ErrTypeInvalidArgument, applicationError(t, err).Type())
	_, err = env.ExecuteActivity(DownloadQESDocumentName, DownloadInput{UserID: "42"})
	require.Equal(t, ErrTypeInvalidArgument, applicationError(t, err).Type())
	require.Zero(t, tz.Stats().TokensIssued, "bad input calls nothing")
}

func TestRequestKYCReviewDecodesLenientAnswer(t *testing.T) {
	tz := startTreezor(t) // Treezor answers kycReview and kycLevel as strings
	env := activityEnv(&Activities{Treezor: tz.Client(t)})
	tag := AccessTag("42", "run-1", StepKYCReview, 1)
	for range 2 {
		val, err := env.ExecuteActivity(RequestKYCReviewName, RequestKYCReviewInput{UserID: "42", AccessTag: tag})
		require.NoError(t, err)
		var out RequestKYCReviewOutput
		require.NoError(t, val.Get(&out))
		require.Equal(t, RequestKYCReviewOutput{KYCReview: treezor.KYCReviewPending, KYCLevel: 0}, out)
	}
	require.Equal(t, 1, tz.Stats().KYCReviewRequests["42"], "the accessTag is sent: the second call is a replay")
}

func TestDownloadQESDocumentStoresTheFile(t *testing.T) {
	tz := startTreezor(t)
	docID := signedDocument(t, tz)
	content, ok := tz.DocumentContent(docID)
	require.True(t, ok)
	dir := t.TempDir()
	env := activityEnv(&Activities{Treezor: tz.Client(t), Store: FSDocumentStore{Dir: dir}})
	val, err := env.ExecuteActivity(DownloadQESDocumentName, DownloadInput{UserID: "42", DocumentID: docID})
	require.NoError(t, err)
	var out DownloadOutput
	require.NoError(t, val.Get(&out))
	require.Equal(t, sha(content), out.SHA256)
	require.EqualValues(t, len(content), out.Size)
	require.NotContains(t, out.StoredAs, "sig=")
	got, err := os.ReadFile(out.StoredAs)
	require.NoError(t, err)
	require.Equal(t, content, got)
}

func TestDownloadQESDocumentErrors(t *testing.T) {
	cases := []struct {
		name      string
		document  string        // "" : a signed document of user 42
		urlTTL    time.Duration // life of presigned URLs (0: the default)
		setup     func(tz *simtest.Server)
		limit     int64
		errType   string
		retryable bool
	}{
		{name: "unknown document", document: "404404", errType: ErrTypeTreezorRejected},
		{name: "presigned URL expired", urlTTL: time.Nanosecond, errType: ErrTypeDocumentURLExpired, retryable: true},
		{name: "storage unavailable", setup: func(tz *simtest.Server) {
			tz.Fail(simtest.RouteFile, http.StatusBadGateway, 0)
		}, errType: ErrTypeTreezorUnavailable, retryable: true},
		{name: "document too large", limit: 8, errType: ErrTypeDocumentTooLarge},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tz := startTreezor(t, treezorsim.Config{DownloadsEnabled: true, DocumentsPerSuccess: 1, DocumentURLTTL: tc.urlTTL})
			docID := tc.document
			if docID == "" {
				docID = signedDocument(t, tz)
			}
			if tc.setup != nil {
				tc.setup(tz)
			}
			dir := t.TempDir()
			env := activityEnv(&Activities{Treezor: tz.Client(t), Store: FSDocumentStore{Dir: dir}, MaxDocumentSize: tc.limit})
			_, err := env.ExecuteActivity(DownloadQESDocumentName, DownloadInput{UserID: "42", DocumentID: docID})
			require.Error(t, err)
			appErr := applicationError(t, err)
			require.Equal(t, tc.errType, appErr.Type(), "%v", err)
			require.Equal(t, !tc.retryable, appErr.NonRetryable())
			require.NotContains(t, err.Error(), "sig=", "the presigned URL never appears in errors")
			require.Empty(t, entries(t, dir), "nothing is stored on failure")
		})
	}
}
