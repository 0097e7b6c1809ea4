package starter

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"os"
	"strings"
)

// ParseAPIKeys parses the --api-keys / QESFLOW_API_KEYS form "key1:onboarding,key2:compliance,
// key3:onboarding+compliance" into API key → scopes. Errors name the entry by position, never
// the key itself.
func ParseAPIKeys(spec string) (map[string]Scope, error) {
	keys := map[string]Scope{}
	for i, entry := range strings.Split(spec, ",") {
		if strings.TrimSpace(entry) == "" {
			continue
		}
		if err := addKeyEntry(keys, entry); err != nil {
			return nil, fmt.Errorf("api key entry %d: %w", i+1, err)
		}
	}
	return keys, nil
}

// ReadAPIKeysFile reads one "key:scopes" per line; blank lines and lines starting with # are
// ignored. Errors name the line number, never the key.
func ReadAPIKeysFile(path string) (map[string]Scope, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read api keys file: %w", err)
	}
	keys := map[string]Scope{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		if err := addKeyEntry(keys, text); err != nil {
			return nil, fmt.Errorf("api keys file %s line %d: %w", path, line, err)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read api keys file %s: %w", path, err)
	}
	return keys, nil
}

// MergeAPIKeys returns the union of the key sets; a key listed twice gets both scope sets.
func MergeAPIKeys(sets ...map[string]Scope) map[string]Scope {
	out := map[string]Scope{}
	for _, set := range sets {
		for k, s := range set {
			out[k] |= s
		}
	}
	return out
}

func addKeyEntry(keys map[string]Scope, entry string) error {
	entry = strings.TrimSpace(entry)
	sep := strings.LastIndexByte(entry, ':')
	if sep < 0 {
		return errors.New(`want "key:scopes"`)
	}
	key, scopes := entry[:sep], entry[sep+1:]
	if err := validKey(key); err != nil {
		return err
	}
	s, err := ParseScope(scopes)
	if err != nil {
		return err
	}
	keys[key] |= s
	return nil
}

func validKey(key string) error {
	if key == "" {
		return errors.New("empty key")
	}
	for _, r := range key {
		if r <= ' ' || r == ',' || r > '~' {
			return errors.New("key has whitespace, a comma or a non-ASCII character")
		}
	}
	return nil
}

// keyring holds SHA-256 hashes of the API keys, never the keys themselves.
type keyring struct {
	entries []keyEntry
}

type keyEntry struct {
	hash   [sha256.Size]byte
	scopes Scope
}

func newKeyring(keys map[string]Scope) (*keyring, error) {
	if len(keys) == 0 {
		return nil, errors.New("no API key configured: set --api-keys, --api-keys-file or QESFLOW_API_KEYS (key:onboarding,key:compliance)")
	}
	kr := &keyring{}
	i := 0
	for key, s := range keys {
		i++
		if err := validKey(key); err != nil {
			return nil, fmt.Errorf("api key %d: %w", i, err)
		}
		if s == 0 {
			return nil, fmt.Errorf("api key %d: no scope", i)
		}
		if err := CheckSecretStrength(key); err != nil {
			return nil, fmt.Errorf("api key %d (%s scope): %w", i, s, err)
		}
		kr.entries = append(kr.entries, keyEntry{hash: sha256.Sum256([]byte(key)), scopes: s})
	}
	return kr, nil
}

// lookup returns the scopes of the presented key. It hashes the key and compares the hash to
// every stored hash in constant time, without stopping at the first match, so neither the
// key's content nor its position leaks through timing.
func (kr *keyring) lookup(presented string) (Scope, bool) {
	h := sha256.Sum256([]byte(presented))
	var scopes Scope
	found := 0
	for _, e := range kr.entries {
		match := subtle.ConstantTimeCompare(h[:], e.hash[:])
		found |= match
		scopes |= Scope(subtle.ConstantTimeSelect(match, int(e.scopes), 0))
	}
	return scopes, found == 1
}
