package workflows_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	sdkpb "go.temporal.io/api/sdk/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/qesflow/qesflow/activities"
	"github.com/qesflow/qesflow/internal/testenv"
	"github.com/qesflow/qesflow/outbound"
	"github.com/qesflow/qesflow/outbound/outboundtest"
	"github.com/qesflow/qesflow/treezor"
	"github.com/qesflow/qesflow/workflows"
)

// TestEventsReachAReceiverThatWasDown: on a real Temporal server, with real HTTP and real
// signatures, the backend is down (503) while the user goes through the identification;
// the onboarding does not wait for it, continues as new with the events still queued, and
// the worker is restarted. The backend is still down when the onboarding ends: the run
// ends at once and hands its events to a QESEventDelivery workflow. Once the backend is
// back it gets every event, in order, each with the same webhook id on every retry,
// verified by the Standard Webhooks library.
func TestEventsReachAReceiverThatWasDown(t *testing.T) {
	ts := testenv.NewTemporal(t)
	fake := startTreezor(t)
	tz := fake.Client(t)
	secret := outboundtest.Secret("e2e-events")
	rcv := outboundtest.NewReceiver(t, secret)
	rcv.SetStatus(http.StatusServiceUnavailable)
	secrets, err := outbound.ParseSecrets(secret)
	require.NoError(t, err)
	sender, err := outbound.NewSender(outbound.Config{Endpoints: []outbound.Endpoint{{Name: "backend", URL: rcv.URL}}, Secrets: secrets})
	require.NoError(t, err)
	acts := &activities.Activities{Treezor: tz, Store: activities.FSDocumentStore{Dir: t.TempDir()}, Events: sender}
	h := &harness{client: ts.GetDefaultClient(), treezor: fake, acts: acts}

	const queue = "events-e2e"
	startWorker := func() worker.Worker {
		w := worker.New(h.client, queue, worker.Options{})
		w.RegisterWorkflowWithOptions(workflows.NewOnboarding(workflows.Config{Events: true}), workflow.RegisterOptions{Name: workflows.WorkflowName})
		w.RegisterWorkflowWithOptions(workflows.QESEventDelivery, workflow.RegisterOptions{Name: workflows.EventDeliveryWorkflowName})
		w.RegisterActivity(acts)
		require.NoError(t, w.Start())
		return w
	}
	w := startWorker()
	user := "events-e2e"
	in := baseInput(user)
	in.Policy = &workflows.PolicyOverride{ContinueAsNewAfter: 40}
	createUser(fake, in, 1)
	_, err = h.client.ExecuteWorkflow(ctxFor(t), client.StartWorkflowOptions{
		ID: workflows.WorkflowID(user), TaskQueue: queue, TypedSearchAttributes: workflows.StartSearchAttributes(user),
	}, workflows.WorkflowName, in)
	require.NoError(t, err)
	first := h.identificationURL(t, user)

	// The user goes on while every delivery fails: the onboarding reaches the KYC review
	// and keeps its events queued.
	for range 8 {
		h.qes(t, user, treezor.EventQESCreated, first.IdentificationID, "", 0) // duplicates grow the history
	}
	h.qes(t, user, treezor.EventQESFinalized, first.IdentificationID, treezor.ResultSuccess, 0)
	h.document(t, user, "doc-"+first.IdentificationID)
	st := h.waitState(t, user, workflows.StateKYCReviewPending, 1)
	require.NotNil(t, st.Events)
	require.Zero(t, st.Events.Delivered)
	require.Equal(t, 2, st.Events.Pending, "started and under_review wait for the backend")
	// The Temporal UI shows the delivery state in the run's current details.
	require.Eventually(t, func() bool {
		v, err := h.client.QueryWorkflow(ctxFor(t), workflows.WorkflowID(user), "", "__temporal_workflow_metadata")
		require.NoError(t, err)
		var md sdkpb.WorkflowMetadata
		require.NoError(t, v.Get(&md))
		return strings.Contains(md.GetCurrentDetails(), "events: 0 delivered, 2 pending")
	}, 30*time.Second, 50*time.Millisecond, "the UI's details show the pending events")
	require.Eventually(t, func() bool { return h.status(t, user).ContinuedAsNewCnt >= 1 }, 30*time.Second, 50*time.Millisecond,
		"the run continues as new with events pending")
	require.Eventually(t, func() bool { return len(rcv.All()) >= 3 }, 30*time.Second, 50*time.Millisecond, "retries reach the receiver")

	// A worker restart during the outage.
	w.Stop()
	w = startWorker()
	t.Cleanup(w.Stop)

	h.kyc(t, user, "VALIDATED")
	h.waitState(t, user, workflows.StateCompletedValidated, 1)
	// The backend is still down when the onboarding ends: the run ends at once and hands
	// its three events to a delivery workflow that outlives it.
	r := h.result(t, user)
	require.Equal(t, workflows.StateCompletedValidated, r.State)
	desc, err := h.client.DescribeWorkflowExecution(ctxFor(t), workflows.WorkflowID(user), "")
	require.NoError(t, err)
	require.Equal(t, enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED, desc.GetWorkflowExecutionInfo().GetStatus())
	st = h.status(t, user)
	require.Equal(t, 3, st.Events.HandedOff)
	require.Zero(t, st.Events.Pending)
	require.Zero(t, st.Events.Delivered)
	deliveryID := workflows.EventDeliveryID(user, desc.GetWorkflowExecutionInfo().GetExecution().GetRunId())
	child, err := h.client.DescribeWorkflowExecution(ctxFor(t), deliveryID, "")
	require.NoError(t, err)
	require.Equal(t, enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, child.GetWorkflowExecutionInfo().GetStatus(), "the delivery workflow waits for the backend")
	require.Empty(t, rcv.Accepted())

	// The backend comes back: the delivery workflow gets the events through and ends.
	rcv.SetStatus(http.StatusNoContent)
	var delivered workflows.EventDeliveryResult
	require.NoError(t, h.client.GetWorkflow(ctxFor(t), deliveryID, "").Get(ctxFor(t), &delivered))
	require.Equal(t, workflows.EventDeliveryResult{Delivered: 3}, delivered)

	require.Empty(t, rcv.Failures())
	got := rcv.Accepted()
	require.Len(t, got, 3)
	for i, want := range []string{outbound.TypeStarted, outbound.TypeUnderReview, outbound.TypeCompleted} {
		require.Equal(t, want, got[i].Event.Type)
		require.Equal(t, i+1, got[i].Event.Data.Sequence)
	}
	require.Equal(t, first.IdentificationURL, got[0].Event.Data.IdentificationURL)
	// Every attempt of an event carried the id of its sequence; nothing was accepted out of order.
	ids := map[int]string{}
	attempts := map[int]int{}
	last := 0
	for _, d := range rcv.All() {
		seq := d.Event.Data.Sequence
		if id, ok := ids[seq]; ok {
			require.Equal(t, id, d.ID, "event %d kept its webhook id", seq)
		}
		ids[seq] = d.ID
		attempts[seq]++
		if d.Status < 300 {
			require.GreaterOrEqual(t, seq, last, "accepted in order")
			last = seq
		}
	}
	require.GreaterOrEqual(t, attempts[1], 3, "the first event was retried during the outage")
	t.Logf("deliveries: %d requests, attempts per event %v", len(rcv.All()), attempts)
}
