package starter

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseAPIKeys(t *testing.T) {
	tests := []struct {
		name    string
		spec    string
		want    map[string]Scope
		wantErr string
	}{
		{name: "empty", spec: "", want: map[string]Scope{}},
		{name: "one per scope", spec: "k1:onboarding,k2:compliance,k3:onboarding+compliance", want: map[string]Scope{
			"k1": ScopeOnboarding, "k2": ScopeCompliance, "k3": ScopeOnboarding | ScopeCompliance,
		}},
		{name: "outer spaces and scope case", spec: " k1:Onboarding , k2:COMPLIANCE ", want: map[string]Scope{
			"k1": ScopeOnboarding, "k2": ScopeCompliance,
		}},
		{name: "white space inside a key", spec: "k1 :onboarding", wantErr: "entry 1: key has whitespace"},
		{name: "key with colon keeps all but the last part", spec: "a:b:compliance", want: map[string]Scope{"a:b": ScopeCompliance}},
		{name: "same key twice unites scopes", spec: "k:onboarding,k:compliance", want: map[string]Scope{"k": ScopeOnboarding | ScopeCompliance}},
		{name: "trailing comma", spec: "k:onboarding,", want: map[string]Scope{"k": ScopeOnboarding}},
		{name: "no scope", spec: "secret-key-1", wantErr: `entry 1: want "key:scopes"`},
		{name: "unknown scope", spec: "k1:onboarding,secret-key-2:admin", wantErr: `entry 2: unknown scope "admin"`},
		{name: "empty key", spec: ":onboarding", wantErr: "entry 1: empty key"},
		{name: "empty scope", spec: "k:", wantErr: `unknown scope ""`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseAPIKeys(tt.spec)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				require.NotContains(t, err.Error(), "secret-key", "errors never repeat keys")
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

// TestParseAPIKeyListNames: "name:key:scopes" names the key's holder; a key with a colon
// and no name keeps meaning what it meant before names existed.
func TestParseAPIKeyListNames(t *testing.T) {
	const strong = "Zq8rX2vLm4Tn7Wp9Ks3Hd6Fj1Gb5Yc0A"
	tests := []struct {
		name    string
		spec    string
		want    []APIKey
		wantErr string
	}{
		{name: "old form", spec: strong + ":compliance", want: []APIKey{{Key: strong, Scopes: ScopeCompliance}}},
		{name: "named", spec: "alice.martin:" + strong + ":compliance", want: []APIKey{{Name: "alice.martin", Key: strong, Scopes: ScopeCompliance}}},
		{name: "named, both scopes", spec: "bob@ops:" + strong + ":onboarding+compliance", want: []APIKey{{Name: "bob@ops", Key: strong, Scopes: ScopeOnboarding | ScopeCompliance}}},
		{name: "weak key after a name-like prefix stays one key", spec: "a:b:compliance", want: []APIKey{{Key: "a:b", Scopes: ScopeCompliance}}},
		{name: "prefix that is no name stays part of the key", spec: "a b:" + strong + ":compliance", wantErr: "whitespace"},
		{name: "named with unknown scope", spec: "carol:" + strong + ":admin", wantErr: `unknown scope "admin"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseAPIKeyList(tt.spec)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				require.NotContains(t, err.Error(), strong, "errors never repeat keys")
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestReadAPIKeysFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "keys")
	require.NoError(t, os.WriteFile(path, []byte("# the onboarding system\nonb-key:onboarding\n\n  comp-key:compliance  \nboth:onboarding+compliance\n"), 0o600))
	got, err := ReadAPIKeysFile(path)
	require.NoError(t, err)
	require.Equal(t, map[string]Scope{
		"onb-key": ScopeOnboarding, "comp-key": ScopeCompliance, "both": ScopeOnboarding | ScopeCompliance,
	}, got)

	require.NoError(t, os.WriteFile(path, []byte("ok:onboarding\nsecret-key-9:root\n"), 0o600))
	_, err = ReadAPIKeysFile(path)
	require.ErrorContains(t, err, "line 2")
	require.NotContains(t, err.Error(), "secret-key-9")

	_, err = ReadAPIKeysFile(filepath.Join(dir, "missing"))
	require.ErrorContains(t, err, "read api keys file")
}

func TestMergeAPIKeys(t *testing.T) {
	got := MergeAPIKeys(map[string]Scope{"a": ScopeOnboarding}, map[string]Scope{"a": ScopeCompliance, "b": ScopeCompliance})
	require.Equal(t, map[string]Scope{"a": ScopeOnboarding | ScopeCompliance, "b": ScopeCompliance}, got)
}

func TestKeyring(t *testing.T) {
	_, err := newKeyring(nil)
	require.ErrorContains(t, err, "no API key configured")
	_, err = newKeyring(map[string]Scope{"k": 0})
	require.ErrorContains(t, err, "no scope")

	const onb, comp, both = "onb-9c4f2a7e1b8d3f6a0c5e9b2d7a4f1c8e", "comp-3b8e1d6a9f2c5e0b7d4a1f8c3e6b9d2a", "both-7a2d5f8c1e4b9a6d3f0c8e5b2a7d4f1c"
	kr, err := newKeyring(map[string]Scope{
		onb: ScopeOnboarding, comp: ScopeCompliance, both: ScopeOnboarding | ScopeCompliance,
	})
	require.NoError(t, err)
	for _, e := range kr.entries {
		require.Len(t, e.hash, 32, "only hashes are kept")
	}
	tests := []struct {
		key   string
		want  Scope
		found bool
	}{
		{onb, ScopeOnboarding, true},
		{comp, ScopeCompliance, true},
		{both, ScopeOnboarding | ScopeCompliance, true},
		{onb + " ", 0, false},
		{strings.ToUpper(onb), 0, false},
		{"", 0, false},
		{"unknown", 0, false},
	}
	for _, tt := range tests {
		got, found := kr.lookup(tt.key)
		require.Equal(t, tt.found, found, "key %q", tt.key)
		require.Equal(t, tt.want, got, "key %q", tt.key)
	}
}

func TestScope(t *testing.T) {
	both := ScopeOnboarding | ScopeCompliance
	require.Equal(t, "onboarding+compliance", both.String())
	require.Equal(t, []string{"onboarding", "compliance"}, both.Names())
	require.True(t, both.Has(ScopeCompliance))
	require.False(t, ScopeOnboarding.Has(ScopeCompliance))
	require.True(t, ScopeOnboarding.Has(0))
	s, err := ParseScope("compliance+onboarding")
	require.NoError(t, err)
	require.Equal(t, both, s)
}

func TestWeakKeysAreRefused(t *testing.T) {
	for name, key := range map[string]string{
		"one letter":        "Q",
		"31 characters":     "Zq8vN3xK7pL2mR9tW4yB6cF1hJ5dG0s",
		"env placeholder":   "change-me-onboarding-key",
		"long placeholder":  "change-me-onboarding-key-please-now-really",
		"patterned":         strings.Repeat("ab12", 10),
		"common word":       "Password",
		"codec placeholder": "REPLACE-WITH-BASE64-OF-32-RANDOM-BYTES",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := newKeyring(map[string]Scope{key: ScopeOnboarding})
			require.ErrorIs(t, err, ErrWeakSecret)
			require.NotContains(t, err.Error(), key, "the error never repeats the key")
		})
	}
	require.NoError(t, CheckSecretStrength("Zq8vN3xK7pL2mR9tW4yB6cF1hJ5dG0sA"))
}
