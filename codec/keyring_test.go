package codec

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

// testKey is a deterministic key for tests: 32 bytes of b.
func testKey(id string, b byte) Key {
	return Key{ID: id, Secret: []byte(strings.Repeat(string([]byte{b}), KeyLen))}
}

func b64(k Key) string { return base64.StdEncoding.EncodeToString(k.Secret) }

func TestParseKeyring(t *testing.T) {
	k1, k2 := testKey("k1", 1), testKey("k2", 2)
	short := base64.StdEncoding.EncodeToString([]byte("too short"))
	raw := base64.RawURLEncoding.EncodeToString(k1.Secret)
	tests := []struct {
		name       string
		spec       string
		wantActive string
		wantIDs    []string
		wantErr    string
	}{
		{name: "one key", spec: "k1:" + b64(k1), wantActive: "k1", wantIDs: []string{"k1"}},
		{name: "first is active", spec: "k2:" + b64(k2) + ",k1:" + b64(k1), wantActive: "k2", wantIDs: []string{"k2", "k1"}},
		{name: "spaces and empty entries", spec: " k2 : " + b64(k2) + " , ,k1:" + b64(k1) + ",", wantActive: "k2", wantIDs: []string{"k2", "k1"}},
		{name: "url base64 without padding", spec: "k1:" + raw, wantActive: "k1", wantIDs: []string{"k1"}},
		{name: "empty", spec: "", wantErr: "no key"},
		{name: "no colon", spec: b64(k1), wantErr: "entry 1: want id:base64key"},
		{name: "empty id", spec: ":" + b64(k1), wantErr: "entry 1: key id must be"},
		{name: "bad id characters", spec: "k 1:" + b64(k1), wantErr: "entry 1: key id must be"},
		{name: "key and id swapped", spec: b64(k1) + ":k1", wantErr: "entry 1: key id must be"},
		{name: "bad base64", spec: "k1:" + b64(k1) + ",k2:not*base64", wantErr: `entry 2: key "k2" is not valid base64`},
		{name: "wrong length", spec: "k1:" + short, wantErr: `key "k1" is 9 bytes long, want 32`},
		{name: "duplicate id", spec: "k1:" + b64(k1) + ",k1:" + b64(k2), wantErr: `key id "k1" is used twice`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := ParseKeyring(tt.spec)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				require.NotContains(t, err.Error(), b64(k1), "key material in the error")
				require.NotContains(t, err.Error(), b64(k2), "key material in the error")
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.wantActive, r.ActiveKeyID())
			require.Equal(t, tt.wantIDs, r.KeyIDs())
		})
	}
}

func TestReadKeyringFile(t *testing.T) {
	k1, k2 := testKey("k1", 1), testKey("k2", 2)
	dir := t.TempDir()
	good := filepath.Join(dir, "keys")
	require.NoError(t, os.WriteFile(good, []byte("# rotated 2025-01\nk2:"+b64(k2)+"\r\n\nk1:"+b64(k1)+"\n"), 0o600))
	r, err := ReadKeyringFile(good)
	require.NoError(t, err)
	require.Equal(t, []string{"k2", "k1"}, r.KeyIDs())

	bad := filepath.Join(dir, "bad")
	require.NoError(t, os.WriteFile(bad, []byte("k2:"+b64(k2)+"\n\nk1:"+b64(k1)[:20]+"!\n"), 0o600))
	_, err = ReadKeyringFile(bad)
	require.ErrorContains(t, err, "line 3: key \"k1\" is not valid base64")
	require.ErrorContains(t, err, bad)

	_, err = ReadKeyringFile(filepath.Join(dir, "missing"))
	require.ErrorContains(t, err, "read key file")
}

func TestLoadKeyring(t *testing.T) {
	k1 := testKey("k1", 1)
	file := filepath.Join(t.TempDir(), "keys")
	require.NoError(t, os.WriteFile(file, []byte(k1.Spec()+"\n"), 0o600))

	r, err := LoadKeyring("", "")
	require.NoError(t, err)
	require.Nil(t, r, "no keys: no encryption")

	r, err = LoadKeyring(k1.Spec(), "")
	require.NoError(t, err)
	require.Equal(t, "k1", r.ActiveKeyID())

	r, err = LoadKeyring("", file)
	require.NoError(t, err)
	require.Equal(t, "k1", r.ActiveKeyID())

	_, err = LoadKeyring(k1.Spec(), file)
	require.ErrorContains(t, err, "not both")

	t.Setenv(EnvKeys, k1.Spec())
	t.Setenv(EnvKeysFile, "")
	r, err = KeyringFromEnv()
	require.NoError(t, err)
	require.Equal(t, "k1", r.ActiveKeyID())
}

func TestGenerateKey(t *testing.T) {
	a, err := GenerateKey("dev-1")
	require.NoError(t, err)
	b, err := GenerateKey("dev-1")
	require.NoError(t, err)
	require.Len(t, a.Secret, KeyLen)
	require.NotEqual(t, a.Secret, b.Secret)
	r, err := ParseKeyring(a.Spec())
	require.NoError(t, err)
	require.Equal(t, "dev-1", r.ActiveKeyID())

	_, err = GenerateKey("has space")
	require.ErrorContains(t, err, "key id must be")
}

// Keys never show in formatted output, JSON or logs.
func TestKeysNeverPrinted(t *testing.T) {
	k := testKey("k1", 7)
	r, err := NewKeyring(k)
	require.NoError(t, err)
	secret := b64(k)
	core, logs := observer.New(zap.DebugLevel)
	log := zap.New(core)
	log.Info("keys", zap.Any("key", k), zap.Any("keyring", r), zap.Stringer("ring", r))
	js, err := json.Marshal(k)
	require.NoError(t, err)
	for _, s := range []string{
		fmt.Sprint(k), fmt.Sprintf("%v %+v %#v %s", k, k, k, k), fmt.Sprintf("%v %+v %#v %s", r, r, r, r), string(js),
		fmt.Sprint(logs.All()[0].ContextMap()),
	} {
		require.NotContains(t, s, secret)
		require.NotContains(t, s, string(k.Secret))
		require.NotContains(t, s, "7, 7, 7")
	}
	require.Contains(t, fmt.Sprint(r), "active: k1")
}
