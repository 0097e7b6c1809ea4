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

	"github.com/qesflow/qesflow/internal/testenv"
	"github.com/qesflow/qesflow/treezor"
	"github.com/qesflow/qesflow/webhookbridge"
	"github.com/qesflow/qesflow/workflows"
)

// TestPayinsAreRoutedByWallet (issue 17): Treezor documents a payin's userId as not to be
// relied on (a placeholder at first), so a payin reaches the onboarding whose
// TreezorWalletId is the payin's wallet, whatever its userId says.
func TestPayinsAreRoutedByWallet(t *testing.T) {
	const secret = "whsec-payin-route-test"
	ts := testenv.NewTemporal(t)
	c := ts.GetDefaultClient()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	// The onboarding waits on a task queue no worker polls: the signal stays in its history.
	in := workflows.Input{UserID: "wallet-owner-1", Country: "DE", WalletID: "wallet-77"}
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: workflows.WorkflowID(in.UserID), TaskQueue: "no-worker",
		TypedSearchAttributes: workflows.StartSearchAttributesOf(in),
	}, workflows.WorkflowName, in)
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Query: fmt.Sprintf("%s = 'wallet-77'", workflows.SATreezorWalletID)})
		return err == nil && len(resp.GetExecutions()) == 1
	}, 30*time.Second, 50*time.Millisecond, "visibility shows the wallet")

	h, err := webhookbridge.New(webhookbridge.Config{Secrets: []string{secret}, Temporal: c})
	require.NoError(t, err)
	srv := httptest.NewServer(h)
	defer srv.Close()

	status, outcome := postSigned(t, srv.URL, secret, treezor.EventPayinUpdate, "wh-payin-9", "payin", "payin-9",
		map[string]any{"payins": []any{map[string]any{
			"payinId": "payin-9", "userId": "0", "walletId": "wallet-77", "payinStatus": "VALIDATED", "paymentMethodId": "20"}}})
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, webhookbridge.OutcomeSignalled, outcome)
	signalled := signalledWith(ctx, t, c, run, "wallet-77")
	require.True(t, signalled, "the payin reached the wallet's onboarding")
}
