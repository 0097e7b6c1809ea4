package webhookbridge_test

import (
	"context"
	"net"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/qesflow/qesflow/embedded"
	"github.com/qesflow/qesflow/internal/temporalclient"
	"github.com/qesflow/qesflow/treezor"
	"github.com/qesflow/qesflow/webhookbridge"
	"github.com/qesflow/qesflow/workflows"
)

// TestTemporalDownAnswers503ThenRedeliveryReachesWorkflow stops the Temporal server under a
// running bridge: the webhook is refused with 503 + Retry-After (so Treezor retries), and the
// same delivery posted again after the server restarted on the same SQLite file reaches the
// workflow.
func TestTemporalDownAnswers503ThenRedeliveryReachesWorkflow(t *testing.T) {
	dir := t.TempDir()
	var current *embedded.Server
	t.Cleanup(func() { // runs last: after the worker and the bridge stopped
		if current != nil {
			_ = current.Stop()
		}
	})
	start := func(port int) *embedded.Server {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		s, err := embedded.Start(ctx, embedded.Config{DataDir: dir, FrontendPort: port, UIPort: embedded.UIDisabled, Logger: zap.NewNop()})
		require.NoError(t, err)
		current = s
		return s
	}
	srv := start(0)
	_, portText, err := net.SplitHostPort(srv.FrontendAddress())
	require.NoError(t, err)
	port, err := strconv.Atoi(portText)
	require.NoError(t, err)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := temporalclient.Dial(ctx, temporalclient.Options{Address: srv.FrontendAddress(), Namespace: srv.Namespace()})
	require.NoError(t, err)
	t.Cleanup(c.Close)
	tz := startTreezor(t)
	startWorker(t, c, tz)
	b := startBridge(t, c, tz)

	const user = "restart-user-1"
	s := b.startOnboarding(user)
	created := qesWebhook(treezor.EventQESCreated, "wh-while-down", user, s.IdentificationID, "", 0).body(t)

	require.NoError(t, srv.Stop())
	current = nil
	before := b.requests(treezor.EventQESCreated, webhookbridge.OutcomeTemporalUnavailable)
	r := b.post(created, "application/json")
	require.Equal(t, http.StatusServiceUnavailable, r.code)
	require.Equal(t, "5", r.header.Get("Retry-After"))
	require.Equal(t, webhookbridge.OutcomeTemporalUnavailable, r.answer.Status)
	require.Equal(t, "wh-while-down", r.answer.WebhookID)
	require.Equal(t, before+1, b.requests(treezor.EventQESCreated, webhookbridge.OutcomeTemporalUnavailable))

	start(port) // same file, same address: the clients reconnect by themselves
	require.Eventually(t, func() bool {
		return b.post(created, "application/json").code == http.StatusOK
	}, 90*time.Second, 500*time.Millisecond, "the redelivered webhook never got a 2xx")
	b.waitFor(user, func(s workflows.Status) bool {
		return s.State == workflows.StateInProgress && timelineHas(s, "wh-while-down")
	})
}
