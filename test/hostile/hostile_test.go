package hostile

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/qesflow/qesflow/devstack"
	"github.com/qesflow/qesflow/internal/httpserver"
	"github.com/qesflow/qesflow/webhookbridge"
	"github.com/qesflow/qesflow/workflows"
)

// TestHostileRequests runs the dev stack, starts one real onboarding, and sends every hostile
// request of the bridge and API tables at it over HTTP. Each must get its documented answer
// and leave the onboarding untouched: no signal or update in its history, the same state and
// timeline. Afterwards both servers still serve, a valid webhook still reaches the workflow,
// and the only workflow in the namespace is the one started on purpose. A slow client
// trickling headers to the real servers is cut off by their header timeout meanwhile.
func TestHostileRequests(t *testing.T) {
	s := startStack(t)
	const userID = "hostile-1"
	identificationID := runningOnboarding(t, s, userID)
	baseline := waitSnapshot(t, s, userID, "AWAITING_USER", func(sn snapshot) bool {
		return sn.State == workflows.StateAwaitingUser
	})
	baseHistory := historyCounts(t, s, userID)
	require.Equal(t, historyCount{signals: 0, updates: 1}, baseHistory, "one update (the start), no signal yet")
	untouched := func(t *testing.T) {
		t.Helper()
		require.Equal(t, baseHistory, historyCounts(t, s, userID), "a signal or update reached the workflow")
		require.Equal(t, baseline, workflowSnapshot(t, s, userID), "the workflow's state or timeline changed")
	}

	// Slow clients on the real servers, running while the tables run.
	slowBridge := startSlowHeaders(t, s.BridgeURL, webhookbridge.Path)
	slowAPI := startSlowHeaders(t, s.APIURL, "/v1/onboardings")

	t.Run("bridge", func(t *testing.T) {
		f := webhookFixture{secret: s.Credentials.WebhookSecret, userID: userID, identificationID: identificationID}
		for _, c := range bridgeCases(t, f) {
			t.Run(c.name, func(t *testing.T) {
				checkBridgeAnswer(t, c, sendWebhook(t, s, c))
				untouched(t)
			})
		}
	})
	t.Run("api", func(t *testing.T) {
		for _, c := range apiCases(userID) {
			t.Run(c.name, func(t *testing.T) {
				checkAPIAnswer(t, c, sendAPI(t, s, c))
				untouched(t)
			})
		}
	})
	t.Run("real servers cut off slow headers", func(t *testing.T) {
		for name, slow := range map[string]<-chan slowResult{"bridge": slowBridge, "api": slowAPI} {
			r := <-slow
			require.True(t, r.closed, "%s: a client trickling headers for %s was not cut off (%v)", name, r.elapsed, r.err)
			require.Empty(t, r.answer, "%s: the server answered a request whose headers never ended", name)
			t.Logf("%s closed a trickling client after %s (ReadHeaderTimeout default %s)", name, r.elapsed.Round(time.Second), httpserver.DefaultReadHeaderTimeout)
		}
		untouched(t)
	})
	t.Run("still serving", func(t *testing.T) {
		requireServing(t, s.APIURL)
		requireServing(t, s.BridgeURL)
		resp := send(t, request{method: http.MethodGet, url: s.APIURL, rawPath: "/v1/onboardings/" + userID,
			header: map[string]string{"Authorization": "Bearer " + s.Credentials.OnboardingKey}})
		require.Equal(t, http.StatusOK, resp.status, "%s", resp.body)

		// Only the onboarding started on purpose exists: no hostile id started a workflow.
		ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
		defer cancel()
		list, err := s.Client.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{PageSize: 10})
		require.NoError(t, err)
		require.Len(t, list.GetExecutions(), 1)
		require.Equal(t, workflows.WorkflowID(userID), list.GetExecutions()[0].GetExecution().GetWorkflowId())

		// The control: a valid webhook after all of that reaches the workflow, so the checks
		// above would have seen a hostile one that did.
		f := webhookFixture{secret: s.Credentials.WebhookSecret, userID: userID, identificationID: identificationID}
		valid := bridgeCase{name: "valid qes.created", body: f.signed(t, "qes.created", "control-1", f.qesPayload(nil)),
			wantStatus: http.StatusOK, wantOutcome: webhookbridge.OutcomeSignalled}
		checkBridgeAnswer(t, valid, sendWebhook(t, s, valid))
		require.Equal(t, historyCount{signals: 1, updates: 1}, historyCounts(t, s, userID))
		after := waitSnapshot(t, s, userID, "IN_PROGRESS", func(sn snapshot) bool { return sn.State == workflows.StateInProgress })
		require.Greater(t, after.Timeline, baseline.Timeline)
	})
}

// historyCount counts what reached a workflow from outside: signals and accepted updates.
type historyCount struct{ signals, updates int }

func historyCounts(t *testing.T, s *devstack.Stack, userID string) historyCount {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	it := s.Client.GetWorkflowHistory(ctx, workflows.WorkflowID(userID), "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	var c historyCount
	for it.HasNext() {
		ev, err := it.Next()
		require.NoError(t, err)
		switch ev.GetEventType() {
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
			c.signals++
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
			c.updates++
		}
	}
	return c
}
