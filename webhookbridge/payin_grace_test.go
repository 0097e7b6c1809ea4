package webhookbridge_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/qesflow/qesflow/internal/testenv"
	"github.com/qesflow/qesflow/treezor"
	"github.com/qesflow/qesflow/webhookbridge"
	"github.com/qesflow/qesflow/workflows"
)

// payinGrace is the bridge's payin grace in these tests: longer than any test runs, so a
// webhook created now is within it and one created 2*payinGrace ago is past it.
const payinGrace = time.Hour

// payinBody is a signed payin.update webhook for payin id into wallet, with the placeholder
// userId "3" Treezor documents (so only the wallet routes it), created at createdAt.
func payinBody(t *testing.T, secret, webhookID, id, wallet, method, status string, createdAt time.Time) []byte {
	t.Helper()
	raw, err := json.Marshal(map[string]any{"payins": []any{map[string]any{
		"payinId": id, "userId": "3", "walletId": wallet, "payinStatus": status, "paymentMethodId": method}}})
	require.NoError(t, err)
	sig, err := treezor.Sign(secret, raw)
	require.NoError(t, err)
	body, err := treezor.EncodeEnvelope(&treezor.Envelope{
		Webhook: treezor.EventPayinUpdate, WebhookID: webhookID, CreatedAt: createdAt.UTC(),
		Object: "payin", ObjectID: id, ObjectPayload: raw, Signature: sig,
	})
	require.NoError(t, err)
	return body
}

// waitForWallet waits until visibility shows a running onboarding with wallet.
func waitForWallet(ctx context.Context, t *testing.T, c client.Client, wallet string) {
	t.Helper()
	require.Eventually(t, func() bool {
		resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Query: fmt.Sprintf("%s = '%s' AND ExecutionStatus = 'Running'", workflows.SATreezorWalletIDs, wallet)})
		return err == nil && len(resp.GetExecutions()) == 1
	}, 30*time.Second, 50*time.Millisecond, "visibility shows the wallet %s", wallet)
}

// TestSEPATransferIntoAWalletNotShownYet: a validated SEPA credit transfer whose wallet no
// onboarding shows in visibility may belong to an onboarding publishing that wallet right
// now (having read the transfer still pending a moment before): within the payin grace it
// is answered 503 + Retry-After, so that Treezor redelivers, and reaches the onboarding once
// visibility shows the wallet. Past the grace, and for any payin that counts for no SEPA
// step, the answer is "no-onboarding" at once.
func TestSEPATransferIntoAWalletNotShownYet(t *testing.T) {
	const secret = "whsec-payin-grace-test"
	ts := testenv.NewTemporal(t)
	c := ts.GetDefaultClient()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	// A running onboarding with another wallet: nothing below may be signalled to it. It
	// waits on a task queue no worker polls, so every signal stays in its history.
	bystander, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: workflows.WorkflowID("grace-bystander"), TaskQueue: "no-worker",
		TypedSearchAttributes: temporal.NewSearchAttributes(
			workflows.SAKeyTreezorWalletIDs.ValueSet([]string{"wallet-other"}),
			workflows.SAKeyTreezorUserID.ValueSet("grace-bystander")),
	}, workflows.WorkflowName, workflows.Input{UserID: "grace-bystander", Country: "DE"})
	require.NoError(t, err)
	waitForWallet(ctx, t, c, "wallet-other")

	reg := prometheus.NewRegistry()
	h, err := webhookbridge.New(webhookbridge.Config{Secrets: []string{secret}, Temporal: c, Registry: reg,
		LookupAttempts: 2, LookupInterval: 100 * time.Millisecond, PayinGrace: payinGrace})
	require.NoError(t, err)
	srv := httptest.NewServer(h)
	defer srv.Close()
	metrics := &bridgeUnderTest{t: t, reg: reg}
	post := func(body []byte) reply {
		t.Helper()
		return postTo(t, srv.URL, bytes.NewReader(body), int64(len(body)), "application/json")
	}

	now := time.Now()
	tests := []struct {
		name, id, method, status string
		createdAt                time.Time
		wantCode                 int
		wantOutcome              string
	}{
		{"SEPA transfer within the grace", "payin-g1", "20", "VALIDATED", now, http.StatusServiceUnavailable, webhookbridge.OutcomeWalletPending},
		{"SCT Inst within the grace", "payin-g2", "27", "VALIDATED", now, http.StatusServiceUnavailable, webhookbridge.OutcomeWalletPending},
		{"SEPA transfer past the grace", "payin-g3", "20", "VALIDATED", now.Add(-2 * payinGrace), http.StatusOK, webhookbridge.OutcomeNoOnboarding},
		{"card top-up", "payin-g4", "25", "VALIDATED", now, http.StatusOK, webhookbridge.OutcomeNoOnboarding},
		{"pending SEPA transfer", "payin-g5", "20", "PENDING", now, http.StatusOK, webhookbridge.OutcomeNoOnboarding},
		{"payin without method", "payin-g6", "", "VALIDATED", now, http.StatusOK, webhookbridge.OutcomeNoOnboarding},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := post(payinBody(t, secret, fmt.Sprintf("wh-grace-%d", i), tt.id, "wallet-unknown-1", tt.method, tt.status, tt.createdAt))
			require.Equal(t, tt.wantCode, r.code)
			require.Equal(t, tt.wantOutcome, r.answer.Status)
			if tt.wantCode == http.StatusServiceUnavailable {
				require.Equal(t, webhookbridge.RetryAfterSeconds, r.header.Get("Retry-After"))
			} else {
				require.Empty(t, r.header.Get("Retry-After"))
			}
		})
	}
	require.Equal(t, 2.0, metrics.requests(treezor.EventPayinUpdate, webhookbridge.OutcomeWalletPending))
	require.Equal(t, 4.0, metrics.requests(treezor.EventPayinUpdate, webhookbridge.OutcomeNoOnboarding))
	for _, tt := range tests {
		require.False(t, signalledWith(ctx, t, c, bystander, tt.id), "%s signalled to an onboarding without its wallet", tt.id)
	}

	t.Run("wallet shown between two deliveries", func(t *testing.T) {
		body := payinBody(t, secret, "wh-grace-redelivered", "payin-g7", "wallet-late-1", "20", "VALIDATED", time.Now())
		first := post(body)
		require.Equal(t, http.StatusServiceUnavailable, first.code)
		require.Equal(t, webhookbridge.OutcomeWalletPending, first.answer.Status)

		// The onboarding that owns the wallet is now shown by visibility (here: started with
		// it; in production: the workflow publishing the wallets it read at Treezor).
		in := workflows.Input{UserID: "grace-owner-1", Country: "DE", WalletID: "wallet-late-1"}
		run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
			ID: workflows.WorkflowID(in.UserID), TaskQueue: "no-worker",
			TypedSearchAttributes: workflows.StartSearchAttributesOf(in),
		}, workflows.WorkflowName, in)
		require.NoError(t, err)
		require.False(t, signalledWith(ctx, t, c, run, "payin-g7"), "the 503 delivery signalled nothing")
		require.Eventually(t, func() bool {
			resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
				Query: fmt.Sprintf("%s = 'wallet-late-1' AND ExecutionStatus = 'Running'", workflows.SATreezorWalletID)})
			return err == nil && len(resp.GetExecutions()) == 1
		}, 30*time.Second, 50*time.Millisecond, "visibility shows the wallet")

		second := post(body)
		require.Equal(t, http.StatusOK, second.code)
		require.Equal(t, webhookbridge.OutcomeSignalled, second.answer.Status)
		require.True(t, signalledWith(ctx, t, c, run, "payin-g7"), "the redelivery reached the wallet's onboarding")
	})
}

