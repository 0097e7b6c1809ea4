package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/qesflow/qesflow/internal/testenv"
	"github.com/qesflow/qesflow/treezorsim"
	"github.com/qesflow/qesflow/treezorsim/simtest"
	"github.com/qesflow/qesflow/worker"
)

func TestStartCommandNeedsAUser(t *testing.T) {
	t.Setenv("QESFLOW_START_USER", "")
	var stdout, stderr bytes.Buffer
	require.Equal(t, 2, runMain(context.Background(), []string{"start"}, &stdout, &stderr))
	require.Contains(t, stderr.String(), "--user is required")
	require.Empty(t, stdout.String())
}

// TestStartCommandPrintsTheIdentificationURL runs `qesflow start` against a real Temporal
// server and worker, with the Treezor simulator: the URL, and only the URL, goes to stdout.
func TestStartCommandPrintsTheIdentificationURL(t *testing.T) {
	ts := testenv.NewTemporal(t)
	sim := simtest.Start(t, treezorsim.Config{})
	w, err := worker.New(ts.GetDefaultClient(), worker.Options{Treezor: sim.Client(t), Logger: zap.NewNop()})
	require.NoError(t, err)
	require.NoError(t, w.Start())
	t.Cleanup(w.Stop)

	run := func(args ...string) (int, string, string) {
		var stdout, stderr bytes.Buffer
		base := []string{"start", "--temporal-address", ts.GetFrontendHostPort(), "--namespace", ts.GetDefaultNamespace(), "--log-level", "error"}
		code := runMain(context.Background(), append(base, args...), &stdout, &stderr)
		return code, stdout.String(), stderr.String()
	}

	userID := sim.CreateUser(treezorsim.User{Firstname: "Ada", Lastname: "Lovelace", Email: "ada@example.com", Country: "FR", Phone: "+33612345678"})
	code, out, errOut := run("--user", userID, "--redirect-url", "https://app.example.com/back", "--country", "FR")
	require.Equal(t, 0, code, "stderr: %s", errOut)
	_, url, ok := sim.LastIdentification(userID)
	require.True(t, ok)
	require.Equal(t, url+"\n", out, "stdout is the URL and nothing else")
	require.Contains(t, errOut, "started a new onboarding")
	require.NotContains(t, errOut, url)

	code, out, errOut = run("--user", userID)
	require.Equal(t, 0, code, "stderr: %s", errOut)
	require.Equal(t, url+"\n", out)
	require.Contains(t, errOut, "joined the running onboarding")

	incomplete := sim.CreateUser(treezorsim.User{Firstname: "Grace", Lastname: "Hopper", Country: "FR"})
	code, out, errOut = run("--user", incomplete)
	require.Equal(t, 1, code)
	require.Empty(t, out)
	require.Contains(t, errOut, "missing: email, phone")

	code, out, errOut = run("--user", "bad/user")
	require.Equal(t, 1, code)
	require.Empty(t, out)
	require.True(t, strings.Contains(errOut, "userId"), errOut)
}
