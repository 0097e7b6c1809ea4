package codec

import (
	"crypto/rand"
	"errors"
	"fmt"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"google.golang.org/protobuf/proto"
)

// Payload metadata of an encrypted payload.
const (
	MetadataEncoding      = converter.MetadataEncoding // "encoding"
	MetadataKeyID         = "encryption-key-id"
	EncodingEncrypted     = "binary/encrypted"
	additionalDataVersion = "qesflow-codec-v1:"
)

// ErrPlaintextPayload reports an unencrypted payload where only encrypted ones are accepted:
// a process without the namespace's keys, or a forged input.
var ErrPlaintextPayload = errors.New("payload is not encrypted")

// payloadCodec encrypts and decrypts payloads with a keyring. A strict codec refuses to
// decode unencrypted payloads.
type payloadCodec struct {
	keys   *Keyring
	strict bool
}

var _ converter.PayloadCodec = payloadCodec{}

// New returns the payload codec that encrypts with the keyring's active key and decrypts with
// any of its keys. Unencrypted payloads decode unchanged: the codec endpoint shows histories
// written before encryption was enabled.
func New(keys *Keyring) converter.PayloadCodec { return payloadCodec{keys: keys} }

// NewStrict is New, except that decoding an unencrypted payload fails with
// ErrPlaintextPayload.
func NewStrict(keys *Keyring) converter.PayloadCodec { return payloadCodec{keys: keys, strict: true} }

// DataConverter is the SDK's default data converter with payloads encrypted by
// NewStrict(keys): the converter of every client and worker of a namespace whose payloads
// are encrypted. It refuses unencrypted payloads, so that an input written without the keys
// (a forged signal, a misconfigured process) is never acted on.
func DataConverter(keys *Keyring) converter.DataConverter {
	return converter.NewCodecDataConverter(converter.GetDefaultDataConverter(), NewStrict(keys))
}

// FailureConverter is the failure converter to pair with dc: failure messages and stack
// traces move into an encoded attribute (so an error text that quotes user data is encrypted
// too), and application error details are encoded with dc instead of the SDK's default
// converter. Every client and worker of the namespace must use it along with dc.
func FailureConverter(dc converter.DataConverter) converter.FailureConverter {
	return temporal.NewDefaultFailureConverter(temporal.DefaultFailureConverterOptions{
		DataConverter:          dc,
		EncodeCommonAttributes: true,
	})
}

// Encode encrypts each payload (the whole proto: metadata and data) with the active key.
func (c payloadCodec) Encode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	if c.keys == nil {
		return nil, errors.New("codec: encode: no keyring")
	}
	id, aead := c.keys.active()
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		plain, err := proto.Marshal(p)
		if err != nil {
			return nil, fmt.Errorf("codec: encode payload %d: %w", i+1, err)
		}
		nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plain)+aead.Overhead())
		if _, err := rand.Read(nonce); err != nil {
			return nil, fmt.Errorf("codec: encode payload %d: nonce: %w", i+1, err)
		}
		out[i] = &commonpb.Payload{
			Metadata: map[string][]byte{
				MetadataEncoding: []byte(EncodingEncrypted),
				MetadataKeyID:    []byte(id),
			},
			Data: aead.Seal(nonce, nonce, plain, additionalData(id)),
		}
	}
	return out, nil
}

// Decode decrypts encrypted payloads with the key their metadata names; other payloads are
// returned unchanged (histories written before encryption was enabled), or refused by a
// strict codec.
func (c payloadCodec) Decode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		if string(p.GetMetadata()[MetadataEncoding]) != EncodingEncrypted {
			if c.strict {
				return nil, fmt.Errorf("codec: decode payload %d (encoding %q): %w; every process of the namespace must use the same QESFLOW_CODEC_KEYS",
					i+1, p.GetMetadata()[MetadataEncoding], ErrPlaintextPayload)
			}
			out[i] = p
			continue
		}
		decoded, err := c.decrypt(p)
		if err != nil {
			return nil, fmt.Errorf("codec: decode payload %d: %w", i+1, err)
		}
		out[i] = decoded
	}
	return out, nil
}

func (c payloadCodec) decrypt(p *commonpb.Payload) (*commonpb.Payload, error) {
	if c.keys == nil {
		return nil, errors.New("encrypted payload but no keyring")
	}
	id := string(p.GetMetadata()[MetadataKeyID])
	if id == "" {
		return nil, fmt.Errorf("encrypted payload without %s metadata", MetadataKeyID)
	}
	aead, ok := c.keys.aead(id)
	if !ok {
		return nil, fmt.Errorf("encrypted with unknown key %q (keyring holds %v): add that key to the keyring", id, c.keys.ids)
	}
	data := p.GetData()
	if len(data) < aead.NonceSize()+aead.Overhead() {
		return nil, fmt.Errorf("encrypted payload (key %q) is truncated: %d bytes", id, len(data))
	}
	nonce, sealed := data[:aead.NonceSize()], data[aead.NonceSize():]
	plain, err := aead.Open(nil, nonce, sealed, additionalData(id))
	if err != nil {
		return nil, fmt.Errorf("decrypt with key %q: %w (tampered, or a different key with the same id)", id, err)
	}
	var original commonpb.Payload
	if err := proto.Unmarshal(plain, &original); err != nil {
		return nil, fmt.Errorf("decrypted payload (key %q) is not a payload: %w", id, err)
	}
	return &original, nil
}

// additionalData binds the ciphertext to its key id, so relabelling a payload's key fails.
func additionalData(keyID string) []byte { return []byte(additionalDataVersion + keyID) }