// TestSEPATransferIntoAnEndedOnboardingsWallet: a validated SEPA credit transfer into the
// wallet of an onboarding that has ended is answered "no-onboarding" at once, not 503 for
// the whole payin grace (the user's wallet keeps receiving transfers after the onboarding).
func TestSEPATransferIntoAnEndedOnboardingsWallet(t *testing.T) {
	const secret = "whsec-payin-ended-test"
	ts := testenv.NewTemporal(t)
	c := ts.GetDefaultClient()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: workflows.WorkflowID("grace-ended-1"), TaskQueue: "no-worker",
		TypedSearchAttributes: temporal.NewSearchAttributes(
			workflows.SAKeyTreezorWalletIDs.ValueSet([]string{"wallet-ended-1"}),
			workflows.SAKeyTreezorUserID.ValueSet("grace-ended-1")),
	}, workflows.WorkflowName, workflows.Input{UserID: "grace-ended-1", Country: "DE"})
	require.NoError(t, err)
	require.NoError(t, c.TerminateWorkflow(ctx, run.GetID(), run.GetRunID(), "ended for the test"))
	require.Eventually(t, func() bool {
		resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Query: fmt.Sprintf("%s = 'wallet-ended-1' AND ExecutionStatus = 'Terminated'", workflows.SATreezorWalletIDs)})
		return err == nil && len(resp.GetExecutions()) == 1
	}, 30*time.Second, 50*time.Millisecond, "visibility shows the ended run")

	h, err := webhookbridge.New(webhookbridge.Config{Secrets: []string{secret}, Temporal: c,
		LookupAttempts: 2, LookupInterval: 100 * time.Millisecond, PayinGrace: payinGrace})
	require.NoError(t, err)
	srv := httptest.NewServer(h)
	defer srv.Close()

	body := payinBody(t, secret, "wh-grace-ended", "payin-e1", "wallet-ended-1", "20", "VALIDATED", time.Now())
	r := postTo(t, srv.URL, bytes.NewReader(body), int64(len(body)), "application/json")
	require.Equal(t, http.StatusOK, r.code, "answered at once, not redelivered for the grace")
	require.Equal(t, webhookbridge.OutcomeNoOnboarding, r.answer.Status)
}
