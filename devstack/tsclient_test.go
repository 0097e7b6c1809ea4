package devstack

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestGeneratedClientAgainstDevStack runs the integration program of clients/typescript,
// written against the client openapi-typescript generates from starter/openapi.json, against
// a live dev stack: every operation, through the happy path to a cancelled onboarding.
func TestGeneratedClientAgainstDevStack(t *testing.T) {
	dir, err := filepath.Abs(filepath.Join("..", "clients", "typescript"))
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	run := func(env []string, name string, args ...string) string {
		t.Helper()
		cmd := exec.CommandContext(ctx, name, args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), env...)
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "%s %v:\n%s", name, args, out)
		return string(out)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules")); err != nil {
		run(nil, "npm", "ci", "--no-audit", "--no-fund", "--loglevel=error")
	}
	run(nil, "npm", "run", "--silent", "generate")
	run(nil, "npm", "run", "--silent", "build")

	s := startStack(t, freeConfig(t.TempDir(), true))
	createSimUser(t, s, "7301", "FR")
	out := run([]string{
		"QESFLOW_URL=" + s.APIURL, "QESFLOW_USER_ID=7301",
		"QESFLOW_ONBOARDING_KEY=" + s.Credentials.OnboardingKey,
		"QESFLOW_COMPLIANCE_KEY=" + s.Credentials.ComplianceKey,
	}, "node", filepath.Join("dist", "integration.js"))
	require.Contains(t, out, "createOnboarding: 201")
	require.Contains(t, out, "listOnboardings: CANCELLED")
	require.Contains(t, out, "integration: ok")
	t.Log(out)
}
