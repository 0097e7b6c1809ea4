package treezor

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

const qesAbortedPayload = `{"qes":[{"userId":"100200","identificationId":"TRZ-1","result":"ABORTED","reason":{"reasonCode":"3011","reasonMessage":"USER_CANCELLATION_IDENTIFY_LATER"}}]}`

func flatBody(webhook, id, createdAt, object, objectID, payload string) string {
	return `{"webhook":"` + webhook + `","webhook_id":` + id + `,"webhook_created_at":` + createdAt +
		`,"object":"` + object + `","object_id":"` + objectID + `","object_payload":` + payload +
		`,"object_payload_signature":"c2ln"}`
}

func TestDecodeEnvelopeForms(t *testing.T) {
	created := time.Date(2024, 2, 13, 12, 30, 15, 123400000, time.UTC)
	payloadWithSpaces := "{ \"qes\" : [ { \"userId\" : 100200 } ] }"
	tests := []struct {
		name string
		body string
		want Envelope
	}{
		{
			name: "flat, numbers as numbers",
			body: flatBody("qes.aborted", `123456`, `17078274151234`, "qes", "TRZ-1", qesAbortedPayload),
			want: Envelope{Webhook: "qes.aborted", WebhookID: "123456", CreatedAt: created, Object: "qes", ObjectID: "TRZ-1",
				ObjectPayload: json.RawMessage(qesAbortedPayload), Signature: "c2ln"},
		},
		{
			name: "flat, numbers as strings",
			body: flatBody("qes.aborted", `"123456"`, `"17078274151234"`, "qes", "TRZ-1", qesAbortedPayload),
			want: Envelope{Webhook: "qes.aborted", WebhookID: "123456", CreatedAt: created, Object: "qes", ObjectID: "TRZ-1",
				ObjectPayload: json.RawMessage(qesAbortedPayload), Signature: "c2ln"},
		},
		{
			name: "object payload kept byte for byte",
			body: flatBody("qes.created", `"9"`, `0`, "qes", "TRZ-1", payloadWithSpaces),
			want: Envelope{Webhook: "qes.created", WebhookID: "9", Object: "qes", ObjectID: "TRZ-1",
				ObjectPayload: json.RawMessage(payloadWithSpaces), Signature: "c2ln"},
		},
		{
			name: "string payload gives its content",
			body: flatBody("qes.created", `"9"`, `""`, "qes", "TRZ-1", mustQuote(t, qesAbortedPayload)),
			want: Envelope{Webhook: "qes.created", WebhookID: "9", Object: "qes", ObjectID: "TRZ-1",
				ObjectPayload: json.RawMessage(qesAbortedPayload), Signature: "c2ln"},
		},
		{
			name: "wrapped form",
			body: `{"messageId":"m-1","webhookId":"w-1","webhook":` +
				flatBody("qes.aborted", `123456`, `17078274151234`, "qes", "TRZ-1", qesAbortedPayload) + `}`,
			want: Envelope{Webhook: "qes.aborted", WebhookID: "123456", CreatedAt: created, Object: "qes", ObjectID: "TRZ-1",
				ObjectPayload: json.RawMessage(qesAbortedPayload), Signature: "c2ln", MessageID: "m-1"},
		},
		{
			name: "wrapped form, webhook id only outside",
			body: `{"messageId":"m-1","webhookId":"w-1","webhook":{"webhook":"qes.created","object":"qes","object_payload":{}}}`,
			want: Envelope{Webhook: "qes.created", WebhookID: "w-1", Object: "qes", ObjectPayload: json.RawMessage(`{}`), MessageID: "m-1"},
		},
		{
			name: "missing payload and time",
			body: `{"webhook":"card.update","webhook_id":1}`,
			want: Envelope{Webhook: "card.update", WebhookID: "1"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeEnvelope([]byte(tt.body))
			require.NoError(t, err)
			require.Equal(t, tt.want, *got)
		})
	}
}

func mustQuote(t *testing.T, s string) string {
	t.Helper()
	b, err := json.Marshal(s)
	require.NoError(t, err)
	return string(b)
}

