package treezorsim

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/qesflow/qesflow/treezor"
)

// runFullFlow drives one German user through QES success, the KYC review and a SEPA payin,
// and returns every webhook the receiver got once the simulator is idle.
func runFullFlow(t *testing.T, h *harness, userID string) []received {
	t.Helper()
	ident := h.initiate(userID, "DE")
	require.NoError(t, h.sim.Act(ident.IdentificationID, Success()))
	_, err := h.client.RequestKYCReview(context.Background(), userID, "")
	require.NoError(t, err)
	require.NoError(t, h.sim.DecideKYC(userID, KYCValidate, "ok"))
	_, err = h.sim.SEPAPayin(userID, "")
	require.NoError(t, err)
	h.waitIdle()
	return h.rec.all()
}

// TestWebhookVariantsAreDeliveredAndDecodable switches every variant on: each documented
// form appears, and the client's decoder reads every delivery (the receiver checks each one
// as the bridge does).
func TestWebhookVariantsAreDeliveredAndDecodable(t *testing.T) {
	all := AllWebhookVariants()
	all.HoldMax = 50 * time.Millisecond
	h := newHarness(t, func(c *Config) { c.Webhooks = all })
	h.rec.acceptVariants()
	got := runFullFlow(t, h, "variants-1")
	require.Len(t, got, h.sim.Stats().WebhooksEmitted, "every webhook delivered once")

	forms := map[string]int{}
	for _, r := range got {
		forms[r.contentType]++
		wrapped := bytes.HasPrefix(r.body, []byte(`{"messageId":`))
		if wrapped {
			forms["wrapped"]++
		} else {
			forms["flat"]++
		}
		switch {
		case r.event.Type == treezor.EventUserKYCRequest:
			require.True(t, wrapped, "user.kycrequest comes in the wrapped form")
			require.Equal(t, treezor.KYCReviewPending, r.event.KYCReview)
			require.Equal(t, "variants-1", r.event.UserID)
		case strings.HasPrefix(r.event.Type, "qes."):
			require.Empty(t, r.event.UserID, "QES payloads carry no userId")
			require.NotEmpty(t, r.event.IdentificationID)
			if r.event.Type == treezor.EventQESCreated || r.event.Type == treezor.EventQESProcessing {
				require.Contains(t, string(r.env.ObjectPayload), `"reason":[]`)
			}
		case strings.HasPrefix(r.event.Type, "payin."):
			require.Equal(t, PayinPlaceholderUserID, r.event.UserID)
			require.NotEmpty(t, r.event.WalletID)
			require.Contains(t, string(r.body), "Überweisung für Konto/QES", "raw UTF-8 and unescaped /")
		case r.event.Type == treezor.EventUserKYCReview:
			require.Contains(t, string(r.body), `"userTag":"qesflow/sim"`)
		}
	}
	for _, form := range []string{"application/json", "text/plain", "wrapped", "flat"} {
		require.Positive(t, forms[form], "no webhook as %s: %v", form, forms)
	}
	var methods []int
	for _, r := range got {
		if r.event.Type == treezor.EventPayinCreate {
			methods = append(methods, r.event.PaymentMethodID)
		}
	}
	require.Equal(t, []int{25, 20}, methods, "a card top-up comes before the SEPA transfer")
	types := eventTypes(got)
	require.Contains(t, types, treezor.EventUserKYCRequest)
	require.Less(t, slices.Index(types, treezor.EventUserKYCRequest), slices.Index(types, "user.kycreview"),
		"user.kycrequest follows the review request, before the decision")
}

// TestHoldReordersAcrossActions: a webhook held back is delivered after the next action's
// webhooks, and one with no next action is still delivered after HoldMax.
func TestHoldReordersAcrossActions(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Webhooks = WebhookVariants{HoldRate: 1, HoldMax: 500 * time.Millisecond} })
	ident := h.initiate("hold-1", "FR")
	require.NoError(t, h.sim.Act(ident.IdentificationID, ReviewPending()))
	require.NoError(t, h.sim.Act(ident.IdentificationID, Success()))
	h.waitIdle()
	types := eventTypes(h.rec.forUser("hold-1"))
	require.Len(t, types, h.sim.Stats().WebhooksEmitted, "held webhooks are delivered too: %v", types)
	require.Equal(t, treezor.EventQESCreated, types[0])
	require.Greater(t, slices.Index(types, treezor.EventQESProcessing), slices.Index(types, treezor.EventQESFinalized),
		"qes.processing of the first action arrives after qes.finalized of the second: %v", types)
	require.Equal(t, 2, h.sim.Stats().WebhooksHeld)
}

// TestTreezorRetryCadence: the realistic option retries every minute.
func TestTreezorRetryCadence(t *testing.T) {
	h := newHarness(t)
	require.Equal(t, 5*time.Millisecond, h.sim.retryInterval())
	h.sim.SetWebhookVariants(WebhookVariants{TreezorRetryCadence: true})
	require.Equal(t, TreezorRetryInterval, h.sim.retryInterval())
	require.Equal(t, time.Minute, TreezorRetryInterval)
}

func TestParseWebhookVariants(t *testing.T) {
	v, err := ParseWebhookVariants("")
	require.NoError(t, err)
	require.Equal(t, WebhookVariants{HoldMax: DefaultHoldMax}, v)

	v, err = ParseWebhookVariants(" wrapped=0.25, text ,raw,php,no-qes-user,hold=0.5,kycrequest,payin-placeholder,other-payins,treezor-retries")
	require.NoError(t, err)
	require.Equal(t, WebhookVariants{Wrapped: 0.25, TextPlain: 1, RawPayload: true, PHPShapes: true, OmitQESUserID: true,
		HoldRate: 0.5, HoldMax: DefaultHoldMax, KYCRequest: true, PayinPlaceholderUser: true, OtherPayins: true,
		TreezorRetryCadence: true}, v)

	v, err = ParseWebhookVariants("treezor-retries,all")
	require.NoError(t, err)
	want := AllWebhookVariants()
	want.TreezorRetryCadence, want.HoldMax = true, DefaultHoldMax
	require.Equal(t, want, v)

	for _, bad := range []string{"wrapped=2", "wrapped=x", "raw=0.5", "sideways"} {
		_, err := ParseWebhookVariants(bad)
		require.Error(t, err, bad)
	}
}
