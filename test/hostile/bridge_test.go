package hostile

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/qesflow/qesflow/devstack"
	"github.com/qesflow/qesflow/treezor"
	"github.com/qesflow/qesflow/webhookbridge"
)

// bridgeCase is one hostile webhook delivery and the answer the bridge documents for it: the
// status and the outcome label of its JSON answer (also the metrics label).
type bridgeCase struct {
	name        string
	contentType string // "" sends application/json
	body        []byte
	chunked     bool
	method      string // "" is POST
	wantStatus  int
	wantOutcome string // "" when the answer is not the bridge's JSON (405 from the mux)
}

// webhookFixture builds webhooks for the running onboarding of userID.
type webhookFixture struct {
	secret, userID, identificationID string
}

// qesPayload is a qes.* object_payload for the fixture's user and identification, with
// item fields merged in (a nil value removes a field).
func (f webhookFixture) qesPayload(item map[string]any) []byte {
	it := map[string]any{"userId": f.userID, "identificationId": f.identificationID}
	for k, v := range item {
		if v == nil {
			delete(it, k)
			continue
		}
		it[k] = v
	}
	b, err := json.Marshal(map[string]any{"qes": []any{it}})
	if err != nil {
		panic(err)
	}
	return b
}

// envelope is a flat webhook body with payload spliced in raw; extra fields are appended raw.
func envelope(event, webhookID string, payload []byte, signature string, extra ...string) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, `{"webhook":%s,"webhook_id":%s,"webhook_created_at":17078274151234,"object":"qes","object_id":"x",`,
		jsonString(event), jsonString(webhookID))
	b.WriteString(`"object_payload":`)
	b.Write(payload)
	if signature != "" {
		fmt.Fprintf(&b, `,"object_payload_signature":%s`, jsonString(signature))
	}
	for _, e := range extra {
		b.WriteString("," + e)
	}
	b.WriteString("}")
	return b.Bytes()
}

// jsonString quotes s as JSON; a string that is not UTF-8 is written raw, bytes as they are
// (json.Marshal would replace them).
func jsonString(s string) string {
	if !utf8.ValidString(s) {
		return `"` + s + `"`
	}
	b, _ := json.Marshal(s)
	return string(b)
}

// sign signs payload with secret, failing the test when it cannot be signed.
func sign(t *testing.T, secret string, payload []byte) string {
	t.Helper()
	sig, err := treezor.Sign(secret, payload)
	require.NoError(t, err)
	return sig
}

// signed is a correctly signed qes webhook with the given payload.
func (f webhookFixture) signed(t *testing.T, event, webhookID string, payload []byte, extra ...string) []byte {
	t.Helper()
	return envelope(event, webhookID, payload, sign(t, f.secret, payload), extra...)
}

func randomSignature(t *testing.T) string {
	t.Helper()
	b := make([]byte, 32)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return base64.StdEncoding.EncodeToString(b)
}

