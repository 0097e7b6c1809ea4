package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/qesflow/qesflow/internal/testenv"
	"github.com/qesflow/qesflow/starter"
	"github.com/qesflow/qesflow/treezor"
	"github.com/qesflow/qesflow/workflows"
)

func TestAPICommandRequiresAKey(t *testing.T) {
	t.Setenv("QESFLOW_API_KEYS", "")
	t.Setenv("QESFLOW_API_KEYS_FILE", "")
	var stdout, stderr bytes.Buffer
	code := runMain(context.Background(), []string{"api", "--addr", "127.0.0.1:0"}, &stdout, &stderr)
	require.Equal(t, 1, code)
	require.Contains(t, stderr.String(), "no API key")
}

func TestAPICommandKeysFromFlagEnvironmentAndFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "keys")
	require.NoError(t, os.WriteFile(file, []byte("# compliance desk\nfile-key:compliance\n"), 0o600))

	t.Setenv("QESFLOW_API_KEYS", "env-key:onboarding")
	got, err := (&apiFlags{apiKeysFile: file}).keys()
	require.NoError(t, err)
	require.Equal(t, map[string]starter.Scope{"env-key": starter.ScopeOnboarding, "file-key": starter.ScopeCompliance}, starter.KeyScopes(got))

	// The flag wins over the environment.
	got, err = (&apiFlags{apiKeys: "flag-key:onboarding+compliance"}).keys()
	require.NoError(t, err)
	require.Equal(t, map[string]starter.Scope{"flag-key": starter.ScopeOnboarding | starter.ScopeCompliance}, starter.KeyScopes(got))

	_, err = (&apiFlags{apiKeys: "ok:onboarding,very-secret-key:admin"}).keys()
	require.ErrorContains(t, err, "entry 2")
	require.NotContains(t, err.Error(), "very-secret-key")
}

func TestAPICommandHelpDoesNotPrintKeys(t *testing.T) {
	t.Setenv("QESFLOW_API_KEYS", "env-api-key-value:onboarding")
	var stdout, stderr bytes.Buffer
	require.Equal(t, 0, runMain(context.Background(), []string{"api", "--help"}, &stdout, &stderr))
	out := stdout.String() + stderr.String()
	for _, want := range []string{"QESFLOW_API_KEYS", "QESFLOW_API_KEYS_FILE", "QESFLOW_API_ADDR", "QESFLOW_PRODUCTION",
		"QESFLOW_API_UPDATE_TIMEOUT", "QESFLOW_MAX_ATTEMPTS", "QESFLOW_REASON_POLICIES", "TEMPORAL_ADDRESS"} {
		require.Contains(t, out, want)
	}
	require.NotContains(t, out, "env-api-key-value")
}

func TestPolicyFlags(t *testing.T) {
	parse := func(args ...string) (*workflows.PolicyOverride, error) {
		fs := newFlagSet("test", "test", io.Discard)
		p := addPolicyFlags(fs)
		require.NoError(t, fs.Parse(args))
		return p.override()
	}
	p, err := parse()
	require.NoError(t, err)
	require.Nil(t, p, "no flag: the workflow's defaults")

	p, err = parse("--max-attempts", "5", "--user-timeout", "48h", "--download-documents",
		"--reason-policies", "3011=TERMINAL_DECLINED")
	require.NoError(t, err)
	require.Equal(t, 5, p.MaxAttempts)
	require.Equal(t, 48*time.Hour, p.UserTimeout)
	require.True(t, *p.DownloadDocuments)
	require.Equal(t, map[int]treezor.Policy{3011: treezor.PolicyTerminalDeclined}, p.ReasonPolicies)

	_, err = parse("--max-attempts", "50")
	require.ErrorContains(t, err, "maxAttempts")
	_, err = parse("--reason-policies", "3011=SOMETIMES")
	require.ErrorContains(t, err, "--reason-policies")

	t.Setenv("QESFLOW_DOWNLOAD_DOCUMENTS", "false")
	t.Setenv("QESFLOW_SEPA_TIMEOUT", "72h")
	p, err = parse()
	require.NoError(t, err)
	require.False(t, *p.DownloadDocuments)
	require.Equal(t, 72*time.Hour, p.SEPATimeout)
	t.Setenv("QESFLOW_DOWNLOAD_DOCUMENTS", "perhaps")
	_, err = parse()
	require.ErrorContains(t, err, "QESFLOW_DOWNLOAD_DOCUMENTS")
}

// TestAPICommandServes runs `qesflow api` against a real Temporal server: the OpenAPI document,
// auth, a status query and readiness, then a clean stop on cancel.
func TestAPICommandServes(t *testing.T) {
	ts := testenv.NewTemporal(t)
	addr := loopbackAddr(t)
	t.Setenv("QESFLOW_API_KEYS", "cmd-test-key-8d3f1a6c9e2b5d7f0a4c:onboarding+compliance")
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- runMain(ctx, []string{"api", "--addr", addr, "--log-format", "console",
			"--temporal-address", ts.GetFrontendHostPort(), "--namespace", ts.GetDefaultNamespace()}, &stdout, &stderr)
	}()
	base := "http://" + addr
	require.Eventually(t, func() bool {
		resp, err := http.Get(base + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 60*time.Second, 100*time.Millisecond, "api never ready: %s", stderr.String())

	resp, err := http.Get(base + "/openapi.json")
	require.NoError(t, err)
	doc, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, starter.OpenAPIDocument(), doc)

	resp, err = http.Get(base + "/v1/onboardings/someone")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)

	req, err := http.NewRequest(http.MethodGet, base+"/v1/onboardings/someone", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer cmd-test-key-8d3f1a6c9e2b5d7f0a4c")
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	var p map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&p))
	resp.Body.Close()
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
	require.Equal(t, starter.ProblemTypePrefix+"not-found", p["type"])

	cancel()
	select {
	case code := <-done:
		require.Equal(t, 0, code, "stderr: %s", stderr.String())
	case <-time.After(60 * time.Second):
		t.Fatal("qesflow api did not stop")
	}
	require.Empty(t, stdout.String(), "qesflow api writes nothing to stdout")
}

// loopbackAddr returns a loopback address with a port free right now.
func loopbackAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}
