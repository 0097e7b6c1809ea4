package treezor

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// contractWebhookSecret signed the fixtures under testdata/contract/webhooks.
const contractWebhookSecret = "contract-fixture-webhook-secret"

// contractWebhookEvents is what each webhook fixture must decode to (WebhookID, Type, Known,
// CreatedAt and PayloadHash are checked separately).
var contractWebhookEvents = map[string]Event{
	"qes.created.json":    {UserID: "4810231", IdentificationID: "TRZ-QES-7Q2M"},
	"qes.processing.json": {UserID: "4810231", IdentificationID: "TRZ-QES-7Q2M"},
	"qes.aborted.json": {UserID: "4810232", IdentificationID: "TRZ-QES-8R3N", Result: ResultAborted,
		ReasonCode: 3011, ReasonMessage: "USER_CANCELLATION_IDENTIFY_LATER"},
	"qes.finalized.success.json": {UserID: "4810231", IdentificationID: "TRZ-QES-7Q2M", Result: ResultSuccess},
	"qes.finalized.canceled-string-reason.json": {UserID: "4810233", IdentificationID: "TRZ-QES-9S4P",
		Result: ResultCanceled, ReasonCode: 3101},
	"qes.finalized.no-user-id.json":             {IdentificationID: "TRZ-QES-AT5Q", Result: ResultSuccessDataChanged},
	"user.kycreview.json":                       {UserID: "4810231", KYCReview: KYCReviewValidated, KYCLevel: 3, KYCReviewComment: "Dokumente geprüft"},
	"user.kycreview.refused-empty-comment.json": {UserID: "4810232", KYCReview: KYCReviewRefused},
	"user.kycrequest.wrapped.json":              {UserID: "4810231", KYCReview: KYCReviewPending},
	"document.create.json":                      {UserID: "4810231", DocumentID: "7712004", DocumentTypeID: 9, DocumentStatus: "PENDING"},
	"payin.create.sepa.json": {UserID: "3", PayinID: "5501201", WalletID: "3300451", PayinStatus: "PENDING",
		PaymentMethodID: 20},
	"payin.create.sct-inst.json": {UserID: "3", PayinID: "5501299", WalletID: "3300451", PayinStatus: "VALIDATED",
		PaymentMethodID: 27},
	"payin.update.sepa-validated.json": {UserID: "4810231", PayinID: "5501201", WalletID: "3300451",
		PayinStatus: "VALIDATED", PaymentMethodID: 20},
	"payin.create.card.json": {UserID: "4810231", PayinID: "5501202", WalletID: "3300451", PayinStatus: "VALIDATED",
		PaymentMethodID: 25},
	"payin.create.cheque.json": {UserID: "4810231", PayinID: "c84a092f-37d5-4867-8a09-e6f708192a3b", WalletID: "3300451",
		PayinStatus: "PENDING", PaymentMethodID: 26},
}

// TestContractWebhookFixtures decodes every documented webhook shape: the envelope in either
// form, the signature with the real algorithm, and the event from the signed payload only.
func TestContractWebhookFixtures(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "contract", "webhooks", "*.json"))
	require.NoError(t, err)
	require.Len(t, files, len(contractWebhookEvents), "every fixture has an expected event and the reverse")
	for _, path := range files {
		name := filepath.Base(path)
		t.Run(name, func(t *testing.T) {
			want, ok := contractWebhookEvents[name]
			require.True(t, ok, "no expected event for %s", name)
			body, err := os.ReadFile(path)
			require.NoError(t, err)
			env, err := DecodeEnvelope(body)
			require.NoError(t, err)
			require.NoError(t, Verify([]string{contractWebhookSecret}, env), "signature of %s", name)
			require.ErrorIs(t, Verify([]string{"another-secret"}, env), ErrBadSignature)
			require.NotEmpty(t, env.WebhookID)
			require.False(t, env.CreatedAt.IsZero())
			require.True(t, env.CreatedAt.After(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)))

			got, err := env.Event()
			require.NoError(t, err)
			want.WebhookID, want.Type, want.CreatedAt, want.Known = env.WebhookID, env.Webhook, env.CreatedAt, true
			want.PayloadHash = PayloadHash(env.ObjectPayload)
			require.Len(t, got.PayloadHash, 64)
			require.Equal(t, want, got)
		})
	}
}
