package worker

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/qesflow/qesflow/treezor"
	"github.com/qesflow/qesflow/treezorsim"
	"github.com/qesflow/qesflow/treezorsim/simtest"
)

// TestTreezorHealthShowsOurFailuresOnly: a misconfigured base URL (an HTML 404) makes the
// worker unready with the reason and a hint, answers about a user do not, and the first
// call that gets an answer again makes it ready.
func TestTreezorHealthShowsOurFailuresOnly(t *testing.T) {
	// Raw server: a misconfigured base URL reaches something that is not Treezor (an HTML 404).
	wrong := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte("<html>nginx</html>"))
	}))
	t.Cleanup(wrong.Close)
	tz := simtest.Start(t, treezorsim.Config{})
	tz.User("1")
	reg := prometheus.NewRegistry()
	h := NewTreezorHealth(reg)
	misconfigured, err := treezor.NewClient(treezor.Config{BaseURL: wrong.URL, ClientID: "id", ClientSecret: "secret", Observe: h.Observe})
	require.NoError(t, err)
	c := tz.Client(t, func(cfg *treezor.Config) { cfg.Observe = h.Observe })
	ctx := context.Background()

	require.NoError(t, h.Ready(ctx), "ready before any call")
	_, err = misconfigured.GetUser(ctx, "1")
	require.Error(t, err)
	notReady := h.Ready(ctx)
	require.ErrorContains(t, notReady, "treezor calls failing (not_treezor)")
	require.ErrorContains(t, notReady, "TREEZOR_BASE_URL")
	require.NotContains(t, notReady.Error(), wrong.URL, "no URL in the reason")
	require.Equal(t, 1.0, testutil.ToFloat64(h.failing.WithLabelValues(treezor.ReasonNotTreezor)))
	require.Equal(t, 1.0, testutil.ToFloat64(h.calls.WithLabelValues("get user", treezor.ReasonNotTreezor)))

	_, err = c.GetUser(ctx, "2") // no such user
	kind, _ := treezor.Classify(err)
	require.Equal(t, treezor.FailureUser, kind)
	require.NoError(t, h.Ready(ctx), "an answer about a user is an answer")
	require.Equal(t, 0.0, testutil.ToFloat64(h.failing.WithLabelValues(treezor.ReasonNotTreezor)))
	require.Equal(t, 1.0, testutil.ToFloat64(h.calls.WithLabelValues("get user", "user")))

	_, _ = misconfigured.GetUser(ctx, "1")
	require.Error(t, h.Ready(ctx))
	_, err = c.GetUser(ctx, "1")
	require.NoError(t, err)
	require.NoError(t, h.Ready(ctx))
	require.Equal(t, 1.0, testutil.ToFloat64(h.calls.WithLabelValues("get user", "ok")))
}
