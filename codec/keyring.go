package codec

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"strings"
)

// KeyLen is the length of an AES-256 key in bytes.
const KeyLen = 32

// Environment variables the keyring is read from (see KeyringFromEnv).
const (
	EnvKeys     = "QESFLOW_CODEC_KEYS"      // "k2:base64key,k1:base64key", the first one active
	EnvKeysFile = "QESFLOW_CODEC_KEYS_FILE" // file with one "id:base64key" per line, the first one active
)

// maxKeyIDLen bounds key ids. It is shorter than a base64 key (43 or 44 characters), so a
// key written where its id belongs is refused as an id and never echoed in an error.
const maxKeyIDLen = 32

// Key is one named AES-256 key. Its String and JSON forms hide the secret.
type Key struct {
	ID     string
	Secret []byte // KeyLen bytes
}

// String names the key without its secret.
func (k Key) String() string { return "codec.Key{ID: " + k.ID + ", Secret: [redacted]}" }

// GoString keeps the secret out of %#v.
func (k Key) GoString() string { return k.String() }

// MarshalJSON keeps the secret out of JSON (and of reflection-based loggers).
func (k Key) MarshalJSON() ([]byte, error) {
	return []byte(fmt.Sprintf(`{"id":%q,"secret":"[redacted]"}`, k.ID)), nil
}

// Spec is the key as one keyring entry, "id:base64key": a secret, for key files and
// QESFLOW_CODEC_KEYS only.
func (k Key) Spec() string { return k.ID + ":" + base64.StdEncoding.EncodeToString(k.Secret) }

// GenerateKey returns a new random key named id.
func GenerateKey(id string) (Key, error) {
	if !validKeyID(id) {
		return Key{}, errInvalidKeyID
	}
	secret := make([]byte, KeyLen)
	if _, err := rand.Read(secret); err != nil {
		return Key{}, fmt.Errorf("generate codec key %s: %w", id, err)
	}
	return Key{ID: id, Secret: secret}, nil
}

// Keyring holds the keys payloads are encrypted with: the active key encrypts, every key
// decrypts. Build it with NewKeyring, ParseKeyring, ReadKeyringFile or KeyringFromEnv. It is
// safe for concurrent use and never prints its keys.
type Keyring struct {
	ids   []string // active first, then the others in the order given
	aeads map[string]cipher.AEAD
}

var errInvalidKeyID = fmt.Errorf("key id must be 1 to %d letters, digits, '.', '_' or '-'", maxKeyIDLen)

// NewKeyring builds a keyring from keys; the first one is active. Ids must be unique and
// every secret KeyLen bytes long.
func NewKeyring(keys ...Key) (*Keyring, error) {
	if len(keys) == 0 {
		return nil, errors.New("codec keyring: no key")
	}
	r := &Keyring{aeads: make(map[string]cipher.AEAD, len(keys))}
	for i, k := range keys {
		if !validKeyID(k.ID) {
			return nil, fmt.Errorf("codec keyring: key %d: %w", i+1, errInvalidKeyID)
		}
		if _, dup := r.aeads[k.ID]; dup {
			return nil, fmt.Errorf("codec keyring: key id %q is used twice", k.ID)
		}
		if len(k.Secret) != KeyLen {
			return nil, fmt.Errorf("codec keyring: key %q is %d bytes long, want %d (AES-256)", k.ID, len(k.Secret), KeyLen)
		}
		block, err := aes.NewCipher(k.Secret)
		if err != nil {
			return nil, fmt.Errorf("codec keyring: key %q: %w", k.ID, err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("codec keyring: key %q: %w", k.ID, err)
		}
		r.ids = append(r.ids, k.ID)
		r.aeads[k.ID] = aead
	}
	return r, nil
}

// ParseKeyring reads a keyring spec: comma-separated "id:base64key" entries, the first one
// active, e.g. "k2:…,k1:…" after rotating from k1 to k2. Standard or URL base64, with or
// without padding.
func ParseKeyring(spec string) (*Keyring, error) {
	return parseEntries(strings.Split(spec, ","), "entry")
}

// ReadKeyringFile reads a keyring file: one "id:base64key" per line, the first one active;
// blank lines and lines starting with # are ignored.
func ReadKeyringFile(path string) (*Keyring, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("codec keyring: read key file: %w", err)
	}
	r, err := parseEntries(strings.Split(string(b), "\n"), "line")
	if err != nil {
		return nil, fmt.Errorf("%w (file %s)", err, path)
	}
	return r, nil
}

