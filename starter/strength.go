package starter

import (
	"errors"
	"fmt"
	"strings"
)

// MinSecretLength is the shortest API key or codec token accepted: 32 random characters.
const MinSecretLength = 32

// minDistinctRunes rejects long but patterned values ("aaaa…", "abababab…"); 32 random
// characters of any common alphabet (hex, base32, base64) have far more.
const minDistinctRunes = 10

// knownWeakSecrets are values no deployment may run with: the placeholders of .env.example
// and words people type when asked for a secret. Compared case-insensitively.
var knownWeakSecrets = []string{
	"change-me", "change-me-too", "change-me-webhook", "change-me-onboarding-key",
	"change-me-compliance-key", "change-me-codec-token", "changeme", "replace-me",
	"secret", "password", "passw0rd", "token", "apikey", "api-key", "test", "example",
	"REPLACE-WITH-BASE64-OF-32-RANDOM-BYTES",
}

// ErrWeakSecret reports a secret that is too short, too regular, or a known placeholder.
var ErrWeakSecret = errors.New("weak secret")

// IsKnownWeakSecret reports whether s is a documented placeholder (.env.example) or a
// common word, or contains a placeholder marker such as "change-me".
func IsKnownWeakSecret(s string) bool {
	lower := strings.ToLower(strings.TrimSpace(s))
	for _, w := range knownWeakSecrets {
		if lower == strings.ToLower(w) {
			return true
		}
	}
	for _, marker := range []string{"change-me", "changeme", "replace-with", "replace-me"} {
		if strings.Contains(lower, marker) {
			return true
		}
	}
	return false
}

// CheckSecretStrength refuses an API key or codec token shorter than MinSecretLength, with
// fewer than 10 distinct characters, or a known placeholder. The error never repeats the
// secret. Generate one with: head -c 32 /dev/urandom | base64.
func CheckSecretStrength(secret string) error {
	switch {
	case IsKnownWeakSecret(secret):
		return fmt.Errorf("%w: a documented placeholder or common word; generate one: head -c 32 /dev/urandom | base64", ErrWeakSecret)
	case len(secret) < MinSecretLength:
		return fmt.Errorf("%w: %d characters, want at least %d random ones (head -c 32 /dev/urandom | base64)", ErrWeakSecret, len(secret), MinSecretLength)
	}
	distinct := map[rune]bool{}
	for _, r := range secret {
		distinct[r] = true
	}
	if len(distinct) < minDistinctRunes {
		return fmt.Errorf("%w: only %d distinct characters, not random", ErrWeakSecret, len(distinct))
	}
	return nil
}
