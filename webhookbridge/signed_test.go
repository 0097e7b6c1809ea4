package webhookbridge_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/qesflow/qesflow/treezor"
	"github.com/qesflow/qesflow/webhookbridge"
	"github.com/qesflow/qesflow/workflows"
)

// postSigned signs payload with secret, sends it to the bridge at base in a flat envelope,
// and returns the HTTP status and the bridge's outcome.
func postSigned(t *testing.T, base, secret, typ, webhookID, object, objectID string, payload any) (int, string) {
	t.Helper()
	raw, err := json.Marshal(payload)
	require.NoError(t, err)
	sig, err := treezor.Sign(secret, raw)
	require.NoError(t, err)
	body, err := treezor.EncodeEnvelope(&treezor.Envelope{
		Webhook: typ, WebhookID: webhookID, CreatedAt: time.Now().UTC(),
		Object: object, ObjectID: objectID, ObjectPayload: raw, Signature: sig,
	})
	require.NoError(t, err)
	resp, err := http.Post(base+webhookbridge.Path, "application/json", bytes.NewReader(body))
	require.NoError(t, err)
	defer resp.Body.Close()
	var ans struct {
		Status string `json:"status"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&ans))
	return resp.StatusCode, ans.Status
}

// signalledWith reports whether a webhook signal in run's history carries marker.
func signalledWith(ctx context.Context, t *testing.T, c client.Client, run client.WorkflowRun, marker string) bool {
	t.Helper()
	iter := c.GetWorkflowHistory(ctx, run.GetID(), run.GetRunID(), false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for iter.HasNext() {
		ev, err := iter.Next()
		require.NoError(t, err)
		if a := ev.GetWorkflowExecutionSignaledEventAttributes(); a != nil && a.GetSignalName() == workflows.SignalWebhook &&
			strings.Contains(a.GetInput().String(), marker) {
			return true
		}
	}
	return false
}
