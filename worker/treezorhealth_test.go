package worker

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/qesflow/qesflow/treezor"
)

// TestTreezorHealthShowsOurFailuresOnly: a misconfigured base URL (an HTML 404) makes the
// worker unready with the reason and a hint, answers about a user do not, and the first
// call that gets an answer again makes it ready.
func TestTreezorHealthShowsOurFailuresOnly(t *testing.T) {
	var mode atomic.Value
	mode.Store("html")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case mode.Load() == "html":
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte("<html>nginx</html>"))
		case r.URL.Path == "/oauth/token":
			writeJSON(w, http.StatusOK, map[string]any{"token_type": "Bearer", "expires_in": 3600, "access_token": "a-long-test-token"})
		case mode.Load() == "unknown-user":
			writeJSON(w, http.StatusNotFound, map[string]any{"errors": []map[string]string{{"type": "invalid_request", "code": "resource_not_found", "message": "user not found"}}})
		default:
			writeJSON(w, http.StatusOK, map[string]any{"users": []map[string]string{{"userId": "1", "country": "FR"}}})
		}
	}))
	t.Cleanup(srv.Close)
	reg := prometheus.NewRegistry()
	h := NewTreezorHealth(reg)
	c, err := treezor.NewClient(treezor.Config{BaseURL: srv.URL, ClientID: "id", ClientSecret: "secret", Observe: h.Observe})
	require.NoError(t, err)
	ctx := context.Background()

	require.NoError(t, h.Ready(ctx), "ready before any call")
	_, err = c.GetUser(ctx, "1")
	require.Error(t, err)
	notReady := h.Ready(ctx)
	require.ErrorContains(t, notReady, "treezor calls failing (not_treezor)")
	require.ErrorContains(t, notReady, "TREEZOR_BASE_URL")
	require.NotContains(t, notReady.Error(), srv.URL, "no URL in the reason")
	require.Equal(t, 1.0, testutil.ToFloat64(h.failing.WithLabelValues(treezor.ReasonNotTreezor)))
	require.Equal(t, 1.0, testutil.ToFloat64(h.calls.WithLabelValues("get user", treezor.ReasonNotTreezor)))

	mode.Store("unknown-user")
	_, err = c.GetUser(ctx, "2")
	kind, _ := treezor.Classify(err)
	require.Equal(t, treezor.FailureUser, kind)
	require.NoError(t, h.Ready(ctx), "an answer about a user is an answer")
	require.Equal(t, 0.0, testutil.ToFloat64(h.failing.WithLabelValues(treezor.ReasonNotTreezor)))
	require.Equal(t, 1.0, testutil.ToFloat64(h.calls.WithLabelValues("get user", "user")))

	mode.Store("html")
	_, _ = c.GetUser(ctx, "1")
	require.Error(t, h.Ready(ctx))
	mode.Store("ok")
	_, err = c.GetUser(ctx, "1")
	require.NoError(t, err)
	require.NoError(t, h.Ready(ctx))
	require.Equal(t, 1.0, testutil.ToFloat64(h.calls.WithLabelValues("get user", "ok")))
}