func TestDecodeEnvelopeMalformed(t *testing.T) {
	tests := []struct{ name, body string }{
		{"empty", ``},
		{"not JSON", `webhook=qes.created`},
		{"array", `[{"webhook":"qes.created"}]`},
		{"truncated", `{"webhook":"qes.created",`},
		{"trailing data", `{"webhook":"qes.created"} {}`},
		{"no type", `{"webhook_id":"1","object_payload":{}}`},
		{"type is a list", `{"webhook":["qes.created"]}`},
		{"id is an object", `{"webhook":"qes.created","webhook_id":{}}`},
		{"time is not a number", `{"webhook":"qes.created","webhook_created_at":"yesterday"}`},
		{"negative time", `{"webhook":"qes.created","webhook_created_at":-5}`},
		{"wrapped twice", `{"webhook":{"webhook":{"webhook":"qes.created"}}}`},
		{"wrapped inner with a bad id", `{"messageId":"1","webhook":{"webhook":"qes.created","object_payload":"x","webhook_id":[]}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeEnvelope([]byte(tt.body))
			require.ErrorIs(t, err, ErrMalformed)
		})
	}
}

func TestCreatedAt(t *testing.T) {
	tests := []struct {
		in   string
		want time.Time
	}{
		{"", time.Time{}},
		{"0", time.Time{}},
		{"17078274150000", time.Date(2024, 2, 13, 12, 30, 15, 0, time.UTC)},
		{"17078274150001", time.Date(2024, 2, 13, 12, 30, 15, 100000, time.UTC)},
		{"1.70782741500e13", time.Date(2024, 2, 13, 12, 30, 15, 0, time.UTC)},
	}
	for _, tt := range tests {
		got, err := parseCreatedAt(tt.in)
		require.NoError(t, err, tt.in)
		require.True(t, tt.want.Equal(got), "%s: got %s want %s", tt.in, got, tt.want)
		require.Equal(t, time.UTC, got.Location())
	}
}

func TestEncodeEnvelopeRoundTrip(t *testing.T) {
	payload := "{ \"qes\" : [ { \"userId\" : \"1\", \"name\":\"Müller/<x>\" } ] }"
	sig, err := Sign(testWebhookSecret, []byte(payload))
	require.NoError(t, err)
	in := &Envelope{
		Webhook: "qes.finalized", WebhookID: "w-77", CreatedAt: time.Date(2025, 1, 2, 3, 4, 5, 678900000, time.UTC),
		Object: "qes", ObjectID: "TRZ-5", ObjectPayload: json.RawMessage(payload), Signature: sig,
	}
	body, err := EncodeEnvelope(in)
	require.NoError(t, err)
	require.True(t, json.Valid(body))
	out, err := DecodeEnvelope(body)
	require.NoError(t, err)
	require.Equal(t, *in, *out)
	require.NoError(t, Verify([]string{testWebhookSecret}, out))

	_, err = EncodeEnvelope(&Envelope{})
	require.ErrorIs(t, err, ErrInvalidArgument)
	_, err = EncodeEnvelope(&Envelope{Webhook: "qes.created", ObjectPayload: json.RawMessage(`{"a":`)})
	require.ErrorIs(t, err, ErrInvalidArgument)
}

func TestEventNormalisation(t *testing.T) {
	created := time.Date(2024, 2, 13, 12, 30, 15, 0, time.UTC)
	tests := []struct {
		name              string
		webhook, objectID string
		payload           string
		want              Event
	}{
		{
			name: "qes.aborted with string codes", webhook: EventQESAborted, objectID: "TRZ-1",
			payload: qesAbortedPayload,
			want: Event{UserID: "100200", IdentificationID: "TRZ-1", Result: ResultAborted, ReasonCode: 3011,
				ReasonMessage: "USER_CANCELLATION_IDENTIFY_LATER"},
		},
		{
			name: "qes.finalized with numbers, object_id never used", webhook: EventQESFinalized, objectID: "555",
			payload: `{"qes":[{"userId":100200,"result":" success ","reason":null,"firstname":"Émilie","email":"e@example.com"}]}`,
			want:    Event{UserID: "100200", Result: ResultSuccess},
		},
		{
			name: "qes.finalized canceled with numeric identification id", webhook: EventQESFinalized, objectID: "other",
			payload: `{"qes":[{"userId":"1","identificationId":987,"result":"CANCELED","reason":{"reasonCode":3101,"reasonMessage":"ID_BLURRY"}}]}`,
			want: Event{UserID: "1", IdentificationID: "987", Result: ResultCanceled, ReasonCode: 3101,
				ReasonMessage: "ID_BLURRY"},
		},
		{
			name: "qes.processing as a single object", webhook: EventQESProcessing, objectID: "TRZ-2",
			payload: `{"qes":{"userId":"3","result":"REVIEW_PENDING"}}`,
			want:    Event{UserID: "3", Result: ResultReviewPending},
		},
		{
			name: "qes.created with reason at item level", webhook: EventQESCreated, objectID: "TRZ-3",
			payload: `{"qes":[{"userId":"3","reasonCode":"3201","reasonMessage":"WARNING_SELFIE_REAL_PERSON"}]}`,
			want:    Event{UserID: "3", ReasonCode: 3201, ReasonMessage: "WARNING_SELFIE_REAL_PERSON"},
		},
		{
			name: "user.kycreview with strings", webhook: EventUserKYCReview, objectID: "100200",
			payload: `{"users":[{"userId":"100200","kycReview":"2","kycLevel":"3","kycReviewComment":"ok","lastname":"Müller"}]}`,
			want:    Event{UserID: "100200", KYCReview: KYCReviewValidated, KYCLevel: 3, KYCReviewComment: "ok"},
		},
		{
			name: "user.kycreview with numbers, object_id never used", webhook: EventUserKYCReview, objectID: "100200",
			payload: `{"users":[{"kycReview":3,"kycLevel":0}]}`,
			want:    Event{KYCReview: KYCReviewRefused},
		},
		{
			name: "only the first item is read, later items are not decoded", webhook: EventUserKYCReview, objectID: "x",
			payload: `{"users": [ {"userId":"7","kycReview":"1"} , {"userId":{"id":8},"kycReview":"MAYBE"} ]}`,
			want:    Event{UserID: "7", KYCReview: KYCReviewPending},
		},
		{
			name: "escaped strings", webhook: EventUserKYCReview, objectID: "x",
			payload: `{"users":[{"userId":"1\u0030","kycReview":"\u0032","kycReviewComment":"a\/b \u00e9"}]}`,
			want:    Event{UserID: "10", KYCReview: KYCReviewValidated, KYCReviewComment: "a/b é"},
		},
		{
			name: "document.create", webhook: EventDocumentCreate, objectID: "777",
			payload: `{"documents":[{"documentId":777,"userId":"100200","documentTypeId":"9","documentStatus":"PENDING","fileName":"passport.pdf"}]}`,
			want:    Event{UserID: "100200", DocumentID: "777", DocumentTypeID: 9, DocumentStatus: "PENDING"},
		},
		{
			name: "payin.update", webhook: EventPayinUpdate, objectID: "p-9",
			payload: `{"payins":[{"payinId":"p-9","userId":100200,"walletId":42,"payinStatus":"VALIDATED","paymentMethodId":"20","amount":"10.00"}]}`,
			want:    Event{UserID: "100200", PayinID: "p-9", WalletID: "42", PayinStatus: "VALIDATED", PaymentMethodID: 20},
		},
		{
			name: "payin.create, object_id never used", webhook: EventPayinCreate, objectID: "p-10",
			payload: `{"payins":[{"userId":"5","walletId":"6","payinStatus":"PENDING","paymentMethodId":25}]}`,
			want:    Event{UserID: "5", WalletID: "6", PayinStatus: "PENDING", PaymentMethodID: 25},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := &Envelope{Webhook: tt.webhook, WebhookID: "w-1", CreatedAt: created, ObjectID: tt.objectID,
				ObjectPayload: json.RawMessage(tt.payload)}
			got, err := env.Event()
			require.NoError(t, err)
			want := tt.want
			want.WebhookID, want.Type, want.CreatedAt, want.Known = "w-1", tt.webhook, created, true
			want.PayloadHash = PayloadHash([]byte(tt.payload))
			require.Equal(t, want, got)
		})
	}
}

func TestEventUnknownTypeIsGeneric(t *testing.T) {
	for _, payload := range []string{`{"cards":[{"cardId":1}]}`, `not even json`, ``} {
		env := &Envelope{Webhook: "card.update", WebhookID: "w-2", ObjectID: "1", ObjectPayload: json.RawMessage(payload)}
		got, err := env.Event()
		require.NoError(t, err)
		require.Equal(t, Event{WebhookID: "w-2", Type: "card.update", PayloadHash: PayloadHash([]byte(payload))}, got)
	}
}

func TestEventMalformedKnownType(t *testing.T) {
	tests := []struct{ name, webhook, payload string }{
		{"no payload", EventQESFinalized, ``},
		{"payload null", EventQESFinalized, `null`},
		{"payload not JSON", EventQESFinalized, `{"qes":[`},
		{"payload a list", EventUserKYCReview, `[1,2]`},
		{"empty list", EventQESAborted, `{"qes":[]}`},
		{"empty list with spaces", EventQESAborted, "{\"qes\":[ \n\t]}"},
		{"first item not an object", EventQESAborted, `{"qes":["x",{"userId":"1"}]}`},
		{"list is a string", EventDocumentCreate, `{"documents":"x"}`},
		{"reason code not a number", EventQESAborted, `{"qes":[{"reason":{"reasonCode":"abc"}}]}`},
		{"kycReview unknown name", EventUserKYCReview, `{"users":[{"kycReview":"MAYBE"}]}`},
		{"user id is an object", EventPayinCreate, `{"payins":[{"userId":{"id":1}}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := &Envelope{Webhook: tt.webhook, WebhookID: "w-3", ObjectPayload: json.RawMessage(tt.payload)}
			_, err := env.Event()
			require.ErrorIs(t, err, ErrMalformed)
		})
	}
}

func TestEventCarriesNoPII(t *testing.T) {
	payload := `{"qes":[{"userId":"1","identificationId":"2","result":"SUCCESS","firstname":"Émilie","lastname":"Müller",` +
		`"email":"emilie@example.com","phone":"+33600000000","identificationURL":"https://go.idnow.de/x"}]}`
	env := &Envelope{Webhook: EventQESFinalized, WebhookID: "w", ObjectPayload: json.RawMessage(payload)}
	ev, err := env.Event()
	require.NoError(t, err)
	out, err := json.Marshal(ev)
	require.NoError(t, err)
	for _, pii := range []string{"Müller", "milie", "example.com", "+336", "idnow"} {
		require.False(t, strings.Contains(string(out), pii), "event leaks %q: %s", pii, out)
	}
}
