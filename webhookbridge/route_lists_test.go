package webhookbridge_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/qesflow/qesflow/internal/testenv"
	"github.com/qesflow/qesflow/treezor"
	"github.com/qesflow/qesflow/webhookbridge"
	"github.com/qesflow/qesflow/workflows"
)

// TestRoutedByKeywordLists (issue 17): a payin into any of the wallets Treezor lists for the
// user (TreezorWalletIds), whatever its placeholder userId, and a QES webhook without userId
// for an earlier identification of the run (QESIdentificationIds, the current one being
// another), reach the onboarding through visibility.
func TestRoutedByKeywordLists(t *testing.T) {
	const secret = "whsec-keyword-list-route-test"
	ts := testenv.NewTemporal(t)
	c := ts.GetDefaultClient()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	// The onboarding waits on a task queue no worker polls: the signals stay in its history.
	in := workflows.Input{UserID: "list-owner-1", Country: "DE"}
	sa := temporal.NewSearchAttributes(
		workflows.SAKeyTreezorWalletIDs.ValueSet([]string{"wallet-501", "wallet-502"}),
		workflows.SAKeyQESIdentificationID.ValueSet("ident-2"),
		workflows.SAKeyQESIdentificationIDs.ValueSet([]string{"ident-1", "ident-2"}),
		workflows.SAKeyTreezorUserID.ValueSet(in.UserID))
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: workflows.WorkflowID(in.UserID), TaskQueue: "no-worker",
		TypedSearchAttributes: sa,
	}, workflows.WorkflowName, in)
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Query: fmt.Sprintf("%s = 'wallet-502' AND %s = 'ident-1'", workflows.SATreezorWalletIDs, workflows.SAQESIdentificationIDs)})
		return err == nil && len(resp.GetExecutions()) == 1
	}, 30*time.Second, 50*time.Millisecond, "visibility shows the lists")

	h, err := webhookbridge.New(webhookbridge.Config{Secrets: []string{secret}, Temporal: c})
	require.NoError(t, err)
	srv := httptest.NewServer(h)
	defer srv.Close()

	tests := []struct {
		name, typ, object, marker string
		payload                   map[string]any
	}{
		{
			name: "payin into the second wallet with the placeholder user", typ: treezor.EventPayinUpdate, object: "payin",
			marker: "payin-502",
			payload: map[string]any{"payins": []any{map[string]any{
				"payinId": "payin-502", "userId": "3", "walletId": "wallet-502", "payinStatus": "VALIDATED", "paymentMethodId": "20"}}},
		},
		{
			name: "late QES event of the earlier identification, no user id", typ: treezor.EventQESFinalized, object: "qes",
			marker: "ident-1",
			payload: map[string]any{"qes": map[string]any{"identificationId": "ident-1", "result": "CANCELED",
				"reason": map[string]any{"reasonCode": 3101, "reasonMessage": "user left"}}},
		},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, outcome := postSigned(t, srv.URL, secret, tt.typ, fmt.Sprintf("3f8c1a2e-5b6d-4c7e-8f90-a1b2c3d4e5f%d", i),
				tt.object, tt.marker, tt.payload)
			require.Equal(t, http.StatusOK, status)
			require.Equal(t, webhookbridge.OutcomeSignalled, outcome)
			signalled := signalledWith(ctx, t, c, run, tt.marker)
			require.True(t, signalled, "the webhook reached the onboarding")
		})
	}
}

// TestLateQESEventOfAnEndedOnboarding: a QES webhook without userId for an identification
// of an onboarding that has ended is answered at once (no onboarding to signal), instead of
// 503 for the whole identification grace, which would keep Treezor redelivering it.
func TestLateQESEventOfAnEndedOnboarding(t *testing.T) {
	const secret = "whsec-ended-identification-route-test"
	ts := testenv.NewTemporal(t)
	c := ts.GetDefaultClient()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	in := workflows.Input{UserID: "ended-owner-1", Country: "FR"}
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: workflows.WorkflowID(in.UserID), TaskQueue: "no-worker",
		TypedSearchAttributes: temporal.NewSearchAttributes(
			workflows.SAKeyQESIdentificationIDs.ValueSet([]string{"ident-ended-1"}),
			workflows.SAKeyTreezorUserID.ValueSet(in.UserID)),
	}, workflows.WorkflowName, in)
	require.NoError(t, err)
	require.NoError(t, c.TerminateWorkflow(ctx, run.GetID(), run.GetRunID(), "ended for the test"))
	require.Eventually(t, func() bool {
		resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Query: fmt.Sprintf("%s = 'ident-ended-1' AND ExecutionStatus = 'Terminated'", workflows.SAQESIdentificationIDs)})
		return err == nil && len(resp.GetExecutions()) == 1
	}, 30*time.Second, 50*time.Millisecond, "visibility shows the ended run")

	h, err := webhookbridge.New(webhookbridge.Config{Secrets: []string{secret}, Temporal: c,
		IdentificationGrace: time.Hour})
	require.NoError(t, err)
	srv := httptest.NewServer(h)
	defer srv.Close()

	status, outcome := postSigned(t, srv.URL, secret, treezor.EventQESFinalized, "5a1f0c2e-5b6d-4c7e-8f90-a1b2c3d4e5f0",
		"qes", "ident-ended-1", map[string]any{"qes": map[string]any{"identificationId": "ident-ended-1", "result": "CANCELED"}})
	require.Equal(t, http.StatusOK, status, "answered at once, not redelivered for the grace")
	require.Equal(t, webhookbridge.OutcomeNoOnboarding, outcome)
}
