package devstack

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/qesflow/qesflow/codec"
	"github.com/qesflow/qesflow/outbound"
)

// Credentials are the development secrets that wire the stack's parts to each other. They are
// generated on first start and kept in DataDir/dev-credentials.json (mode 0600), so a restarted
// stack keeps accepting the keys and webhooks of the previous run. They are for development only.
type Credentials struct {
	WebhookSecret       string `json:"webhookSecret"`
	TreezorClientID     string `json:"treezorClientId"`
	TreezorClientSecret string `json:"treezorClientSecret"`
	OnboardingKey       string `json:"onboardingApiKey"`
	ComplianceKey       string `json:"complianceApiKey"`
	// SupervisorKey has both scopes, for what needs both (a start with "override": true).
	SupervisorKey string `json:"supervisorApiKey"`
	// CodecKeys is the keyring that encrypts workflow payloads ("id:base64key,...", the first
	// one active; the format of QESFLOW_CODEC_KEYS). Another process joining the dev stack's
	// namespace (an extra worker) needs QESFLOW_CODEC_KEYS set to it.
	CodecKeys string `json:"codecKeys"`
	// ConsoleSessionKeys seal the compliance console's session cookies (the format of
	// QESFLOW_CONSOLE_SESSION_KEYS), so a restarted stack keeps its operators signed in.
	ConsoleSessionKeys string `json:"consoleSessionKeys"`
	// EventsSecret signs the outbound events the worker delivers to the stack's own events
	// receiver (a Standard Webhooks "whsec_<base64>" secret).
	EventsSecret string `json:"eventsSecret"`
}

const credentialsFile = "dev-credentials.json"

// loadCredentials fills the unset credentials of cfg: from the data dir when it holds a file
// from an earlier run, otherwise freshly generated (and saved unless the stack is ephemeral).
func loadCredentials(cfg Config) (Credentials, error) {
	c := cfg.Credentials
	path := filepath.Join(cfg.DataDir, credentialsFile)
	var saved Credentials
	if !cfg.Ephemeral {
		b, err := os.ReadFile(path)
		switch {
		case err == nil:
			if err := json.Unmarshal(b, &saved); err != nil {
				return c, fmt.Errorf("read dev credentials %s: %w", path, err)
			}
		case !errors.Is(err, fs.ErrNotExist):
			return c, fmt.Errorf("read dev credentials: %w", err)
		}
	}
	fill := func(dst *string, savedValue string, generate func() (string, error)) error {
		if *dst != "" {
			return nil
		}
		if savedValue != "" {
			*dst = savedValue
			return nil
		}
		v, err := generate()
		*dst = v
		return err
	}
	token := func(prefix string) func() (string, error) {
		return func() (string, error) { return randomToken(prefix) }
	}
	for _, f := range []struct {
		dst      *string
		saved    string
		generate func() (string, error)
	}{
		{&c.WebhookSecret, saved.WebhookSecret, token("whsec_")},
		{&c.TreezorClientID, saved.TreezorClientID, token("dev-client-")},
		{&c.TreezorClientSecret, saved.TreezorClientSecret, token("dev-secret-")},
		{&c.OnboardingKey, saved.OnboardingKey, token("dev-onboarding-")},
		{&c.ComplianceKey, saved.ComplianceKey, token("dev-compliance-")},
		{&c.SupervisorKey, saved.SupervisorKey, token("dev-supervisor-")},
		{&c.CodecKeys, saved.CodecKeys, devCodecKey},
		{&c.ConsoleSessionKeys, saved.ConsoleSessionKeys, devSessionKey},
		{&c.EventsSecret, saved.EventsSecret, devEventsSecret},
	} {
		if err := fill(f.dst, f.saved, f.generate); err != nil {
			return c, fmt.Errorf("generate dev credentials: %w", err)
		}
	}
	if cfg.Ephemeral || c == saved {
		return c, nil
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return c, fmt.Errorf("create data dir: %w", err)
	}
	b, _ := json.MarshalIndent(c, "", "  ")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		return c, fmt.Errorf("save dev credentials: %w", err)
	}
	return c, nil
}

// devCodecKey generates a payload encryption keyring of one random key with a random id.
func devCodecKey() (string, error) {
	id, err := randomToken("dev-")
	if err != nil {
		return "", err
	}
	k, err := codec.GenerateKey(id[:len("dev-")+8])
	if err != nil {
		return "", err
	}
	return k.Spec(), nil
}

// devSessionKey generates one random console session secret (48 hex digits).
func devSessionKey() (string, error) {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

// devEventsSecret generates a Standard Webhooks signing secret of 32 random bytes.
func devEventsSecret() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return outbound.SecretPrefix + base64.StdEncoding.EncodeToString(b), nil
}

func randomToken(prefix string) (string, error) {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return prefix + hex.EncodeToString(b), nil
}
