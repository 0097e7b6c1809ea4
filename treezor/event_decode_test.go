package treezor

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestEventPHPShapes decodes every field in the shapes PHP's json_encode gives it.
func TestEventPHPShapes(t *testing.T) {
	tests := []struct {
		name, webhook, payload string
		want                   Event
	}{
		{"reason empty array", EventQESCreated, `{"qes":[{"userId":"1","identificationId":"I","reason":[]}]}`,
			Event{UserID: "1", IdentificationID: "I"}},
		{"reason empty object", EventQESProcessing, `{"qes":[{"userId":"1","identificationId":"I","reason":{}}]}`,
			Event{UserID: "1", IdentificationID: "I"}},
		{"reason null", EventQESProcessing, `{"qes":[{"userId":"1","identificationId":"I","reason":null,"result":null}]}`,
			Event{UserID: "1", IdentificationID: "I"}},
		{"reason a message string", EventQESFinalized, `{"qes":[{"userId":"1","identificationId":"I","result":"CANCELED","reason":"ID_BLURRY"}]}`,
			Event{UserID: "1", IdentificationID: "I", Result: ResultCanceled, ReasonMessage: "ID_BLURRY"}},
		{"reason a code string", EventQESAborted, `{"qes":[{"userId":"1","identificationId":"I","reason":"3011"}]}`,
			Event{UserID: "1", IdentificationID: "I", ReasonCode: 3011}},
		{"reason a number", EventQESAborted, `{"qes":[{"userId":"1","identificationId":"I","result":"ABORTED","reason":3011}]}`,
			Event{UserID: "1", IdentificationID: "I", Result: ResultAborted, ReasonCode: 3011}},
		{"reason a list of one", EventQESAborted, `{"qes":[{"userId":1,"identificationId":2,"reason":[{"reasonCode":"3012","reasonMessage":"M"}]}]}`,
			Event{UserID: "1", IdentificationID: "2", ReasonCode: 3012, ReasonMessage: "M"}},
		{"reason code empty, message empty array", EventQESFinalized, `{"qes":[{"userId":"1","identificationId":"I","result":"SUCCESS","reason":{"reasonCode":"","reasonMessage":[]}}]}`,
			Event{UserID: "1", IdentificationID: "I", Result: ResultSuccess}},
		{"result false", EventQESCreated, `{"qes":[{"userId":"1","identificationId":"I","result":false}]}`,
			Event{UserID: "1", IdentificationID: "I"}},
		{"kycReview empty array, level empty string", EventUserKYCReview, `{"users":[{"userId":"1","kycReview":[],"kycLevel":"","kycReviewComment":[]}]}`,
			Event{UserID: "1"}},
		{"kycrequest with numbers", EventUserKYCRequest, `{"users":[{"userId":7,"kycReview":1,"kycLevel":0}]}`,
			Event{UserID: "7", KYCReview: KYCReviewPending}},
		{"payin method as number, status lower case", EventPayinUpdate, `{"payins":[{"payinId":9,"walletId":"8","userId":"1","payinStatus":"validated","paymentMethodId":27}]}`,
			Event{UserID: "1", PayinID: "9", WalletID: "8", PayinStatus: "VALIDATED", PaymentMethodID: 27}},
		{"payin method empty", EventPayinCreate, `{"payins":[{"payinId":"9","walletId":"8","payinStatus":"PENDING","paymentMethodId":null}]}`,
			Event{PayinID: "9", WalletID: "8", PayinStatus: "PENDING"}},
		{"document type as float string", EventDocumentCreate, `{"documents":[{"documentId":"5","userId":"1","documentTypeId":"9.0","documentStatus":"PENDING"}]}`,
			Event{UserID: "1", DocumentID: "5", DocumentTypeID: 9, DocumentStatus: "PENDING"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := &Envelope{Webhook: tt.webhook, WebhookID: "w", ObjectPayload: json.RawMessage(tt.payload)}
			got, err := env.Event()
			require.NoError(t, err)
			want := tt.want
			want.WebhookID, want.Type, want.Known, want.PayloadHash = "w", tt.webhook, true, PayloadHash([]byte(tt.payload))
			require.Equal(t, want, got)
		})
	}
}

