package hostile

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/qesflow/qesflow/webhookbridge"
	"github.com/qesflow/qesflow/workflows"
)

// TestRelabelledEnvelopesAreRefused replays genuinely signed payloads under another unsigned
// event type, webhook id and object id (Treezor signs only object_payload). The bridge must
// believe only the signed payload: both are refused (400, "inconsistent") and change nothing.
func TestRelabelledEnvelopesAreRefused(t *testing.T) {
	s := startStack(t)
	const userA, userB = "envelope-a", "envelope-b"
	identA := runningOnboarding(t, s, userA)
	identB := runningOnboarding(t, s, userB)
	secret := s.Credentials.WebhookSecret

	t.Run("signed qes.created relabelled qes.aborted with a new webhook id", func(t *testing.T) {
		created := mustJSON(t, map[string]any{"qes": []any{map[string]any{"userId": userA, "identificationId": identA}}})
		genuine := bridgeCase{name: "genuine qes.created", body: envelopeFor("qes.created", "env-created-1", "qes", identA, created, sign(t, secret, created)),
			wantStatus: http.StatusOK, wantOutcome: webhookbridge.OutcomeSignalled}
		checkBridgeAnswer(t, genuine, sendWebhook(t, s, genuine))
		before := waitSnapshot(t, s, userA, "IN_PROGRESS", func(sn snapshot) bool { return sn.State == workflows.StateInProgress })
		history := historyCounts(t, s, userA)

		relabelled := bridgeCase{name: "relabelled", body: envelopeFor("qes.aborted", "env-aborted-forged", "qes", identA, created, sign(t, secret, created)),
			wantStatus: http.StatusBadRequest, wantOutcome: webhookbridge.OutcomeInconsistent}
		checkBridgeAnswer(t, relabelled, sendWebhook(t, s, relabelled))
		require.Equal(t, history, historyCounts(t, s, userA), "the relabelled envelope reached the workflow")
		require.Equal(t, before, workflowSnapshot(t, s, userA))
		require.Equal(t, workflows.StateInProgress, before.State)
	})

	t.Run("user A's signed user.kycreview relabelled qes.finalized with user B's identification", func(t *testing.T) {
		beforeA, beforeB := workflowSnapshot(t, s, userA), workflowSnapshot(t, s, userB)
		historyA, historyB := historyCounts(t, s, userA), historyCounts(t, s, userB)
		review := mustJSON(t, map[string]any{"users": []any{map[string]any{"userId": userA, "kycReview": "2", "kycLevel": "3"}}})
		for i, form := range []func([]byte) []byte{
			func(b []byte) []byte { return b },
			func(b []byte) []byte { // the wrapped form
				return []byte(`{"messageId":"m-1","webhookId":"env-cross-w","webhook":` + string(b) + `}`)
			},
		} {
			body := form(envelopeFor("qes.finalized", fmt.Sprintf("env-cross-%d", i), "qes", identB, review, sign(t, secret, review)))
			c := bridgeCase{name: "cross-user", body: body, wantStatus: http.StatusBadRequest, wantOutcome: webhookbridge.OutcomeInconsistent}
			checkBridgeAnswer(t, c, sendWebhook(t, s, c))
		}
		require.Equal(t, historyB, historyCounts(t, s, userB), "user B's onboarding received a signal")
		require.Equal(t, beforeB, workflowSnapshot(t, s, userB))
		require.Equal(t, workflows.StateAwaitingUser, beforeB.State)
		require.Equal(t, historyA, historyCounts(t, s, userA))
		require.Equal(t, beforeA, workflowSnapshot(t, s, userA))
	})
}

// envelopeFor is a flat envelope with the given unsigned fields around a signed payload.
func envelopeFor(event, webhookID, object, objectID string, payload []byte, signature string) []byte {
	return []byte(fmt.Sprintf(`{"webhook":%q,"webhook_id":%q,"webhook_created_at":17333184001234,"object":%q,"object_id":%q,"object_payload":%s,"object_payload_signature":%q}`,
		event, webhookID, object, objectID, payload, signature))
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return b
}
