package treezor

import (
	"bytes"
	"encoding/json"
	"errors"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

const testWebhookSecret = "test-webhook-secret"

// signatureVectors: payload as received, its PHP json_encode form written out by hand,
// and base64(HMAC-SHA256("test-webhook-secret", canonical)) as computed by Treezor's Node
// example (see TestSignMatchesTreezorNodeAlgorithm, which recomputes them).
var signatureVectors = []struct {
	name, payload, canonical, signature string
}{
	{
		name:      "slash in URL",
		payload:   `{"documents":[{"documentId":"42","url":"https://files.example.com/a/b.pdf?sig=x&y=1"}]}`,
		canonical: `{"documents":[{"documentId":"42","url":"https:\/\/files.example.com\/a\/b.pdf?sig=x&y=1"}]}`,
		signature: "pojQDW9mwyYJQc8aI4WXDaM3mQn783F6fcKX13OrbkI=",
	},
	{
		name:      "accented names",
		payload:   `{"users":[{"lastname":"Müller","firstname":"Émilie","city":"Zürich"}]}`,
		canonical: `{"users":[{"lastname":"M\u00fcller","firstname":"\u00c9milie","city":"Z\u00fcrich"}]}`,
		signature: "XavvTr1on+axM6yxu/Qoqgpz4XpoyzOQ0H1vhsQUDLg=",
	},
	{
		name:      "emoji as surrogate pair",
		payload:   `{"comment":"ok 😀 done"}`,
		canonical: `{"comment":"ok \ud83d\ude00 done"}`,
		signature: "P839FTYRF9Sf4lmTv0vKYKjNNTNWHB55V2LvmGnFRhc=",
	},
	{
		name:      "nested arrays, numbers, null and bools",
		payload:   `{"qes":[{"userId":123456,"identificationId":"TRZ-9","result":"ABORTED","reason":{"reasonCode":3011,"reasonMessage":"USER_CANCELLATION_IDENTIFY_LATER"},"scores":[[1,2],[3,[4,5]],[]],"amount":-12.5,"ratio":0.25,"extra":null,"flag":true,"other":false}]}`,
		canonical: `{"qes":[{"userId":123456,"identificationId":"TRZ-9","result":"ABORTED","reason":{"reasonCode":3011,"reasonMessage":"USER_CANCELLATION_IDENTIFY_LATER"},"scores":[[1,2],[3,[4,5]],[]],"amount":-12.5,"ratio":0.25,"extra":null,"flag":true,"other":false}]}`,
		signature: "Cv3mrBKXpRXockaq4FtJTFU2K/8W1hWrXwdkQ79Xt40=",
	},
	{
		name:      "escaped quotes, backslash, control characters, HTML characters",
		payload:   `{"msg":"he said \"hi\" \\ back\n\ttab\r\f\b\u0001 <b>&'"}`,
		canonical: `{"msg":"he said \"hi\" \\ back\n\ttab\r\f\b\u0001 <b>&'"}`,
		signature: "1xypk8bR4MYwP5A8G0Cxj3/EO1jjwbHZc7OFkI3oxZ0=",
	},
	{
		name:      "insignificant whitespace, key order kept, empty object",
		payload:   "{ \"b\" : 1 ,\n \"a\" : [ 1 , 2 ] , \"c\" : { } }",
		canonical: `{"b":1,"a":[1,2],"c":{}}`,
		signature: "N0PIhfDAAJq/Fh+AY/WjmtIhs9vOPWMARXe/iDNqD2E=",
	},
}

func TestCanonicalizeVectors(t *testing.T) {
	for _, v := range signatureVectors {
		t.Run(v.name, func(t *testing.T) {
			got, err := Canonicalize([]byte(v.payload))
			require.NoError(t, err)
			require.Equal(t, v.canonical, string(got))
		})
	}
}

func TestCanonicalizePHPDetails(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"escaped solidus stays escaped", `["a\/b"]`, `["a\/b"]`},
		{"upper-case escape becomes lower-case", `["\u00FC\u00e9"]`, `["\u00fc\u00e9"]`},
		{"escaped ASCII is written plainly", `["\u0041\u0042"]`, `["AB"]`},
		{"escaped surrogate pair kept as pair", `["\uD83D\uDE00"]`, `["\ud83d\ude00"]`},
		{"control characters", "[\"\\u001f\\u0000\"]", `["\u001f\u0000"]`},
		{"DEL is not escaped", "[\"\x7f\"]", "[\"\x7f\"]"},
		{"numbers keep their literal text", `[1.0, -0, 1E+3, 2.50e-2, 12345678901234567890]`, `[1.0,-0,1E+3,2.50e-2,12345678901234567890]`},
		{"top-level scalar", ` "x/y" `, `"x\/y"`},
		{"null", `null`, `null`},
		{"empty array", `[ ]`, `[]`},
		{"three-byte character", `["€"]`, `["\u20ac"]`},
		{"literal U+FFFD is valid", "[\"\uFFFD\"]", `["\ufffd"]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Canonicalize([]byte(tt.in))
			require.NoError(t, err)
			require.Equal(t, tt.want, string(got))
		})
	}
}

func TestCanonicalizeRejects(t *testing.T) {
	tests := []struct{ name, in string }{
		{"empty", ``},
		{"invalid UTF-8", "[\"M\xfcller\"]"},
		{"encoded surrogate in UTF-8", "[\"\xed\xa0\x80\"]"},
		{"unpaired high surrogate", `["\ud83d"]`},
		{"unpaired high surrogate before other escape", `["\ud83d\n"]`},
		{"lone low surrogate", `["\ude00"]`},
		{"bad escape", `["\x"]`},
		{"short unicode escape", `["\u12"]`},
		{"raw newline in string", "[\"a\nb\"]"},
		{"trailing comma", `[1,]`},
		{"trailing data", `{} {}`},
		{"leading zero", `[01]`},
		{"bare minus", `[-]`},
		{"missing fraction digits", `[1.]`},
		{"missing exponent digits", `[1e]`},
		{"unquoted key", `{a:1}`},
		{"missing colon", `{"a" 1}`},
		{"unterminated object", `{"a":1`},
		{"unterminated string", `["abc`},
		{"bad literal", `[tru]`},
		{"too deep", strings.Repeat("[", maxCanonicalDepth+1) + strings.Repeat("]", maxCanonicalDepth+1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Canonicalize([]byte(tt.in))
			require.Error(t, err)
			require.ErrorIs(t, err, ErrMalformed)
		})
	}
}

func TestCanonicalizeAcceptsMaxDepth(t *testing.T) {
	in := strings.Repeat("[", maxCanonicalDepth) + strings.Repeat("]", maxCanonicalDepth)
	got, err := Canonicalize([]byte(in))
	require.NoError(t, err)
	require.Equal(t, in, string(got))
}

func TestSignVectors(t *testing.T) {
	for _, v := range signatureVectors {
		t.Run(v.name, func(t *testing.T) {
			got, err := Sign(testWebhookSecret, []byte(v.payload))
			require.NoError(t, err)
			require.Equal(t, v.signature, got)
		})
	}
}

// nodeSigner is Treezor's documented Node.js algorithm, with encodeUTF8ToCodePoint
// written out: every UTF-16 code unit above U+007F becomes \uXXXX (lower-case hex).
const nodeSigner = `
const crypto = require("crypto");
const encodeUTF8ToCodePoint = (s) => s.replace(/[\u0080-\uffff]/g,
  (c) => "\\u" + c.charCodeAt(0).toString(16).padStart(4, "0"));
const input = JSON.parse(require("fs").readFileSync(0, "utf8"));
for (const raw of input.payloads) {
  const p = JSON.parse(raw);
  const sig = crypto.createHmac("sha256", input.secret)
    .update(encodeUTF8ToCodePoint(JSON.stringify(p).replace(/\//g, "\\/")))
    .digest("base64");
  console.log(sig);
}
`

func TestSignMatchesTreezorNodeAlgorithm(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed; the hard-coded vectors in TestSignVectors still hold")
	}
	payloads := make([]string, len(signatureVectors))
	for i, v := range signatureVectors {
		payloads[i] = v.payload
	}
	stdin, err := json.Marshal(map[string]any{"secret": testWebhookSecret, "payloads": payloads})
	require.NoError(t, err)
	cmd := exec.Command(node, "-e", nodeSigner)
	cmd.Stdin = bytes.NewReader(stdin)
	out, err := cmd.Output()
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	require.Len(t, lines, len(signatureVectors))
	for i, v := range signatureVectors {
		got, err := Sign(testWebhookSecret, []byte(v.payload))
		require.NoError(t, err)
		require.Equal(t, lines[i], got, v.name)
		require.Equal(t, lines[i], v.signature, "hard-coded vector of %q", v.name)
	}
}

func signedEnvelope(t *testing.T, secret, payload string) *Envelope {
	t.Helper()
	sig, err := Sign(secret, []byte(payload))
	require.NoError(t, err)
	return &Envelope{Webhook: EventQESFinalized, WebhookID: "1", ObjectPayload: json.RawMessage(payload), Signature: sig}
}

func TestVerify(t *testing.T) {
	payload := signatureVectors[3].payload
	tampered := strings.Replace(payload, "3011", "3012", 1)
	require.NotEqual(t, payload, tampered)
	tests := []struct {
		name    string
		secrets []string
		env     func(t *testing.T) *Envelope
		wantErr error
	}{
		{"matching secret", []string{testWebhookSecret}, func(t *testing.T) *Envelope {
			return signedEnvelope(t, testWebhookSecret, payload)
		}, nil},
		{"whitespace differences are not signed", []string{testWebhookSecret}, func(t *testing.T) *Envelope {
			e := signedEnvelope(t, testWebhookSecret, payload)
			e.ObjectPayload = json.RawMessage(strings.ReplaceAll(payload, ",", " , "))
			return e
		}, nil},
		{"rotation: second secret matches", []string{"new-secret", testWebhookSecret}, func(t *testing.T) *Envelope {
			return signedEnvelope(t, testWebhookSecret, payload)
		}, nil},
		{"empty secrets are skipped", []string{"", testWebhookSecret}, func(t *testing.T) *Envelope {
			return signedEnvelope(t, testWebhookSecret, payload)
		}, nil},
		{"wrong secret", []string{"other-secret"}, func(t *testing.T) *Envelope {
			return signedEnvelope(t, testWebhookSecret, payload)
		}, ErrBadSignature},
		{"one byte changed", []string{testWebhookSecret}, func(t *testing.T) *Envelope {
			e := signedEnvelope(t, testWebhookSecret, payload)
			e.ObjectPayload = json.RawMessage(tampered)
			return e
		}, ErrBadSignature},
		{"signature of another payload", []string{testWebhookSecret}, func(t *testing.T) *Envelope {
			e := signedEnvelope(t, testWebhookSecret, payload)
			e.Signature = signatureVectors[0].signature
			return e
		}, ErrBadSignature},
		{"missing signature", []string{testWebhookSecret}, func(t *testing.T) *Envelope {
			e := signedEnvelope(t, testWebhookSecret, payload)
			e.Signature = ""
			return e
		}, ErrBadSignature},
		{"signature not base64", []string{testWebhookSecret}, func(t *testing.T) *Envelope {
			e := signedEnvelope(t, testWebhookSecret, payload)
			e.Signature = "%%%"
			return e
		}, ErrBadSignature},
		{"payload not JSON", []string{testWebhookSecret}, func(t *testing.T) *Envelope {
			e := signedEnvelope(t, testWebhookSecret, payload)
			e.ObjectPayload = json.RawMessage(`{"qes":`)
			return e
		}, ErrBadSignature},
		{"no payload", []string{testWebhookSecret}, func(t *testing.T) *Envelope {
			e := signedEnvelope(t, testWebhookSecret, payload)
			e.ObjectPayload = nil
			return e
		}, ErrBadSignature},
		{"no secrets", nil, func(t *testing.T) *Envelope {
			return signedEnvelope(t, testWebhookSecret, payload)
		}, ErrNoSecrets},
		{"only empty secrets", []string{""}, func(t *testing.T) *Envelope {
			return signedEnvelope(t, testWebhookSecret, payload)
		}, ErrNoSecrets},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Verify(tt.secrets, tt.env(t))
			if tt.wantErr == nil {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, tt.wantErr)
			if errors.Is(tt.wantErr, ErrNoSecrets) {
				require.NotErrorIs(t, err, ErrBadSignature)
			}
		})
	}
}

func TestVerifyStringFormPayload(t *testing.T) {
	// Treezor may send object_payload as a JSON string; the string's content is signed.
	payload := signatureVectors[1].payload
	quoted, err := json.Marshal(payload)
	require.NoError(t, err)
	body := `{"webhook":"user.kycreview","webhook_id":"7","object":"user","object_id":"1","object_payload":` +
		string(quoted) + `,"object_payload_signature":"` + signatureVectors[1].signature + `"}`
	env, err := DecodeEnvelope([]byte(body))
	require.NoError(t, err)
	require.Equal(t, payload, string(env.ObjectPayload))
	require.NoError(t, Verify([]string{testWebhookSecret}, env))
}

func TestSignRejects(t *testing.T) {
	_, err := Sign("", []byte(`{}`))
	require.ErrorIs(t, err, ErrNoSecrets)
	_, err = Sign(testWebhookSecret, []byte("[\"\xff\"]"))
	require.ErrorIs(t, err, ErrMalformed)
}
