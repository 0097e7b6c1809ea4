package main

import (
	"bytes"
	"context"
	"testing"

	"github.com/stretchr/testify/require"
)

// A variable that holds no valid value fails start and names the variable, as the flag form
// does; before, the default was used silently (QESFLOW_RETENTION=30d ran with 24h).
func TestInvalidEnvironmentFailsStart(t *testing.T) {
	for _, tc := range []struct {
		name, env, value string
		args             []string
	}{
		{"server retention in days", "QESFLOW_RETENTION", "30d", []string{"server", "--ephemeral", "--ui-port", "-1"}},
		{"server shards", "QESFLOW_NUM_HISTORY_SHARDS", "four", []string{"server", "--ephemeral", "--ui-port", "-1"}},
		{"server ephemeral", "QESFLOW_EPHEMERAL", "yes please", []string{"server", "--ui-port", "-1", "--data-dir", "TEMPDIR"}},
		{"worker stop timeout", "QESFLOW_WORKER_STOP_TIMEOUT", "20", []string{"worker"}},
		{"api user timeout", "QESFLOW_USER_TIMEOUT", "7days", []string{"api"}},
		{"bridge max body", "QESFLOW_BRIDGE_MAX_BODY", "1MB", []string{"bridge"}},
		{"sim chaos rate", "QESFLOW_SIM_CHAOS_DUPLICATE_RATE", "ten percent", []string{"sim"}},
		{"setup retention", "QESFLOW_RETENTION", "1 week", []string{"setup"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(tc.env, tc.value)
			for i, a := range tc.args {
				if a == "TEMPDIR" { // a regression must not leave a store in the source tree
					tc.args[i] = t.TempDir()
				}
			}
			ctx, cancel := context.WithCancel(context.Background())
			cancel() // nothing may run: the check comes before any work
			var stdout, stderr bytes.Buffer
			code := runMain(ctx, tc.args, &stdout, &stderr)
			require.Equal(t, 1, code, "stderr: %s", stderr.String())
			require.Contains(t, stderr.String(), tc.env+"=")
			require.Contains(t, stderr.String(), "invalid environment")
		})
	}
}

// The command line wins over the environment, so a bad variable under a flag given on the
// command line does not matter; an empty variable counts as unset.
func TestEnvironmentCheckSkipsOverriddenAndEmpty(t *testing.T) {
	t.Setenv("QESFLOW_RETENTION", "30d")
	t.Setenv("QESFLOW_NUM_HISTORY_SHARDS", "")
	fs := newFlagSet("probe", "probe", &bytes.Buffer{})
	fs.Duration("retention", 0, envHelp("retention", "QESFLOW_RETENTION"))
	fs.Int("num-history-shards", 0, envHelp("shards", "QESFLOW_NUM_HISTORY_SHARDS"))
	require.NoError(t, parseFlags(fs, []string{"--retention", "720h"}))

	fs = newFlagSet("probe", "probe", &bytes.Buffer{})
	fs.Duration("retention", 0, envHelp("retention", "QESFLOW_RETENTION"))
	require.ErrorContains(t, parseFlags(fs, nil), `QESFLOW_RETENTION="30d"`)
}
