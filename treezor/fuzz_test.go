package treezor

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
)

// fuzzSeeds are real-looking webhook bodies in both envelope forms.
var fuzzSeeds = []string{
	`{"webhook":"qes.aborted","webhook_id":"5021734","webhook_created_at":17078274151234,"object":"qes","object_id":"TRZ-1",` +
		`"object_payload":{"qes":[{"userId":"100200","identificationId":"TRZ-1","result":"ABORTED","reason":{"reasonCode":3011,"reasonMessage":"USER_CANCELLATION_IDENTIFY_LATER"}}]},` +
		`"object_payload_signature":"Cv3mrBKXpRXockaq4FtJTFU2K/8W1hWrXwdkQ79Xt40="}`,
	`{"messageId":"9c1f-77","webhookId":"5021735","webhook":{"webhook":"qes.finalized","webhook_id":5021735,"webhook_created_at":"17078274160000","object":"qes","object_id":98765,` +
		`"object_payload":{"qes":[{"userId":100200,"identificationId":98765,"result":"SUCCESS","reason":null}]},"object_payload_signature":"x"}}`,
	`{"webhook":"user.kycreview","webhook_id":"1","webhook_created_at":"0","object":"user","object_id":"100200",` +
		`"object_payload":"{\"users\":[{\"userId\":\"100200\",\"kycReview\":\"2\",\"kycLevel\":\"3\",\"lastname\":\"M\\u00fcller\"}]}","object_payload_signature":"y"}`,
	`{"webhook":"document.create","webhook_id":2,"object":"document","object_id":"777","object_payload":{"documents":[{"documentId":"777","userId":"100200","documentTypeId":9,"documentStatus":"PENDING","fileName":"pass/port.pdf"}]},"object_payload_signature":""}`,
	`{"webhook":"payin.update","webhook_id":"3","object":"payin","object_id":"p-1","object_payload":{"payins":[{"payinId":"p-1","userId":"100200","walletId":"42","payinStatus":"VALIDATED","amount":"10.00","messageToUser":"Émilie 😀"}]},"object_payload_signature":"z"}`,
	`{"webhook":"card.update","webhook_id":"4","object":"card","object_id":"1","object_payload":{"cards":[{"cardId":1,"pan":"4111XXXXXXXX1111"}]}}`,
	`{"webhook":"qes.created","object_payload":{"qes":[{"comment":"a\"b\\c\/d\n\u0001"}]}}`,
	`{"webhook":"qes.processing","object_payload":[[[[[]]]]]}`,
	`{}`,
	`[]`,
	`{"webhook":{"webhook":{}}}`,
}

// FuzzWebhookDecode checks that no input panics the decoder, the event normaliser, the
// verifier or the canonicaliser, and that canonical output is valid JSON, idempotent,
// means the same as its input, and verifies when signed.
func FuzzWebhookDecode(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	for _, v := range signatureVectors {
		f.Add([]byte(v.payload))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		checkCanonical(t, body)
		env, err := DecodeEnvelope(body)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("decode error does not wrap ErrMalformed: %v", err)
			}
			return
		}
		if _, err := env.Event(); err != nil && !errors.Is(err, ErrMalformed) {
			t.Fatalf("event error does not wrap ErrMalformed: %v", err)
		}
		if err := Verify([]string{"fuzz-secret"}, env); err != nil && !errors.Is(err, ErrBadSignature) {
			t.Fatalf("verify error does not wrap ErrBadSignature: %v", err)
		}
		checkCanonical(t, env.ObjectPayload)
		sig, err := Sign("fuzz-secret", env.ObjectPayload)
		if err != nil {
			return
		}
		env.Signature = sig
		if err := Verify([]string{"other", "fuzz-secret"}, env); err != nil {
			t.Fatalf("payload signed with the secret does not verify: %v", err)
		}
		if err := Verify([]string{"other"}, env); !errors.Is(err, ErrBadSignature) {
			t.Fatalf("wrong secret verified: %v", err)
		}
		encoded, err := EncodeEnvelope(env)
		if err != nil {
			t.Fatalf("re-encode a decoded envelope: %v", err)
		}
		again, err := DecodeEnvelope(encoded)
		if err != nil {
			t.Fatalf("decode re-encoded envelope: %v", err)
		}
		if err := Verify([]string{"fuzz-secret"}, again); err != nil {
			t.Fatalf("re-encoded envelope does not verify: %v", err)
		}
	})
}

// checkCanonical asserts the canonicaliser's properties on one input.
func checkCanonical(t *testing.T, in []byte) {
	t.Helper()
	out, err := Canonicalize(in)
	if err != nil {
		if !errors.Is(err, ErrMalformed) {
			t.Fatalf("canonicalize error does not wrap ErrMalformed: %v", err)
		}
		return
	}
	if !json.Valid(out) {
		t.Fatalf("canonical output is not valid JSON: %q", out)
	}
	for _, b := range out {
		if b >= 0x80 {
			t.Fatalf("canonical output holds a non-ASCII byte: %q", out)
		}
	}
	twice, err := Canonicalize(out)
	if err != nil || !bytes.Equal(out, twice) {
		t.Fatalf("canonicalize is not idempotent: %q -> %q (%v)", out, twice, err)
	}
	before, errIn := decodeWithNumbers(in)
	after, errOut := decodeWithNumbers(out)
	if errIn != nil || errOut != nil {
		t.Fatalf("canonicalize accepted what encoding/json rejects: %q (%v, %v)", in, errIn, errOut)
	}
	if !reflect.DeepEqual(before, after) {
		t.Fatalf("canonical form changes the value: %q -> %q", in, out)
	}
}

// decodeWithNumbers decodes JSON keeping numbers as their literal text.
func decodeWithNumbers(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return v, nil
}