// bridgeCases is the hostile table for POST /webhooks/treezor. Every case is aimed at the
// running onboarding of f.userID, so anything that got through would show in its timeline.
func bridgeCases(t *testing.T, f webhookFixture) []bridgeCase {
	aborted := f.qesPayload(map[string]any{"result": "ABORTED", "reason": map[string]any{"reasonCode": 3011}})
	finalized := f.qesPayload(map[string]any{"result": "SUCCESS"})
	forged := bytes.Replace(finalized, []byte(`"SUCCESS"`), []byte(`"FRAUD_SUSPICION_CONFIRMED"`), 1)
	require.NotEqual(t, finalized, forged)
	deepPayload := []byte(strings.Repeat("[", 600) + strings.Repeat("]", 600))
	nonUTF8 := f.qesPayload(map[string]any{"result": "ABORTED", "comment": "caf\u00e9"})
	nonUTF8 = bytes.Replace(nonUTF8, []byte("caf\u00e9"), []byte("caf\xe9"), 1) // Latin-1 é
	_, err := treezor.Sign(f.secret, nonUTF8)
	require.Error(t, err, "Treezor cannot sign a payload that is not UTF-8")
	huge := []byte(`{"qes":[{"userId":"` + f.userID + `","identificationId":"` + f.identificationID +
		`","result":"ABORTED","reason":{"reasonCode":99999999999999999999}}]}`)
	bigBody := append(envelope("qes.created", "big-1", finalized, sign(t, f.secret, finalized)), bytes.Repeat([]byte(" "), webhookbridge.DefaultMaxBody)...)
	bigBody = bigBody[:webhookbridge.DefaultMaxBody+1]
	unknownFields := f.qesPayload(map[string]any{"userId": "hostile-nobody", "isAdmin": true, "extra": map[string]any{"a": []int{1}}})
	flatUnsigned := envelope("qes.aborted", "wrapped-2", aborted, "")
	injected := 0
	injection := func(id string) []byte {
		injected++
		return f.signed(t, "qes.aborted", fmt.Sprintf("inj-%d", injected), f.qesPayload(map[string]any{"userId": id, "result": "ABORTED"}))
	}
	return []bridgeCase{
		{name: "no signature", body: envelope("qes.aborted", "h-1", aborted, ""),
			wantStatus: http.StatusInternalServerError, wantOutcome: webhookbridge.OutcomeBadSignature},
		{name: "wrong signature", body: envelope("qes.aborted", "h-2", aborted, randomSignature(t)),
			wantStatus: http.StatusInternalServerError, wantOutcome: webhookbridge.OutcomeBadSignature},
		{name: "signature not base64", body: envelope("qes.aborted", "h-3", aborted, "' OR 1=1 --"),
			wantStatus: http.StatusInternalServerError, wantOutcome: webhookbridge.OutcomeBadSignature},
		{name: "valid signature replayed with a changed body", body: envelope("qes.finalized", "h-4", forged, sign(t, f.secret, finalized)),
			wantStatus: http.StatusInternalServerError, wantOutcome: webhookbridge.OutcomeBadSignature},
		{name: "signed with a rotated-out secret", body: envelope("qes.aborted", "h-5", aborted, sign(t, "whsec_rotated_out", aborted)),
			wantStatus: http.StatusInternalServerError, wantOutcome: webhookbridge.OutcomeBadSignature},
		{name: "body 1 MiB + 1 with Content-Length", body: bigBody,
			wantStatus: http.StatusRequestEntityTooLarge, wantOutcome: webhookbridge.OutcomeTooLarge},
		{name: "body 1 MiB + 1 chunked", body: bigBody, chunked: true,
			wantStatus: http.StatusRequestEntityTooLarge, wantOutcome: webhookbridge.OutcomeTooLarge},
		{name: "Content-Type image/png", contentType: "image/png", body: f.signed(t, "qes.aborted", "h-6", aborted),
			wantStatus: http.StatusUnsupportedMediaType, wantOutcome: webhookbridge.OutcomeUnsupportedMedia},
		{name: "Content-Type unparsable", contentType: "application/json; charset", body: f.signed(t, "qes.aborted", "h-7", aborted),
			wantStatus: http.StatusUnsupportedMediaType, wantOutcome: webhookbridge.OutcomeUnsupportedMedia},
		{name: "empty body", body: []byte{},
			wantStatus: http.StatusBadRequest, wantOutcome: webhookbridge.OutcomeMalformed},
		{name: "100k [ as the body", body: []byte(strings.Repeat("[", 100_000)),
			wantStatus: http.StatusBadRequest, wantOutcome: webhookbridge.OutcomeMalformed},
		{name: "100k [ as object_payload", body: envelope("qes.aborted", "h-8", []byte(strings.Repeat("[", 100_000)), "x"),
			wantStatus: http.StatusBadRequest, wantOutcome: webhookbridge.OutcomeMalformed},
		{name: "payload nested 600 deep (PHP cannot sign beyond 512)", body: envelope("qes.aborted", "h-9", deepPayload, randomSignature(t)),
			wantStatus: http.StatusInternalServerError, wantOutcome: webhookbridge.OutcomeBadSignature},
		{name: "invalid UTF-8 in a payload string (unsignable)", body: envelope("qes.aborted", "h-10", nonUTF8, sign(t, f.secret, aborted)),
			wantStatus: http.StatusInternalServerError, wantOutcome: webhookbridge.OutcomeBadSignature},
		{name: "invalid UTF-8 in webhook_id, payload signed", body: f.signed(t, "qes.aborted", "h-\xff\xfe", aborted),
			wantStatus: http.StatusBadRequest, wantOutcome: webhookbridge.OutcomeMalformed},
		{name: "webhook_created_at 1e400", body: bytes.Replace(f.signed(t, "qes.aborted", "h-11", aborted),
			[]byte("17078274151234"), []byte("1e400"), 1),
			wantStatus: http.StatusBadRequest, wantOutcome: webhookbridge.OutcomeMalformed},
		{name: "webhook_created_at -1", body: bytes.Replace(f.signed(t, "qes.aborted", "h-12", aborted),
			[]byte("17078274151234"), []byte("-1"), 1),
			wantStatus: http.StatusBadRequest, wantOutcome: webhookbridge.OutcomeMalformed},
		{name: "reasonCode 99999999999999999999, signed", body: f.signed(t, "qes.aborted", "h-13", huge),
			wantStatus: http.StatusInternalServerError, wantOutcome: webhookbridge.OutcomeUndecodable},
		{name: "unknown fields, signed, user without onboarding", body: f.signed(t, "qes.created", "h-14", unknownFields, `"x_admin":true`, `"nested":{"a":[1,2]}`),
			wantStatus: http.StatusOK, wantOutcome: webhookbridge.OutcomeNoOnboarding},
		{name: "unknown event type with unknown fields, signed", body: f.signed(t, "card.update", "h-15", []byte(`{"cards":[{"cardId":1,"x":{"y":[]}}]}`), `"x_admin":true`),
			wantStatus: http.StatusOK, wantOutcome: webhookbridge.OutcomeIgnored},
		{name: "user id ../../etc, signed", body: injection("../../etc"),
			wantStatus: http.StatusOK, wantOutcome: webhookbridge.OutcomeUnroutable},
		{name: "user id 1' OR '1'='1, signed", body: injection("1' OR '1'='1"),
			wantStatus: http.StatusOK, wantOutcome: webhookbridge.OutcomeUnroutable},
		{name: `user id "; DROP TABLE users; --, signed`, body: injection(`"; DROP TABLE users; --`),
			wantStatus: http.StatusOK, wantOutcome: webhookbridge.OutcomeUnroutable},
		// Surrounding space is trimmed by the lenient id decoder (treezor/lenient.go), so the
		// newline goes inside the id.
		{name: "user id with a newline inside, signed", body: injection(f.userID[:3] + "\n" + f.userID[3:]),
			wantStatus: http.StatusOK, wantOutcome: webhookbridge.OutcomeUnroutable},
		{name: "user id with %00, signed", body: injection(f.userID + "%00"),
			wantStatus: http.StatusOK, wantOutcome: webhookbridge.OutcomeUnroutable},
		{name: "user id with a NUL byte, signed", body: injection(f.userID + "\x00"),
			wantStatus: http.StatusOK, wantOutcome: webhookbridge.OutcomeUnroutable},
		{name: "identification id injecting into the visibility query, signed",
			body: f.signed(t, "qes.aborted", "h-16", f.qesPayload(map[string]any{"userId": nil,
				"identificationId": f.identificationID + "' OR TreezorUserId = '" + f.userID, "result": "ABORTED"})),
			wantStatus: http.StatusOK, wantOutcome: webhookbridge.OutcomeUnroutable},
		{name: "identification id ../../etc without user id, signed",
			body:       f.signed(t, "qes.aborted", "h-17", f.qesPayload(map[string]any{"userId": nil, "identificationId": "../../etc", "result": "ABORTED"})),
			wantStatus: http.StatusOK, wantOutcome: webhookbridge.OutcomeUnroutable},
		{name: "webhook_id 1' OR '1'='1, signed", body: f.signed(t, "qes.aborted", "1' OR '1'='1", aborted),
			wantStatus: http.StatusBadRequest, wantOutcome: webhookbridge.OutcomeMalformed},
		{name: "wrapped envelope nested twice", body: []byte(`{"messageId":"m","webhookId":"w","webhook":{"webhook":{"webhook":"qes.aborted"}}}`),
			wantStatus: http.StatusBadRequest, wantOutcome: webhookbridge.OutcomeMalformed},
		{name: "wrapped envelope with an array inside", body: []byte(`{"messageId":"m","webhook":{"webhook":[1,2,{"a":null}]}}`),
			wantStatus: http.StatusBadRequest, wantOutcome: webhookbridge.OutcomeMalformed},
		{name: "wrapped envelope cut short", body: []byte(`{"messageId":"m","webhook":{"webhook":"qes.aborted","object_payload":{"qes":[`),
			wantStatus: http.StatusBadRequest, wantOutcome: webhookbridge.OutcomeMalformed},
		{name: "wrapped envelope, inner one unsigned", body: []byte(`{"messageId":"m","webhookId":"w-2","webhook":` + string(flatUnsigned) + `}`),
			wantStatus: http.StatusInternalServerError, wantOutcome: webhookbridge.OutcomeBadSignature},
		{name: "wrapped envelope with trailing garbage", body: append([]byte(`{"messageId":"m","webhook":`+string(flatUnsigned)+`}`), []byte("\x00garbage")...),
			wantStatus: http.StatusBadRequest, wantOutcome: webhookbridge.OutcomeMalformed},
		{name: "GET instead of POST", method: http.MethodGet,
			wantStatus: http.StatusMethodNotAllowed},
	}
}

