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

// APIKey is one configured API key: the key, its scopes and, in the named form
// "name:key:scopes", the name of the person or system that holds it (the console signs
// operators in under that name).
type APIKey struct {
	Name   string
	Key    string
	Scopes Scope
}

// ParseAPIKeys parses the --api-keys / QESFLOW_API_KEYS form "key1:onboarding,key2:compliance,
// key3:onboarding+compliance" (each entry may carry a name: "alice:key2:compliance") into API
// key → scopes. Errors name the entry by position, never the key itself.
func ParseAPIKeys(spec string) (map[string]Scope, error) {
	list, err := ParseAPIKeyList(spec)
	return KeyScopes(list), err
}

// ParseAPIKeyList parses the same form as ParseAPIKeys, keeping each entry's name.
func ParseAPIKeyList(spec string) ([]APIKey, error) {
	var list []APIKey
	for i, entry := range strings.Split(spec, ",") {
		if strings.TrimSpace(entry) == "" {
			continue
		}
		k, err := parseKeyEntry(entry)
		if err != nil {
			return nil, fmt.Errorf("api key entry %d: %w", i+1, err)
		}
		list = append(list, k)
	}
	return list, nil
}

// ReadAPIKeysFile reads one "key:scopes" (or "name:key:scopes") per line; blank lines and
// lines starting with # are ignored. Errors name the line number, never the key.
func ReadAPIKeysFile(path string) (map[string]Scope, error) {
	list, err := ReadAPIKeyListFile(path)
	return KeyScopes(list), err
}

// ReadAPIKeyListFile reads the same file as ReadAPIKeysFile, keeping each entry's name.
func ReadAPIKeyListFile(path string) ([]APIKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read api keys file: %w", err)
	}
	var list []APIKey
	sc := bufio.NewScanner(bytes.NewReader(data))
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		k, err := parseKeyEntry(text)
		if err != nil {
			return nil, fmt.Errorf("api keys file %s line %d: %w", path, line, err)
		}
		list = append(list, k)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read api keys file %s: %w", path, err)
	}
	return list, nil
}

// KeyScopes folds a key list into key → scopes; a key listed twice gets both scope sets.
func KeyScopes(list []APIKey) map[string]Scope {
	keys := map[string]Scope{}
	for _, k := range list {
		keys[k.Key] |= k.Scopes
	}
	return keys
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

// parseKeyEntry parses "key:scopes" or "name:key:scopes". An entry with two colons or more is
// the named form when the part before the first colon is a valid name and the rest is a
// strong key; otherwise everything before the last colon is the key, as before names existed
// (so a key containing a colon keeps working).
func parseKeyEntry(entry string) (APIKey, error) {
	entry = strings.TrimSpace(entry)
	sep := strings.LastIndexByte(entry, ':')
	if sep < 0 {
		return APIKey{}, errors.New(`want "key:scopes" or "name:key:scopes"`)
	}
	k := APIKey{Key: entry[:sep]}
	if name, key, found := strings.Cut(k.Key, ":"); found && ValidKeyName(name) == nil &&
		validKey(key) == nil && CheckSecretStrength(key) == nil {
		k.Name, k.Key = name, key
	}
	if err := validKey(k.Key); err != nil {
		return APIKey{}, err
	}
	s, err := ParseScope(entry[sep+1:])
	if err != nil {
		return APIKey{}, err
	}
	k.Scopes = s
	return k, nil
}

// ValidKeyName checks the name of a key's holder: 1 to 64 ASCII letters, digits, '.', '_',
// '-' or '@', so that it is safe in logs, the workflow history and the console.
func ValidKeyName(name string) error {
	if name == "" || len(name) > 64 {
		return errors.New("a key name has 1 to 64 characters")
	}
	for _, r := range name {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("._-@", r)
		if !ok {
			return errors.New("a key name has only letters, digits, '.', '_', '-' and '@'")
		}
	}
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
