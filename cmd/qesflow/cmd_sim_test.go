package main

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
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