// TestEventTypeMustMatchSignedPayload: the unsigned type is believed only when the signed
// payload's root key and fields match it (a relabelled envelope is refused).
func TestEventTypeMustMatchSignedPayload(t *testing.T) {
	const created = `{"qes":[{"userId":"1","identificationId":"I"}]}`
	const kycReview = `{"users":[{"userId":"1","kycReview":"2"}]}`
	tests := []struct{ name, webhook, payload string }{
		{"qes.created relabelled qes.aborted", EventQESAborted, created},
		{"qes.created relabelled qes.finalized", EventQESFinalized, created},
		{"qes.finalized SUCCESS relabelled qes.aborted", EventQESAborted, `{"qes":[{"userId":"1","identificationId":"I","result":"SUCCESS"}]}`},
		{"user.kycreview relabelled qes.finalized", EventQESFinalized, kycReview},
		{"user.kycreview relabelled payin.update", EventPayinUpdate, kycReview},
		{"qes payload relabelled user.kycreview", EventUserKYCReview, created},
		{"item without root key", EventUserKYCReview, `{"userId":"1","kycReview":"2"}`},
		{"payload a list", EventUserKYCReview, `[{"userId":"1"}]`},
		{"payload null", EventQESFinalized, `null`},
		{"no payload", EventQESFinalized, ``},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := &Envelope{Webhook: tt.webhook, WebhookID: "w", ObjectID: "B-ident", ObjectPayload: json.RawMessage(tt.payload)}
			_, err := env.Event()
			require.ErrorIs(t, err, ErrInconsistent)
			require.ErrorIs(t, err, ErrMalformed)
		})
	}
	// The same payloads under their own type decode.
	for webhook, payload := range map[string]string{EventQESCreated: created, EventUserKYCReview: kycReview} {
		_, err := (&Envelope{Webhook: webhook, ObjectPayload: json.RawMessage(payload)}).Event()
		require.NoError(t, err, webhook)
	}
}

// TestEventUndecodableIsNotInconsistent: a payload with the right root key whose item cannot be
// decoded is malformed (the bridge answers 5xx so Treezor keeps it), not inconsistent.
func TestEventUndecodableIsNotInconsistent(t *testing.T) {
	for _, payload := range []string{`{"qes":[]}`, `{"qes":"x"}`, `{"qes":[{"userId":{"a":1}}]}`, `{"qes":[{"reason":{"reasonCode":"abc"}}]}`} {
		_, err := (&Envelope{Webhook: EventQESCreated, ObjectPayload: json.RawMessage(payload)}).Event()
		require.ErrorIs(t, err, ErrMalformed, payload)
		require.NotErrorIs(t, err, ErrInconsistent, payload)
	}
}

// TestEventRoutesOnlyBySignedIDs: object_id (unsigned) never becomes a routing id.
func TestEventRoutesOnlyBySignedIDs(t *testing.T) {
	env := &Envelope{Webhook: EventQESFinalized, ObjectID: "user-B-identification",
		ObjectPayload: json.RawMessage(`{"qes":[{"result":"SUCCESS"}]}`)}
	ev, err := env.Event()
	require.NoError(t, err)
	require.Empty(t, ev.IdentificationID)
	require.Empty(t, ev.UserID)
}

// TestPayloadHashIsOfTheSignedBytes: the hash changes with the signed payload, not with the
// unsigned envelope.
func TestPayloadHashIsOfTheSignedBytes(t *testing.T) {
	payload := json.RawMessage(`{"qes":[{"userId":"1","identificationId":"I"}]}`)
	a, err := (&Envelope{Webhook: EventQESCreated, WebhookID: "w-1", ObjectPayload: payload}).Event()
	require.NoError(t, err)
	b, err := (&Envelope{Webhook: EventQESProcessing, WebhookID: "w-2", ObjectID: "x", ObjectPayload: payload}).Event()
	require.NoError(t, err)
	require.Equal(t, a.PayloadHash, b.PayloadHash)
	require.Equal(t, "92f5696c7fc4b24eaa636926196717cbe9a66fc84f2d8bcb6405874c03a48067", a.PayloadHash) // sha256sum of the payload bytes
	require.Len(t, a.PayloadHash, 64)
	c, err := (&Envelope{Webhook: EventQESCreated, WebhookID: "w-1", ObjectPayload: json.RawMessage(`{"qes":[{"userId":"2","identificationId":"I"}]}`)}).Event()
	require.NoError(t, err)
	require.NotEqual(t, a.PayloadHash, c.PayloadHash)
}

// TestDecodeWrappedEnvelopeOuterFields: in the wrapped form the signature and time are found
// inside "webhook" or, failing that, at the outer level.
func TestDecodeWrappedEnvelopeOuterFields(t *testing.T) {
	payload := `{"users":[{"userId":"6","kycReview":"1"}]}`
	sig, err := Sign(contractWebhookSecret, []byte(payload))
	require.NoError(t, err)
	body := `{"messageId":"m","webhookId":"w-9","webhook_created_at":17333191004444,"object_payload_signature":"` + sig +
		`","webhook":{"webhook":"user.kycrequest","object":"user","object_id":"6","object_payload":` + payload + `}}`
	env, err := DecodeEnvelope([]byte(body))
	require.NoError(t, err)
	require.Equal(t, "w-9", env.WebhookID)
	require.Equal(t, sig, env.Signature)
	require.False(t, env.CreatedAt.IsZero())
	require.NoError(t, Verify([]string{contractWebhookSecret}, env))
	ev, err := env.Event()
	require.NoError(t, err)
	require.Equal(t, EventUserKYCRequest, ev.Type)
	require.Equal(t, "6", ev.UserID)
	require.Equal(t, KYCReviewPending, ev.KYCReview)
}
