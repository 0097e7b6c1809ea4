package main

import (
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestTemporalClientProfile checks that the Temporal connection comes from the temporal CLI's
// client configuration (file, TEMPORAL_PROFILE, TEMPORAL_* variables) and that flags override it.
func TestTemporalClientProfile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "temporal.toml")
	require.NoError(t, os.WriteFile(file, []byte(`
[profile.default]
address = "default.example:7233"

[profile.staging]
address = "staging.example:7233"
namespace = "qesflow-staging"
api_key = "profile-key"

[profile.mtls]
address = "mtls.example:7233"
[profile.mtls.tls]
client_cert_path = "/certs/client.pem"
client_key_path = "/certs/client-key.pem"
server_name = "temporal.internal"
`), 0o600))
	for _, name := range []string{"TEMPORAL_ADDRESS", "TEMPORAL_NAMESPACE", "TEMPORAL_API_KEY", "TEMPORAL_TLS", "TEMPORAL_PROFILE"} {
		t.Setenv(name, "")
		require.NoError(t, os.Unsetenv(name))
	}
	t.Setenv("TEMPORAL_CONFIG_FILE", file)

	tests := []struct {
		name                           string
		env                            map[string]string
		args                           []string
		address, namespace, apiKey     string
		tls                            bool
		tlsCert, tlsServerName, errMsg string
	}{
		{name: "default profile", address: "default.example:7233", namespace: "default"},
		{name: "TEMPORAL_PROFILE", env: map[string]string{"TEMPORAL_PROFILE": "staging"},
			address: "staging.example:7233", namespace: "qesflow-staging", apiKey: "profile-key"},
		{name: "--profile", args: []string{"--profile", "staging"},
			address: "staging.example:7233", namespace: "qesflow-staging", apiKey: "profile-key"},
		{name: "flags override the profile", args: []string{"--profile", "staging", "--temporal-address", "flag.example:7233", "--namespace", "flag-ns"},
			address: "flag.example:7233", namespace: "flag-ns", apiKey: "profile-key"},
		{name: "TEMPORAL_ADDRESS overrides the file", env: map[string]string{"TEMPORAL_PROFILE": "staging", "TEMPORAL_ADDRESS": "env.example:7233"},
			address: "env.example:7233", namespace: "qesflow-staging", apiKey: "profile-key"},
		{name: "TLS from the profile", args: []string{"--profile", "mtls"}, address: "mtls.example:7233", namespace: "default",
			tls: true, tlsCert: "/certs/client.pem", tlsServerName: "temporal.internal"},
		{name: "--tls=false overrides the profile", args: []string{"--profile", "mtls", "--tls=false", "--tls-cert", "", "--tls-key", ""},
			address: "mtls.example:7233", namespace: "default", tlsServerName: "temporal.internal"},
		{name: "unknown profile", args: []string{"--profile", "nope"}, errMsg: "unable to find profile nope"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			fs := newFlagSet("test", "test", io.Discard)
			tf := addTemporalFlags(fs)
			require.NoError(t, parseFlags(fs, append([]string{"--allow-plaintext"}, tc.args...)))
			err := tf.validate()
			if tc.errMsg != "" {
				require.ErrorContains(t, err, tc.errMsg)
				return
			}
			require.NoError(t, err)
			opts := tf.options(nil)
			require.Equal(t, tc.address, opts.Address)
			require.Equal(t, tc.namespace, opts.Namespace)
			require.Equal(t, tc.apiKey, opts.APIKey)
			require.Equal(t, tc.tls, opts.TLS)
			require.Equal(t, tc.tlsCert, opts.TLSCertFile)
			require.Equal(t, tc.tlsServerName, opts.TLSServerName)
		})
	}
}
