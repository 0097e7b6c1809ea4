package webhookbridge_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/qesflow/qesflow/internal/testenv"
	"github.com/qesflow/qesflow/treezor"
	"github.com/qesflow/qesflow/webhookbridge"
)

// visibilityDown is a real Temporal client whose visibility queries fail while down is set,
// as during a server restart.
type visibilityDown struct {
	webhookbridge.Temporal
	down atomic.Bool
}

func (v *visibilityDown) ListWorkflow(ctx context.Context, req *workflowservice.ListWorkflowExecutionsRequest) (*workflowservice.ListWorkflowExecutionsResponse, error) {
	if v.down.Load() {
		return nil, serviceerror.NewUnavailable("visibility is restarting")
	}
	return v.Temporal.ListWorkflow(ctx, req)
}

// TestPayinLookupFailureIsRetried (issue 17, found by the chaos suite): a payin routed by
// wallet while visibility cannot be queried is answered 503 (Treezor redelivers), not 200
// "no onboarding", which would lose the SEPA transfer of an onboarding that published the
// wallet. Once visibility answers, a wallet no onboarding has is answered as any other: 503
// within the payin grace, acknowledged past it.
func TestPayinLookupFailureIsRetried(t *testing.T) {
	const secret = "whsec-payin-unavailable-test"
	ts := testenv.NewTemporal(t)
	temporal := &visibilityDown{Temporal: ts.GetDefaultClient()}
	h, err := webhookbridge.New(webhookbridge.Config{Secrets: []string{secret}, Temporal: temporal})
	require.NoError(t, err)
	srv := httptest.NewServer(h)
	defer srv.Close()

	payin := map[string]any{"payins": []any{map[string]any{
		"payinId": "payin-31", "userId": "3", "walletId": "wallet-31", "payinStatus": "VALIDATED", "paymentMethodId": "20"}}}
	temporal.down.Store(true)
	status, outcome := postSigned(t, srv.URL, secret, treezor.EventPayinUpdate, "wh-payin-31", "payin", "payin-31", payin)
	require.Equal(t, http.StatusServiceUnavailable, status)
	require.Equal(t, webhookbridge.OutcomeTemporalUnavailable, outcome)

	temporal.down.Store(false)
	status, outcome = postSigned(t, srv.URL, secret, treezor.EventPayinUpdate, "wh-payin-31", "payin", "payin-31", payin)
	require.Equal(t, http.StatusServiceUnavailable, status, "within the payin grace")
	require.Equal(t, webhookbridge.OutcomeWalletPending, outcome)

	old := payinBody(t, secret, "wh-payin-31", "payin-31", "wallet-31", "20", "VALIDATED",
		time.Now().Add(-webhookbridge.DefaultPayinGrace-time.Minute))
	r := postTo(t, srv.URL, bytes.NewReader(old), int64(len(old)), "application/json")
	require.Equal(t, http.StatusOK, r.code, "past the payin grace")
	require.Equal(t, webhookbridge.OutcomeNoOnboarding, r.answer.Status)
}
