package webhookbridge_test

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/qesflow/qesflow/treezor"
	"github.com/qesflow/qesflow/webhookbridge"
	"github.com/qesflow/qesflow/workflows"
)

// contractWebhookSecret signed the fixtures under treezor/testdata/contract/webhooks.
const contractWebhookSecret = "contract-fixture-webhook-secret"

// testContractFixtures posts every documented webhook shape, signed as Treezor signs it, in
// both media types: none is refused (4xx) or left to Treezor's retries (5xx). Their users have
// no onboarding here, so each ends "no-onboarding" (or "unroutable"), never "malformed".
func testContractFixtures(t *testing.T, b *bridgeUnderTest) {
	files, err := filepath.Glob(filepath.Join("..", "treezor", "testdata", "contract", "webhooks", "*.json"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, path := range files {
		body, err := os.ReadFile(path)
		require.NoError(t, err)
		for _, contentType := range []string{"application/json", "text/plain; charset=utf-8"} {
			r := b.post(body, contentType)
			require.Equal(t, http.StatusOK, r.code, "%s as %s: %+v", filepath.Base(path), contentType, r.answer)
			require.Contains(t, []string{webhookbridge.OutcomeNoOnboarding, webhookbridge.OutcomeUnroutable}, r.answer.Status,
				"%s as %s", filepath.Base(path), contentType)
			require.NotEmpty(t, r.answer.WebhookID)
		}
	}
}

// testPHPShapesSignalled: a signed QES event with PHP's empty shapes ("reason": [], "result":
// null) reaches the workflow instead of being answered 400.
func testPHPShapesSignalled(t *testing.T, b *bridgeUnderTest) {
	const user = "php-shapes-user-1"
	s := b.startOnboarding(user)
	created := webhook{Type: treezor.EventQESCreated, ID: "wh-php-created-1", Object: "qes", ObjectID: s.IdentificationID,
		Payload: map[string]any{"qes": []any{map[string]any{
			"userId": user, "identificationId": s.IdentificationID, "result": nil, "reason": []any{},
		}}}}
	r := b.post(created.body(t), "text/plain")
	require.Equal(t, http.StatusOK, r.code, "%+v", r.answer)
	require.Equal(t, webhookbridge.OutcomeSignalled, r.answer.Status)
	b.waitFor(user, func(s workflows.Status) bool {
		return s.State == workflows.StateInProgress && timelineHas(s, "wh-php-created-1")
	})
}

// testKYCRequestWrapped: user.kycrequest in the wrapped envelope is decoded and signalled to
// the user's onboarding, which records it on the timeline.
func testKYCRequestWrapped(t *testing.T, b *bridgeUnderTest) {
	const user = "kycrequest-user-1"
	b.startOnboarding(user)
	request := webhook{Type: treezor.EventUserKYCRequest, ID: "wh-kycrequest-1", Object: "user", ObjectID: user, Wrapped: true,
		Payload: map[string]any{"users": []any{map[string]any{"userId": user, "kycReview": "1", "kycLevel": "0"}}}}
	before := b.requests(treezor.EventUserKYCRequest, webhookbridge.OutcomeSignalled)
	r := b.post(request.body(t), "application/json")
	require.Equal(t, http.StatusOK, r.code, "%+v", r.answer)
	require.Equal(t, webhookbridge.OutcomeSignalled, r.answer.Status)
	require.Equal(t, "wh-kycrequest-1", r.answer.WebhookID)
	require.Equal(t, before+1, b.requests(treezor.EventUserKYCRequest, webhookbridge.OutcomeSignalled))
	b.waitFor(user, func(s workflows.Status) bool { return timelineHas(s, "wh-kycrequest-1") })
}

// testSignatureMismatchLoggedOnce: mismatches answer 500 (Treezor redelivers), are each
// counted, and a run of them is logged once; a matching signature re-arms the log.
func testSignatureMismatchLoggedOnce(t *testing.T, b *bridgeUnderTest) {
	const msg = "webhook signature matches no configured secret"
	logged := func() int {
		n := 0
		for _, e := range b.logs.All() {
			if strings.HasPrefix(e.Message, msg) {
				n++
				require.NotEmpty(t, e.ContextMap()["keyHint"])
			}
		}
		return n
	}
	valid := webhook{Type: "card.create", ID: "wh-valid-card", Payload: map[string]any{"cards": []any{}}}
	require.Equal(t, http.StatusOK, b.post(valid.body(t), "application/json").code)
	mismatches := b.counter("qesflow_bridge_signature_mismatches_total", nil)
	before := logged()
	for i := range 3 {
		bad := withSecret(qesWebhook(treezor.EventQESFinalized, "wh-rotated-"+string(rune('a'+i)), "rotated-user", "ident-r", treezor.ResultSuccess, 0), "the-new-secret-we-do-not-have")
		r := b.post(bad.body(t), "application/json")
		require.Equal(t, http.StatusInternalServerError, r.code)
		require.Equal(t, webhookbridge.OutcomeBadSignature, r.answer.Status)
	}
	require.Equal(t, mismatches+3, b.counter("qesflow_bridge_signature_mismatches_total", nil))
	require.Equal(t, before+1, logged(), "a run of mismatches is logged once")

	require.Equal(t, http.StatusOK, b.post(valid.body(t), "application/json").code)
	bad := withSecret(qesWebhook(treezor.EventQESFinalized, "wh-rotated-z", "rotated-user", "ident-r", treezor.ResultSuccess, 0), "the-new-secret-we-do-not-have")
	require.Equal(t, http.StatusInternalServerError, b.post(bad.body(t), "application/json").code)
	require.Equal(t, before+2, logged(), "a matching signature re-arms the log")
}

// testIdentificationNotVisibleYet: a QES event without user id whose identification no
// running onboarding shows is answered 503 with Retry-After while it is young (visibility may
// lag), and "no-onboarding" only past the grace period.
func testIdentificationNotVisibleYet(t *testing.T, b *bridgeUnderTest) {
	young := qesWebhook(treezor.EventQESFinalized, "wh-young-1", "", "ident-not-visible-yet", treezor.ResultSuccess, 0)
	r := b.post(young.body(t), "application/json")
	require.Equal(t, http.StatusServiceUnavailable, r.code)
	require.Equal(t, webhookbridge.OutcomeIdentificationPending, r.answer.Status)
	require.Equal(t, webhookbridge.RetryAfterSeconds, r.header.Get("Retry-After"))

	old := young
	old.ID, old.CreatedAt = "wh-old-1", time.Now().Add(-webhookbridge.DefaultIdentificationGrace-time.Second)
	r = b.post(old.body(t), "application/json")
	require.Equal(t, http.StatusOK, r.code)
	require.Equal(t, webhookbridge.OutcomeNoOnboarding, r.answer.Status)
}