// sendWebhook delivers one case to the bridge.
func sendWebhook(t *testing.T, s *devstack.Stack, c bridgeCase) response {
	t.Helper()
	method, ct := c.method, c.contentType
	if method == "" {
		method = http.MethodPost
	}
	if ct == "" {
		ct = "application/json"
	}
	var body []byte
	if method == http.MethodPost {
		body = c.body
		if body == nil {
			body = []byte{}
		}
	}
	return send(t, request{method: method, url: s.BridgeURL, rawPath: webhookbridge.Path,
		header: map[string]string{"Content-Type": ct}, body: body, chunked: c.chunked})
}

// bridgeAnswer is the bridge's JSON answer.
type bridgeAnswer struct {
	Status    string `json:"status"`
	WebhookID string `json:"webhookId"`
	Error     string `json:"error"`
}

// checkBridgeAnswer asserts the documented status and outcome, and that the answer echoes
// nothing of the request but a valid webhook id.
func checkBridgeAnswer(t *testing.T, c bridgeCase, resp response) {
	t.Helper()
	require.Equal(t, c.wantStatus, resp.status, "answer: %s", resp.body)
	if c.wantOutcome == "" {
		return
	}
	var a bridgeAnswer
	require.NoError(t, json.Unmarshal(resp.body, &a), "answer: %s", resp.body)
	require.Equal(t, c.wantOutcome, a.Status)
	for _, bad := range []string{"'", `"`, "..", "\n", "\x00", "%00", "DROP"} {
		require.NotContains(t, a.WebhookID+a.Error, bad, "the answer echoes request data")
	}
}
