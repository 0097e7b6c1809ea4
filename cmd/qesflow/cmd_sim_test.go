package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/qesflow/qesflow/internal/testpki"
	"github.com/qesflow/qesflow/treezor"
	"github.com/qesflow/qesflow/treezorsim"
)

// TestSimStateFileSurvivesRestart runs `qesflow sim --state-file` twice on the same file:
// a user created in the first run is known to the second.
func TestSimStateFileSurvivesRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sim.json")
	t.Setenv("QESFLOW_LOG_LEVEL", "warn")

	base, stop := startSim(t, path)
	resp, err := http.Post(base+"/sim/users", "application/json",
		strings.NewReader(`{"userId":"cli-1","firstname":"Ada","country":"FR"}`))
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	require.Equal(t, http.StatusOK, resp.StatusCode)
	stop()

	base, stop = startSim(t, path)
	defer stop()
	resp, err = http.Get(base + "/sim/users/cli-1")
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	require.Equal(t, http.StatusOK, resp.StatusCode)
}

func TestSimRefusesACorruptStateFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sim.json")
	require.NoError(t, os.WriteFile(path, []byte("{not json"), 0o600))
	t.Setenv("QESFLOW_SIM_STATE_FILE", path)
	t.Setenv("QESFLOW_LOG_LEVEL", "warn")
	var stdout, stderr bytes.Buffer
	code := runMain(context.Background(), []string{"sim", "--addr", freeAddr(t)}, &stdout, &stderr)
	require.Equal(t, 1, code)
	require.Contains(t, stderr.String(), path)
	require.Contains(t, stderr.String(), "decode")
}

// startSim runs `qesflow sim` in-process until stop, which waits for a clean exit.
func startSim(t *testing.T, stateFile string) (baseURL string, stop func()) {
	t.Helper()
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	var stderr bytes.Buffer
	go func() {
		done <- runMain(ctx, []string{"sim", "--addr", addr, "--state-file", stateFile, "--webhook-url", ""}, &bytes.Buffer{}, &stderr)
	}()
	baseURL = "http://" + addr
	require.Eventually(t, func() bool {
		resp, err := http.Get(baseURL + "/sim/stats")
		if err != nil {
			return false
		}
		_ = resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 20*time.Second, 10*time.Millisecond, "simulator up")
	var once bool
	return baseURL, func() {
		if once {
			return
		}
		once = true
		cancel()
		select {
		case code := <-done:
			require.Equal(t, 0, code, stderr.String())
		case <-time.After(20 * time.Second):
			t.Fatal("simulator did not stop")
		}
	}
}

// TestSimMutualTLS runs `qesflow sim` over TLS requiring client certificates: the Treezor
// client with the certificate gets a token, one without fails the TLS handshake.
func TestSimMutualTLS(t *testing.T) {
	t.Setenv("QESFLOW_LOG_LEVEL", "warn")
	ca := testpki.NewCA(t, "sim")
	server := ca.Server("sim")
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		done <- runMain(ctx, []string{"sim", "--addr", addr, "--webhook-url", "", "--public-url", "https://" + addr,
			"--tls-cert-file", server.CertFile, "--tls-key-file", server.KeyFile, "--tls-client-ca-file", ca.File,
			"--downloads-enabled"}, &bytes.Buffer{}, &bytes.Buffer{})
	}()
	defer func() {
		cancel()
		require.Equal(t, 0, <-done)
	}()
	pair := ca.Client("qesflow", t.TempDir())
	certs, err := treezor.NewCertReloader(treezor.TLSFiles{CertFile: pair.CertFile, KeyFile: pair.KeyFile, CAFile: ca.File})
	require.NoError(t, err)
	withCert, err := treezor.NewClient(treezor.Config{BaseURL: "https://" + addr, ClientID: treezorsim.DevClientID,
		ClientSecret: treezorsim.DevClientSecret, ClientCert: certs})
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		_, err := withCert.GetUser(context.Background(), "nobody")
		var apiErr *treezor.APIError
		return errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusNotFound
	}, 20*time.Second, 20*time.Millisecond, "the simulator answers a client with the certificate")

	roots := x509.NewCertPool()
	pem, err := os.ReadFile(ca.File)
	require.NoError(t, err)
	roots.AppendCertsFromPEM(pem)
	noCert, err := treezor.NewClient(treezor.Config{BaseURL: "https://" + addr, ClientID: treezorsim.DevClientID,
		ClientSecret: treezorsim.DevClientSecret,
		HTTPClient:   &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}})
	require.NoError(t, err)
	_, err = noCert.GetUser(context.Background(), "nobody")
	_, reason := treezor.Classify(err)
	require.Equal(t, treezor.ReasonTLS, reason, "%v", err)
}
