package main

import (
	"bytes"
	"context"
	"os"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestMain lets the tests of other behaviour run the subcommands without payload
// encryption keys: every process that talks to Temporal refuses to start without keys
// unless --allow-plaintext (QESFLOW_ALLOW_PLAINTEXT) is given, which
// TestProcessesRefuseToStartWithoutKeys checks.
func TestMain(m *testing.M) {
	if _, set := os.LookupEnv("QESFLOW_ALLOW_PLAINTEXT"); !set {
		os.Setenv("QESFLOW_ALLOW_PLAINTEXT", "true")
	}
	// The tests check readiness on the service's own address, and run in parallel: no fixed
	// admin ports (TestAdminEndpointsOnTheirOwnListener covers them).
	for _, env := range []string{"QESFLOW_API_ADMIN_ADDR", "QESFLOW_BRIDGE_ADMIN_ADDR", "QESFLOW_CODEC_ADMIN_ADDR"} {
		if _, set := os.LookupEnv(env); !set {
			os.Setenv(env, "")
		}
	}
	os.Exit(m.Run())
}

func TestProcessesRefuseToStartWithoutKeys(t *testing.T) {
	t.Setenv("QESFLOW_ALLOW_PLAINTEXT", "false")
	t.Setenv("QESFLOW_CODEC_KEYS", "")
	t.Setenv("QESFLOW_CODEC_KEYS_FILE", "")
	for _, cmd := range []string{"worker", "bridge", "api", "start"} {
		t.Run(cmd, func(t *testing.T) {
			var out bytes.Buffer
			code := runMain(context.Background(), []string{cmd, "--temporal-address", "127.0.0.1:1"}, &out, &out)
			require.NotEqual(t, 0, code)
			require.Contains(t, out.String(), "no payload encryption keys", "%s", out.String())
			require.Contains(t, out.String(), "--allow-plaintext")
		})
	}
}

// A secret given as a flag value (visible in ps) is warned about; from the environment it is
// not.
func TestSecretFlagValueIsWarnedAbout(t *testing.T) {
	var warnings bytes.Buffer
	old := secretFlagWarnings
	secretFlagWarnings = &warnings
	t.Cleanup(func() { secretFlagWarnings = old })

	t.Setenv("QESFLOW_API_KEYS", "from-env-6b1e8d3a9f2c7e4b0a5d8f1c3e9a:onboarding")
	_, err := (&apiFlags{}).keys()
	require.NoError(t, err)
	require.Empty(t, warnings.String())

	_, err = (&apiFlags{apiKeys: "from-flag-2c9e5a1f7d3b8e0a4c6f9d2b5e8a:onboarding"}).keys()
	require.NoError(t, err)
	require.Contains(t, warnings.String(), "WARNING: a secret was given as a flag value")
	require.Contains(t, warnings.String(), "QESFLOW_API_KEYS_FILE")
	require.NotContains(t, warnings.String(), "from-flag")
}
