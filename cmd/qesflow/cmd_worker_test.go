package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/qesflow/qesflow/internal/testenv"
	"github.com/qesflow/qesflow/internal/testpki"
)

func TestWorkerHelp(t *testing.T) {
	t.Setenv("TREEZOR_CLIENT_SECRET", "env-client-secret")
	var stdout, stderr bytes.Buffer
	require.Equal(t, 0, runMain(context.Background(), []string{"worker", "--help"}, &stdout, &stderr))
	out := stdout.String() + stderr.String()
	for _, flag := range []string{"-treezor-base-url", "-treezor-client-id", "-treezor-client-secret-file", "-treezor-scopes",
		"-document-dir", "-sticky-cache-size", "-metrics-addr", "-temporal-address", "-namespace", "-api-key-file", "-log-level"} {
		require.Contains(t, out, flag)
	}
	require.NotContains(t, out, "env-client-secret")
}

func TestWorkerRefusesIncompleteTreezorConfiguration(t *testing.T) {
	for _, env := range []string{"TREEZOR_BASE_URL", "TREEZOR_CLIENT_ID", "TREEZOR_CLIENT_SECRET", "TREEZOR_CLIENT_SECRET_FILE"} {
		t.Setenv(env, "")
	}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no base URL", []string{"worker", "--treezor-client-id", "id"}, "--treezor-base-url (TREEZOR_BASE_URL) is required"},
		{"no client id", []string{"worker", "--treezor-base-url", "https://x.example"}, "--treezor-client-id (TREEZOR_CLIENT_ID) is required"},
		{"no secret", []string{"worker", "--treezor-base-url", "https://x.example", "--treezor-client-id", "id"}, "Treezor client secret is required"},
		{"negative pollers", []string{"worker", "--treezor-base-url", "https://x.example", "--treezor-client-id", "id", "--activity-task-pollers", "-1"}, "--activity-task-pollers must not be negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			require.Equal(t, 1, runMain(context.Background(), tt.args, &stdout, &stderr))
			require.Contains(t, stderr.String(), tt.want)
		})
	}
}

func TestWorkerClientSecretFromFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "secret")
	require.NoError(t, os.WriteFile(file, []byte("file-secret\n"), 0o600))
	f := &workerFlags{treezorBaseURL: "https://x.example", treezorClientID: "id", treezorSecretFile: file, treezorScopes: "read_write"}
	c, certs, err := f.treezorClient(nil)
	require.NoError(t, err)
	require.NotNil(t, c)
	require.Nil(t, certs, "no client certificate configured")
}

// TestWorkerRunsAndStopsOnCancel runs `qesflow worker` in-process against an in-process
// Temporal: it serves /readyz and SDK metrics on /metrics, and returns 0 once its context
// is cancelled (SIGTERM in the binary).
func TestWorkerRunsAndStopsOnCancel(t *testing.T) {
	ts := testenv.NewTemporal(t)
	treezorAPI := httptest.NewServer(http.NotFoundHandler()) // no workflow runs: never called
	defer treezorAPI.Close()
	t.Setenv("TREEZOR_CLIENT_SECRET", "worker-test-secret")
	metricsAddr := freeAddr(t)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncBuffer
	exit := make(chan int, 1)
	go func() {
		exit <- runMain(ctx, []string{"worker",
			"--temporal-address", ts.GetFrontendHostPort(), "--namespace", ts.GetDefaultNamespace(),
			"--treezor-base-url", treezorAPI.URL, "--treezor-client-id", "id",
			"--document-dir", t.TempDir(), "--metrics-addr", metricsAddr, "--stop-timeout", "5s",
		}, &stdout, &stderr)
	}()

	var metrics string
	require.Eventually(t, func() bool {
		resp, err := http.Get("http://" + metricsAddr + "/metrics")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		metrics = string(b)
		return strings.Contains(metrics, "temporal_num_pollers") || strings.Contains(metrics, "temporal_long_request_total")
	}, 60*time.Second, 100*time.Millisecond, "no SDK metrics; stderr:\n%s", &stderr)
	resp, err := http.Get("http://" + metricsAddr + "/readyz")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)

	t.Log("ready, stopping")
	cancel()
	select {
	case code := <-exit:
		require.Equal(t, 0, code, "stderr:\n%s", &stderr)
	case <-time.After(60 * time.Second):
		t.Fatal("worker did not stop")
	}
}

// TestWorkerTreezorTLSFlags: the client certificate and key go together; with both the
// client presents the certificate through a reloader.
func TestWorkerTreezorTLSFlags(t *testing.T) {
	for _, env := range []string{"TREEZOR_TLS_CERT_FILE", "TREEZOR_TLS_KEY_FILE", "TREEZOR_TLS_CA_FILE"} {
		t.Setenv(env, "")
	}
	var stdout, stderr bytes.Buffer
	args := []string{"worker", "--treezor-base-url", "https://x.example", "--treezor-client-id", "id", "--treezor-tls-cert-file", "c.pem"}
	require.Equal(t, 1, runMain(context.Background(), args, &stdout, &stderr))
	require.Contains(t, stderr.String(), "--treezor-tls-key-file (TREEZOR_TLS_KEY_FILE) go together")

	ca := testpki.NewCA(t, "treezor")
	pair := ca.Client("qesflow", t.TempDir())
	secret := filepath.Join(t.TempDir(), "secret")
	require.NoError(t, os.WriteFile(secret, []byte("s"), 0o600))
	t.Setenv("TREEZOR_TLS_CERT_FILE", pair.CertFile)
	t.Setenv("TREEZOR_TLS_KEY_FILE", pair.KeyFile)
	t.Setenv("TREEZOR_TLS_CA_FILE", ca.File)
	f, err := parseWorkerFlags([]string{"--treezor-base-url", "https://x.example", "--treezor-client-id", "id",
		"--treezor-client-secret-file", secret}, io.Discard)
	require.NoError(t, err)
	c, certs, err := f.treezorClient(nil)
	require.NoError(t, err)
	require.NotNil(t, c)
	require.NotNil(t, certs)
	require.False(t, certs.NotAfter().IsZero())

	t.Setenv("TREEZOR_TLS_KEY_FILE", pair.CertFile) // not a key
	f, err = parseWorkerFlags([]string{"--treezor-base-url", "https://x.example", "--treezor-client-id", "id",
		"--treezor-client-secret-file", secret}, io.Discard)
	require.NoError(t, err)
	_, _, err = f.treezorClient(nil)
	require.ErrorContains(t, err, "load client certificate")
}
