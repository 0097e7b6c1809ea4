package codec

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"google.golang.org/protobuf/proto"
)

const pii = "Émilie Müller <emilie@example.com> +33600000000 https://sim.example/identifications/abc"

func keyring(t *testing.T, keys ...Key) *Keyring {
	t.Helper()
	r, err := NewKeyring(keys...)
	require.NoError(t, err)
	return r
}

func jsonPayloads(t *testing.T, values ...any) []*commonpb.Payload {
	t.Helper()
	ps, err := converter.GetDefaultDataConverter().ToPayloads(values...)
	require.NoError(t, err)
	return ps.GetPayloads()
}

func TestEncodeDecodeRoundTrip(t *testing.T) {
	c := New(keyring(t, testKey("k1", 1)))
	in := jsonPayloads(t, pii, map[string]int{"attempt": 2}, nil)

	enc, err := c.Encode(in)
	require.NoError(t, err)
	require.Len(t, enc, len(in))
	for _, p := range enc {
		require.Equal(t, EncodingEncrypted, string(p.Metadata[MetadataEncoding]))
		require.Equal(t, "k1", string(p.Metadata[MetadataKeyID]))
		require.Len(t, p.Metadata, 2, "no other metadata leaks (the original encoding is inside)")
		require.False(t, bytes.Contains(p.Data, []byte("emilie")), "plaintext in the ciphertext")
	}
	// A fresh nonce per payload: the same value encrypts differently.
	again, err := c.Encode(in[:1])
	require.NoError(t, err)
	require.NotEqual(t, enc[0].Data, again[0].Data)

	dec, err := c.Decode(enc)
	require.NoError(t, err)
	require.Len(t, dec, len(in))
	for i := range in {
		require.True(t, proto.Equal(in[i], dec[i]), "payload %d", i)
	}
}

func TestDataConverterRoundTrip(t *testing.T) {
	dc := DataConverter(keyring(t, testKey("k1", 1)))
	p, err := dc.ToPayload(pii)
	require.NoError(t, err)
	require.NotContains(t, string(p.Data), "emilie")
	var out string
	require.NoError(t, dc.FromPayload(p, &out))
	require.Equal(t, pii, out)

	// The default converter alone cannot read it.
	require.Error(t, converter.GetDefaultDataConverter().FromPayload(p, &out))
}

func TestRotation(t *testing.T) {
	k1, k2 := testKey("k1", 1), testKey("k2", 2)
	old, err := New(keyring(t, k1)).Encode(jsonPayloads(t, "before rotation"))
	require.NoError(t, err)

	rotated := New(keyring(t, k2, k1))
	fresh, err := rotated.Encode(jsonPayloads(t, "after rotation"))
	require.NoError(t, err)
	require.Equal(t, "k2", string(fresh[0].Metadata[MetadataKeyID]), "the active key encrypts")

	dec, err := rotated.Decode(append(old, fresh...))
	require.NoError(t, err)
	var a, b string
	dc := converter.GetDefaultDataConverter()
	require.NoError(t, dc.FromPayload(dec[0], &a))
	require.NoError(t, dc.FromPayload(dec[1], &b))
	require.Equal(t, "before rotation", a)
	require.Equal(t, "after rotation", b)

	// Once k1 is dropped, its payloads are a clear error.
	_, err = New(keyring(t, k2)).Decode(old)
	require.ErrorContains(t, err, `unknown key "k1"`)
}

