package treezor

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"testing"
)

// FuzzWebhookVerify signs arbitrary payloads and checks the verifier against them: a signed
// payload verifies in the flat, string-encoded and wrapped envelope forms, with the secret
// among others (rotation) and not without it; a changed payload verifies exactly when its
// canonical form is unchanged; a changed signature never verifies.
func FuzzWebhookVerify(f *testing.F) {
	f.Add([]byte(`{"qes":[{"userId":"100200","identificationId":"TRZ-1","result":"SUCCESS"}]}`), "whsec_1", uint16(3), byte('X'))
	f.Add([]byte(`{"users":[{"userId":"1","lastname":"M\u00fcller","note":"a/b"}]}`), "s", uint16(0), byte(' '))
	f.Add([]byte(" {\"a\" : [1, 2.50, -0, 1e400, \"\\ud83d\\ude00\"]}\n"), "k", uint16(7), byte('\t'))
	f.Add([]byte(`{"a":"Émilie 😀"}`), "secret", uint16(9), byte(0xff))
	f.Add([]byte(`[[[[[]]]]]`), "x", uint16(2), byte(']'))
	f.Add([]byte(`"{\"a\":1}"`), "x", uint16(1), byte('b'))
	f.Add([]byte(`null`), "x", uint16(0), byte('n'))
	for _, v := range signatureVectors {
		f.Add([]byte(v.payload), "vector-secret", uint16(len(v.payload)/2), byte('0'))
	}
	f.Fuzz(func(t *testing.T, payload []byte, secret string, pos uint16, b byte) {
		sig, err := Sign(secret, payload)
		if secret == "" {
			if !errors.Is(err, ErrNoSecrets) {
				t.Fatalf("Sign with an empty secret: %v", err)
			}
			return
		}
		canonical, cerr := Canonicalize(payload)
		if (err == nil) != (cerr == nil) {
			t.Fatalf("Sign and Canonicalize disagree on %q: %v / %v", payload, err, cerr)
		}
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("Sign error does not wrap ErrMalformed: %v", err)
			}
			return
		}
		env := &Envelope{Webhook: EventQESCreated, WebhookID: "1", ObjectPayload: payload, Signature: sig}
		checkVerifies(t, secret, env)
		checkDecodedForms(t, secret, payload, canonical, sig)
		checkTamperedPayload(t, secret, payload, canonical, sig, int(pos), b)
		checkTamperedSignature(t, secret, env, int(pos))
	})
}

// checkVerifies asserts that env verifies with its secret, alone or among others, and with
// no other secret.
func checkVerifies(t *testing.T, secret string, env *Envelope) {
	t.Helper()
	if err := Verify([]string{secret}, env); err != nil {
		t.Fatalf("signed payload %q does not verify: %v", env.ObjectPayload, err)
	}
	if err := Verify([]string{"", "rotated-in", secret}, env); err != nil {
		t.Fatalf("signed payload does not verify among several secrets: %v", err)
	}
	if err := Verify([]string{secret + "-rotated-out", "", "other"}, env); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("payload verified without its secret: %v", err)
	}
}

// checkDecodedForms sends the signed payload through the decoder in each envelope form and
// asserts that the decoded envelope still verifies.
func checkDecodedForms(t *testing.T, secret string, payload, canonical []byte, sig string) {
	t.Helper()
	// A JSON string payload is read as string-encoded JSON, and null as no payload, so only
	// other values can travel raw.
	if canonical[0] != '"' && !bytes.Equal(canonical, []byte("null")) {
		flat, err := EncodeEnvelope(&Envelope{Webhook: EventQESCreated, WebhookID: "1", ObjectPayload: payload, Signature: sig})
		if err != nil {
			t.Fatalf("encode a canonicalisable payload %q: %v", payload, err)
		}
		env := decodeOK(t, flat)
		checkVerifies(t, secret, env)
		wrapped := []byte(`{"messageId":"m-1","webhookId":"1","webhook":` + string(flat) + `}`)
		wenv := decodeOK(t, wrapped)
		if wenv.MessageID != "m-1" || !bytes.Equal(wenv.ObjectPayload, env.ObjectPayload) || wenv.Signature != sig {
			t.Fatalf("wrapped form decodes differently: %+v vs %+v", wenv, env)
		}
		checkVerifies(t, secret, wenv)
	}
	quoted, err := json.Marshal(string(payload)) // faithful: a canonicalisable payload is valid UTF-8
	if err != nil {
		t.Fatalf("quote payload: %v", err)
	}
	body := []byte(`{"webhook":"qes.created","webhook_id":"1","object_payload":` + string(quoted) +
		`,"object_payload_signature":"` + sig + `"}`)
	checkVerifies(t, secret, decodeOK(t, body))
}

func decodeOK(t *testing.T, body []byte) *Envelope {
	t.Helper()
	env, err := DecodeEnvelope(body)
	if err != nil {
		t.Fatalf("decode %q: %v", body, err)
	}
	return env
}

// checkTamperedPayload replaces one byte of the payload: the old signature must verify
// exactly when the canonical form did not change.
func checkTamperedPayload(t *testing.T, secret string, payload, canonical []byte, sig string, pos int, b byte) {
	t.Helper()
	if len(payload) == 0 {
		return
	}
	changed := bytes.Clone(payload)
	changed[pos%len(changed)] = b
	err := Verify([]string{secret}, &Envelope{ObjectPayload: changed, Signature: sig})
	changedCanonical, cerr := Canonicalize(changed)
	switch {
	case cerr != nil:
		if !errors.Is(err, ErrBadSignature) || !errors.Is(err, ErrMalformed) {
			t.Fatalf("uncanonicalisable payload %q: Verify = %v, want ErrBadSignature and ErrMalformed", changed, err)
		}
	case bytes.Equal(changedCanonical, canonical):
		if err != nil {
			t.Fatalf("payload %q means the same as %q but does not verify: %v", changed, payload, err)
		}
	default:
		if !errors.Is(err, ErrBadSignature) {
			t.Fatalf("changed payload %q (was %q) verified with the old signature: %v", changed, payload, err)
		}
	}
}

// checkTamperedSignature changes one character of the base64 signature. Base64 decoding is
// not strict (the last character's unused bits are ignored), so a change that decodes to
// the same MAC is not a different signature and is skipped.
func checkTamperedSignature(t *testing.T, secret string, env *Envelope, pos int) {
	t.Helper()
	sig := []byte(env.Signature)
	i := pos % len(sig)
	if sig[i] == 'A' {
		sig[i] = 'B'
	} else {
		sig[i] = 'A'
	}
	bad := *env
	bad.Signature = string(sig)
	was, _ := base64.StdEncoding.DecodeString(env.Signature)
	if now, err := base64.StdEncoding.DecodeString(bad.Signature); err == nil && bytes.Equal(now, was) {
		return
	}
	if err := Verify([]string{secret}, &bad); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("signature %q (was %q) verified: %v", bad.Signature, env.Signature, err)
	}
}
