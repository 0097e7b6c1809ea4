package webhookbridge_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"github.com/qesflow/qesflow/internal/testenv"
	"github.com/qesflow/qesflow/treezor"
	"github.com/qesflow/qesflow/treezorsim"
	"github.com/qesflow/qesflow/treezorsim/simtest"
	"github.com/qesflow/qesflow/webhookbridge"
	"github.com/qesflow/qesflow/workflows"
)

// TestSimulatorWebhooksThroughBridge lets the Treezor simulator deliver its own signed
// webhooks (with duplicates) to the bridge, end to end: identification success, KYC review,
// validated.
func TestSimulatorWebhooksThroughBridge(t *testing.T) {
	b := runSimulatorFlow(t, treezorsim.Config{WebhookSecret: testSecret, Seed: 7, DuplicateRate: 0.5, WebhookRetryInterval: 200 * time.Millisecond})
	require.Positive(t, b.requests(treezor.EventQESFinalized, webhookbridge.OutcomeSignalled))
	require.Positive(t, b.requests(treezor.EventUserKYCReview, webhookbridge.OutcomeSignalled))
}

// TestSimulatorVariantsThroughBridge: the same flow with every documented delivery form the
// simulator has (wrapped and flat, text/plain, raw UTF-8, PHP shapes, QES payloads without
// userId routed by identification id, webhooks held behind the next action,
// user.kycrequest): every delivery ends 2xx and the onboarding completes.
func TestSimulatorVariantsThroughBridge(t *testing.T) {
	variants := treezorsim.AllWebhookVariants()
	variants.HoldMax = 300 * time.Millisecond
	b := runSimulatorFlow(t, treezorsim.Config{WebhookSecret: testSecret, Seed: 11, DuplicateRate: 0.5,
		WebhookRetryInterval: 200 * time.Millisecond, Webhooks: variants})
	require.Positive(t, b.requests(treezor.EventQESFinalized, webhookbridge.OutcomeSignalled))
	require.Positive(t, b.requests(treezor.EventUserKYCRequest, webhookbridge.OutcomeSignalled))
	require.Zero(t, b.requests(treezor.EventQESFinalized, webhookbridge.OutcomeNoOnboarding))
	require.Zero(t, b.requests(treezor.EventQESFinalized, webhookbridge.OutcomeUnroutable))
}

// runSimulatorFlow runs one onboarding to COMPLETED_VALIDATED with the simulator delivering
// its own webhooks to the bridge, and checks every delivery ended 2xx.
func runSimulatorFlow(t *testing.T, cfg treezorsim.Config) *bridgeUnderTest {
	t.Helper()
	ts := testenv.NewTemporal(t)
	c := ts.GetDefaultClient()

	sim := simtest.Start(t, cfg)
	startWorker(t, c, sim)
	b := startBridge(t, c, nil)
	sim.SetWebhookURL(b.url + webhookbridge.Path)

	user := sim.CreateUser(treezorsim.User{Firstname: "Ada", Lastname: "Lovelace", Email: "ada@example.com", Country: "FR", Phone: "+33100000000"})
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: workflows.WorkflowID(user), TaskQueue: workflows.TaskQueue},
		workflows.WorkflowName, workflows.Input{UserID: user})
	require.NoError(t, err)
	s := b.waitFor(user, func(s workflows.Status) bool { return s.State == workflows.StateAwaitingUser })

	require.NoError(t, sim.Act(s.IdentificationID, treezorsim.Success()))
	b.waitFor(user, func(s workflows.Status) bool { return s.State == workflows.StateKYCReviewPending })
	// The state changes when the review is requested; the call to Treezor follows.
	require.Eventually(t, func() bool { return slices.Contains(sim.PendingKYCReviews(), user) }, 60*time.Second, 20*time.Millisecond)
	require.NoError(t, sim.DecideKYC(user, treezorsim.KYCValidate, "ok"))

	var result workflows.Result
	require.NoError(t, run.Get(ctx, &result))
	require.Equal(t, workflows.StateCompletedValidated, result.State)
	require.NoError(t, sim.WaitIdle(ctx))
	deliveries := sim.Deliveries(user)
	require.NotEmpty(t, deliveries)
	for _, d := range deliveries {
		require.True(t, d.OK, "delivery %s (%s) answered %d", d.WebhookID, d.Webhook, d.StatusCode)
	}
	return b
}