func TestDecodeErrors(t *testing.T) {
	k1 := testKey("k1", 1)
	c := New(keyring(t, k1))
	encrypt := func() *commonpb.Payload {
		enc, err := c.Encode(jsonPayloads(t, pii))
		require.NoError(t, err)
		return enc[0]
	}
	tests := []struct {
		name    string
		mutate  func(p *commonpb.Payload)
		codec   converter.PayloadCodec
		wantErr string
	}{
		{name: "flipped ciphertext bit", mutate: func(p *commonpb.Payload) { p.Data[len(p.Data)-1] ^= 1 }, wantErr: "message authentication failed"},
		{name: "flipped nonce bit", mutate: func(p *commonpb.Payload) { p.Data[0] ^= 1 }, wantErr: "message authentication failed"},
		{name: "relabelled key id", mutate: func(p *commonpb.Payload) { p.Metadata[MetadataKeyID] = []byte("k2") },
			codec: New(keyring(t, k1, Key{ID: "k2", Secret: k1.Secret})), wantErr: `decrypt with key "k2"`},
		{name: "truncated", mutate: func(p *commonpb.Payload) { p.Data = p.Data[:10] }, wantErr: "truncated"},
		{name: "unknown key id", mutate: func(p *commonpb.Payload) { p.Metadata[MetadataKeyID] = []byte("k9") }, wantErr: `unknown key "k9"`},
		{name: "no key id", mutate: func(p *commonpb.Payload) { delete(p.Metadata, MetadataKeyID) }, wantErr: "without encryption-key-id"},
		{name: "wrong key under the same id", codec: New(keyring(t, testKey("k1", 9))), wantErr: "message authentication failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := encrypt()
			if tt.mutate != nil {
				tt.mutate(p)
			}
			dec := tt.codec
			if dec == nil {
				dec = c
			}
			_, err := dec.Decode([]*commonpb.Payload{p})
			require.ErrorContains(t, err, tt.wantErr)
			require.ErrorContains(t, err, "decode payload 1")
		})
	}
}

func TestUnencryptedPayloadsPassThrough(t *testing.T) {
	c := New(keyring(t, testKey("k1", 1)))
	plain := jsonPayloads(t, "written before encryption", 42)
	dec, err := c.Decode(plain)
	require.NoError(t, err)
	require.True(t, proto.Equal(plain[0], dec[0]))
	require.True(t, proto.Equal(plain[1], dec[1]))

	// A mix of old and new payloads decodes in one call.
	enc, err := c.Encode(plain[:1])
	require.NoError(t, err)
	dec, err = c.Decode([]*commonpb.Payload{enc[0], plain[1]})
	require.NoError(t, err)
	require.True(t, proto.Equal(plain[0], dec[0]))
	require.True(t, proto.Equal(plain[1], dec[1]))
}

func TestNilKeyringIsAnError(t *testing.T) {
	_, err := New(nil).Encode(jsonPayloads(t, "x"))
	require.ErrorContains(t, err, "no keyring")
}

// The failure converter encrypts error messages and details: an error text quoting user data
// does not reach history in clear, and comes back intact on the other side.
func TestFailureConverterEncryptsMessagesAndDetails(t *testing.T) {
	dc := DataConverter(keyring(t, testKey("k1", 1)))
	fc := FailureConverter(dc)
	f := fc.ErrorToFailure(temporal.NewApplicationError("treezor said: "+pii, "TreezorRejected", []string{"email"}))
	raw, err := proto.Marshal(f)
	require.NoError(t, err)
	require.False(t, bytes.Contains(raw, []byte("emilie")), "message in clear")
	require.False(t, bytes.Contains(raw, []byte(`"email"`)), "details in clear")

	back := fc.FailureToError(f)
	var appErr *temporal.ApplicationError
	require.ErrorAs(t, back, &appErr)
	require.Contains(t, appErr.Error(), pii)
	require.Equal(t, "TreezorRejected", appErr.Type())
	var fields []string
	require.NoError(t, appErr.Details(&fields))
	require.Equal(t, []string{"email"}, fields)
}

// The data converter of the workers refuses an unencrypted payload (written without the
// keys: a forged signal, a misconfigured process); the endpoint's codec passes it through
// for display.
func TestStrictCodecRefusesPlaintext(t *testing.T) {
	key, err := GenerateKey("k1")
	require.NoError(t, err)
	keys, err := NewKeyring(key)
	require.NoError(t, err)
	plain, err := converter.GetDefaultDataConverter().ToPayload(map[string]string{"result": "SUCCESS"})
	require.NoError(t, err)

	var v map[string]string
	err = DataConverter(keys).FromPayload(plain, &v)
	require.ErrorIs(t, err, ErrPlaintextPayload)
	require.Nil(t, v)

	out, err := New(keys).Decode([]*commonpb.Payload{plain})
	require.NoError(t, err)
	require.Same(t, plain, out[0])

	// Encrypted payloads still round-trip through the strict converter.
	enc, err := DataConverter(keys).ToPayload(map[string]string{"result": "SUCCESS"})
	require.NoError(t, err)
	require.NoError(t, DataConverter(keys).FromPayload(enc, &v))
	require.Equal(t, "SUCCESS", v["result"])
}