// LoadKeyring reads the keyring from a spec or a file, whichever is given; neither gives
// (nil, nil): payloads are not encrypted. Both is an error.
func LoadKeyring(spec, file string) (*Keyring, error) {
	spec = strings.TrimSpace(spec)
	switch {
	case spec != "" && file != "":
		return nil, fmt.Errorf("codec keyring: give the keys (%s) or a key file (%s), not both", EnvKeys, EnvKeysFile)
	case file != "":
		return ReadKeyringFile(file)
	case spec != "":
		return ParseKeyring(spec)
	}
	return nil, nil
}

// KeyringFromEnv reads the keyring from QESFLOW_CODEC_KEYS or QESFLOW_CODEC_KEYS_FILE;
// (nil, nil) when neither is set.
func KeyringFromEnv() (*Keyring, error) {
	return LoadKeyring(os.Getenv(EnvKeys), os.Getenv(EnvKeysFile))
}

// parseEntries parses "id:base64key" entries; what names an entry in errors ("entry",
// "line"). Errors name the entry number and a valid id, never the key material.
func parseEntries(entries []string, what string) (*Keyring, error) {
	var keys []Key
	for i, e := range entries {
		e = strings.TrimSpace(e)
		if e == "" || (what == "line" && strings.HasPrefix(e, "#")) {
			continue
		}
		id, encoded, ok := strings.Cut(e, ":")
		id, encoded = strings.TrimSpace(id), strings.TrimSpace(encoded)
		if !ok {
			return nil, fmt.Errorf("codec keyring: %s %d: want id:base64key", what, i+1)
		}
		if !validKeyID(id) {
			return nil, fmt.Errorf("codec keyring: %s %d: %w", what, i+1, errInvalidKeyID)
		}
		secret, err := decodeBase64(encoded)
		if err != nil {
			return nil, fmt.Errorf("codec keyring: %s %d: key %q is not valid base64", what, i+1, id)
		}
		keys = append(keys, Key{ID: id, Secret: secret})
	}
	return NewKeyring(keys...)
}

func decodeBase64(s string) ([]byte, error) {
	var firstErr error
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		b, err := enc.DecodeString(s)
		if err == nil {
			return b, nil
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	return nil, firstErr
}

func validKeyID(id string) bool {
	if id == "" || len(id) > maxKeyIDLen {
		return false
	}
	for _, c := range id {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}

// ActiveKeyID is the id of the key new payloads are encrypted with.
func (r *Keyring) ActiveKeyID() string { return r.ids[0] }

// KeyIDs lists every key id, the active one first.
func (r *Keyring) KeyIDs() []string { return append([]string(nil), r.ids...) }

// String names the keys without their secrets.
func (r *Keyring) String() string {
	if r == nil {
		return "codec.Keyring(nil)"
	}
	return "codec.Keyring{active: " + r.ids[0] + ", keys: [" + strings.Join(r.ids, " ") + "]}"
}

// GoString keeps the keys out of %#v.
func (r *Keyring) GoString() string { return r.String() }

func (r *Keyring) active() (string, cipher.AEAD) { return r.ids[0], r.aeads[r.ids[0]] }

func (r *Keyring) aead(id string) (cipher.AEAD, bool) {
	a, ok := r.aeads[id]
	return a, ok
}
