package worker

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.uber.org/zap"

	"github.com/qesflow/qesflow/internal/testenv"
	"github.com/qesflow/qesflow/treezor"
	"github.com/qesflow/qesflow/workflows"
)

// fakeTreezor is the Treezor API of the test (Treezor is the one mocked part).
type fakeTreezor struct {
	*httptest.Server
	initiations, kycReviews atomic.Int32
	review                  atomic.Int32 // the user's kycReview as Treezor holds it
}

func newFakeTreezor(t *testing.T) *fakeTreezor {
	f := &fakeTreezor{}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /oauth/token", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"token_type": "Bearer", "expires_in": 3600, "access_token": "t"})
	})
	mux.HandleFunc("POST /v1/users/{userId}/qes", func(w http.ResponseWriter, r *http.Request) {
		f.initiations.Add(1)
		writeJSON(w, http.StatusCreated, map[string]any{
			"identificationId": "ident-" + r.PathValue("userId"), "identificationURL": "https://idnow.example/x",
		})
	})
	mux.HandleFunc("PUT /v1/users/{userId}/Kycreview", func(w http.ResponseWriter, r *http.Request) {
		f.kycReviews.Add(1)
		writeJSON(w, http.StatusOK, map[string]any{"users": []map[string]string{{"userId": r.PathValue("userId"), "kycReview": "1"}}})
	})
	mux.HandleFunc("GET /v1/users/{userId}", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"users": []map[string]any{{
			"userId": r.PathValue("userId"), "country": "FR", "kycReview": f.review.Load(), "kycLevel": 3}}})
	})
	f.Server = httptest.NewServer(mux)
	t.Cleanup(f.Close)
	return f
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func TestNewValidates(t *testing.T) {
	_, err := New(nil, Options{})
	require.ErrorContains(t, err, "no Temporal client")
	ts := testenv.NewTemporal(t)
	_, err = New(ts.GetDefaultClient(), Options{})
	require.ErrorIs(t, err, ErrNoTreezor)
}

// TestWorkerCompletesOnboarding runs the worker built by New against a real in-process
// Temporal and takes one onboarding from start to COMPLETED_VALIDATED.
func TestWorkerCompletesOnboarding(t *testing.T) {
	ts := testenv.NewTemporal(t)
	c := ts.GetDefaultClient()
	tz := newFakeTreezor(t)
	api, err := treezor.NewClient(treezor.Config{BaseURL: tz.URL, ClientID: "id", ClientSecret: "secret"})
	require.NoError(t, err)
	w, err := New(c, Options{
		Treezor:                                api,
		DocumentDir:                            t.TempDir(),
		MaxConcurrentActivityExecutionSize:     4,
		MaxConcurrentWorkflowTaskExecutionSize: 4,
		StickyCacheSize:                        100,
	})
	require.NoError(t, err)
	require.NoError(t, w.Start())
	defer w.Stop()

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	const user = "worker-user-1"
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: workflows.WorkflowID(user), TaskQueue: workflows.TaskQueue},
		workflows.WorkflowName, workflows.Input{UserID: user})
	require.NoError(t, err)
	awaiting := waitFor(t, c, user, func(s workflows.Status) bool { return s.State == workflows.StateAwaitingUser })
	require.Equal(t, "ident-"+user, awaiting.IdentificationID)

	signal := func(ev treezor.Event) {
		ev.Known, ev.UserID, ev.CreatedAt = true, user, time.Now()
		require.NoError(t, c.SignalWorkflow(ctx, run.GetID(), "", workflows.SignalWebhook, ev))
	}
	signal(treezor.Event{WebhookID: "w1", Type: treezor.EventQESFinalized, IdentificationID: awaiting.IdentificationID, Result: treezor.ResultSuccess})
	signal(treezor.Event{WebhookID: "w1-doc", Type: treezor.EventDocumentCreate, DocumentID: "doc-1"})
	waitFor(t, c, user, func(s workflows.Status) bool { return s.State == workflows.StateKYCReviewPending })
	// The state changes when the review is requested; the call to Treezor follows.
	require.Eventually(t, func() bool { return tz.kycReviews.Load() == 1 }, 60*time.Second, 20*time.Millisecond)

	tz.review.Store(int32(treezor.KYCReviewValidated)) // the decision is confirmed with Treezor
	signal(treezor.Event{WebhookID: "w2", Type: treezor.EventUserKYCReview, KYCReview: treezor.KYCReviewValidated, KYCLevel: 3})
	var result workflows.Result
	require.NoError(t, run.Get(ctx, &result))
	require.Equal(t, workflows.StateCompletedValidated, result.State)
	require.Equal(t, treezor.KYCReviewValidated, result.KYCReview)
	require.EqualValues(t, 1, tz.initiations.Load())
	require.NotZero(t, stickySize, "the sticky cache size was set")
}

func waitFor(t *testing.T, c client.Client, user string, cond func(workflows.Status) bool) workflows.Status {
	t.Helper()
	var last workflows.Status
	require.Eventually(t, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		v, err := c.QueryWorkflow(ctx, workflows.WorkflowID(user), "", workflows.QueryStatus)
		if err != nil || v.Get(&last) != nil {
			return false
		}
		return cond(last)
	}, 60*time.Second, 50*time.Millisecond, "onboarding of %s never reached the expected status (last %s)", user, last.State)
	return last
}

func TestStickyCacheSizeIsProcessGlobal(t *testing.T) {
	setStickyCacheSize(0, nil) // zero keeps whatever is set
	before := stickySize
	setStickyCacheSize(1234, zapNop())
	if before == 0 {
		require.Equal(t, 1234, stickySize)
	}
	setStickyCacheSize(99, zapNop()) // ignored: already set
	require.NotEqual(t, 99, stickySize)
}

func zapNop() *zap.Logger { return zap.NewNop() }

func TestStickyCacheSizeDefaultsToBounded(t *testing.T) {
	require.Equal(t, DefaultStickyCacheSize, withDefaults(Options{}).StickyCacheSize)
	require.Equal(t, 100, withDefaults(Options{StickyCacheSize: 100}).StickyCacheSize)
}
