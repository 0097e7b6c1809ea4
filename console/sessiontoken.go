package console

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/qesflow/qesflow/starter"
)

// Audiences of a session token: the console's own cookie, and the cookie the browser sends
// to the codec endpoint (/codec/) so the Temporal Web UI decodes for a signed-in operator.
// A token of one audience is refused by the other.
const (
	AudienceConsole = "console"
	AudienceCodec   = "codec"
)

// tokenVersion prefixes every session token; it and the key id are authenticated with it.
const tokenVersion = "v1"

// ErrSessionInvalid is returned for a token that is malformed, sealed with an unknown key,
// tampered with, expired, revoked, or meant for another audience or scope.
var ErrSessionInvalid = errors.New("console session invalid")

// SessionClaims is what a session token carries. It is encrypted and authenticated, so the
// browser holding it can neither read the operator's name nor change any field.
type SessionClaims struct {
	ID       string    `json:"sid"`          // random; names the session for CSRF and revocation
	Operator string    `json:"op"`           // the operator's name from the named key
	Scope    string    `json:"scope"`        // starter.ScopeCompliance's name
	Audience string    `json:"aud"`          // AudienceConsole or AudienceCodec
	IssuedAt time.Time `json:"iat"`          // sign-in
	SeenAt   time.Time `json:"seen"`         // last request; the idle expiry counts from it
	Expires  time.Time `json:"exp"`          // IssuedAt + the session TTL: no refresh goes past it
	Flash    string    `json:"fl,omitempty"` // one message for the next page (after a redirect)
}

// SessionKeys seal and open session tokens with AES-256-GCM, under keys derived from
// configured secrets. The first secret seals; every secret opens, so a secret is rotated by
// putting a new one first and removing the old one once the sessions it sealed have expired
// (the session TTL).
type SessionKeys struct {
	keys []sessionKey
}

type sessionKey struct {
	id   string
	aead cipher.AEAD
	csrf []byte
}

// MinSessionSecretLength is the shortest accepted session secret.
const MinSessionSecretLength = starter.MinSecretLength

// NewSessionKeys derives the sealing keys from secrets (the first one seals). Each secret
// must be at least MinSessionSecretLength random characters.
func NewSessionKeys(secrets ...string) (*SessionKeys, error) {
	if len(secrets) == 0 {
		return nil, errors.New("console session keys: none given")
	}
	k := &SessionKeys{}
	seen := map[string]bool{}
	for i, s := range secrets {
		if err := starter.CheckSecretStrength(s); err != nil {
			return nil, fmt.Errorf("console session key %d: %w", i+1, err)
		}
		id := sessionKeyID(s)
		if seen[id] {
			return nil, fmt.Errorf("console session key %d: given twice", i+1)
		}
		seen[id] = true
		enc, err := hkdf.Key(sha256.New, []byte(s), nil, "qesflow console session seal v1", 32)
		if err != nil {
			return nil, fmt.Errorf("console session key %d: %w", i+1, err)
		}
		csrf, err := hkdf.Key(sha256.New, []byte(s), nil, "qesflow console csrf v1", 32)
		if err != nil {
			return nil, fmt.Errorf("console session key %d: %w", i+1, err)
		}
		block, err := aes.NewCipher(enc)
		if err != nil {
			return nil, fmt.Errorf("console session key %d: %w", i+1, err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("console session key %d: %w", i+1, err)
		}
		k.keys = append(k.keys, sessionKey{id: id, aead: aead, csrf: csrf})
	}
	return k, nil
}

// ParseSessionKeys parses a comma- or newline-separated list of secrets (the format of
// QESFLOW_CONSOLE_SESSION_KEYS), the sealing one first.
func ParseSessionKeys(spec string) (*SessionKeys, error) {
	var secrets []string
	for _, s := range strings.FieldsFunc(spec, func(r rune) bool { return r == ',' || r == '\n' || r == '\r' }) {
		if s = strings.TrimSpace(s); s != "" {
			secrets = append(secrets, s)
		}
	}
	return NewSessionKeys(secrets...)
}

// RandomSessionKeys returns one fresh random key: sessions it seals are accepted by this
// process only, and lost when it restarts.
func RandomSessionKeys() *SessionKeys {
	k, err := NewSessionKeys(randomToken())
	if err != nil {
		panic("console: random session key refused: " + err.Error()) // 43 random base64url characters always pass
	}
	return k
}

// KeyIDs are the ids of the keys, the sealing one first (for logs; not secret).
func (k *SessionKeys) KeyIDs() []string {
	ids := make([]string, len(k.keys))
	for i, key := range k.keys {
		ids[i] = key.id
	}
	return ids
}

// sessionKeyID names a secret without revealing it: 8 hex digits of a hash that is not used
// for anything else.
func sessionKeyID(secret string) string {
	sum := sha256.Sum256([]byte("qesflow console session key id\x00" + secret))
	return hex.EncodeToString(sum[:4])
}

// Seal encrypts the claims under the first key: "v1.<key id>.<base64url(nonce|ciphertext)>".
func (k *SessionKeys) Seal(c SessionClaims) (string, error) {
	body, err := json.Marshal(c)
	if err != nil {
		return "", fmt.Errorf("seal console session: %w", err)
	}
	key := k.keys[0]
	header := tokenVersion + "." + key.id + "."
	nonce := make([]byte, key.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("seal console session: %w", err)
	}
	sealed := key.aead.Seal(nonce, nonce, body, []byte(header))
	return header + base64.RawURLEncoding.EncodeToString(sealed), nil
}

// Open decrypts and authenticates a token sealed by Seal under any of the keys. It checks
// the seal only: expiry, audience and scope are the caller's (Sessions.open).
func (k *SessionKeys) Open(token string) (SessionClaims, error) {
	var c SessionClaims
	version, rest, ok := strings.Cut(token, ".")
	if !ok || version != tokenVersion {
		return c, ErrSessionInvalid
	}
	id, payload, ok := strings.Cut(rest, ".")
	if !ok {
		return c, ErrSessionInvalid
	}
	for _, key := range k.keys {
		if key.id != id {
			continue
		}
		sealed, err := base64.RawURLEncoding.DecodeString(payload)
		if err != nil || len(sealed) < key.aead.NonceSize()+key.aead.Overhead() {
			return c, ErrSessionInvalid
		}
		n := key.aead.NonceSize()
		body, err := key.aead.Open(nil, sealed[:n], sealed[n:], []byte(tokenVersion+"."+id+"."))
		if err != nil {
			return c, ErrSessionInvalid
		}
		if err := json.Unmarshal(body, &c); err != nil {
			return SessionClaims{}, ErrSessionInvalid
		}
		return c, nil
	}
	return c, ErrSessionInvalid
}

// csrfToken is the form token of a session: an HMAC of its id under the sealing key, so any
// replica with the keys can check it and nobody without them can compute it.
func (k *SessionKeys) csrfToken(sessionID string) string {
	return csrfWith(k.keys[0].csrf, sessionID)
}

// validCSRF reports whether got is the form token of sessionID under any of the keys.
func (k *SessionKeys) validCSRF(sessionID, got string) bool {
	if got == "" || sessionID == "" {
		return false
	}
	ok := 0
	for _, key := range k.keys {
		ok |= subtle.ConstantTimeCompare([]byte(got), []byte(csrfWith(key.csrf, sessionID)))
	}
	return ok == 1
}

func csrfWith(key []byte, sessionID string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(sessionID))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}
