package treezor

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// ErrBadSignature means no configured secret produced the webhook's signature.
var ErrBadSignature = errors.New("treezor: webhook signature does not match")

// ErrNoSecrets means Verify was called without any webhook secret: a configuration error.
var ErrNoSecrets = errors.New("treezor: no webhook secret configured")

// Sign computes Treezor's webhook signature of payload:
// base64(HMAC-SHA256(secret, Canonicalize(payload))).
func Sign(secret string, payload []byte) (string, error) {
	if secret == "" {
		return "", ErrNoSecrets
	}
	canonical, err := Canonicalize(payload)
	if err != nil {
		return "", fmt.Errorf("sign webhook payload: %w", err)
	}
	return base64.StdEncoding.EncodeToString(mac(secret, canonical)), nil
}

func mac(secret string, canonical []byte) []byte {
	h := hmac.New(sha256.New, []byte(secret))
	h.Write(canonical)
	return h.Sum(nil)
}

// Verify checks the envelope's object_payload_signature against every secret (several
// secrets allow rotation) in constant time. It returns nil when one matches,
// ErrNoSecrets when secrets holds no non-empty secret, and an error wrapping
// ErrBadSignature otherwise (also wrapping ErrMalformed when the payload cannot be
// canonicalised).
func Verify(secrets []string, e *Envelope) error {
	usable := 0
	for _, s := range secrets {
		if s != "" {
			usable++
		}
	}
	if usable == 0 {
		return ErrNoSecrets
	}
	if e == nil {
		return fmt.Errorf("%w: no envelope", ErrBadSignature)
	}
	given, err := base64.StdEncoding.DecodeString(strings.TrimSpace(e.Signature))
	if err != nil || len(given) != sha256.Size {
		return fmt.Errorf("%w: signature is not a base64 HMAC-SHA256", ErrBadSignature)
	}
	canonical, err := Canonicalize(e.ObjectPayload)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrBadSignature, err)
	}
	matched := 0
	for _, s := range secrets {
		if s == "" {
			continue
		}
		if hmac.Equal(mac(s, canonical), given) {
			matched = 1
		}
	}
	if matched == 0 {
		return ErrBadSignature
	}
	return nil
}
