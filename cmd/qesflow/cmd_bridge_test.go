package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/qesflow/qesflow/internal/testenv"
	"github.com/qesflow/qesflow/treezor"
	"github.com/qesflow/qesflow/webhookbridge"
)

func TestBridgeRequiresAWebhookSecret(t *testing.T) {
	t.Setenv("TREEZOR_WEBHOOK_SECRET", "")
	var stdout, stderr bytes.Buffer
	code := runMain(context.Background(), []string{"bridge", "--addr", "127.0.0.1:0"}, &stdout, &stderr)
	require.Equal(t, 1, code)
	require.Contains(t, stderr.String(), "no webhook secret configured")
}

func TestBridgeSecretsFromFileAndEnvironment(t *testing.T) {
	file := filepath.Join(t.TempDir(), "secret")
	require.NoError(t, os.WriteFile(file, []byte("new-secret\nold-secret\n"), 0o600))
	f := &bridgeFlags{secretFile: file}
	got, err := f.secrets()
	require.NoError(t, err)
	require.Equal(t, []string{"new-secret", "old-secret"}, got)

	t.Setenv("TREEZOR_WEBHOOK_SECRET", " a, ,b ")
	got, err = (&bridgeFlags{}).secrets()
	require.NoError(t, err)
	require.Equal(t, []string{"a", "b"}, got)

	_, err = (&bridgeFlags{secret: "x", secretFile: file}).secrets()
	require.ErrorContains(t, err, "not both")
}

func TestBridgeHelpDoesNotPrintSecrets(t *testing.T) {
	t.Setenv("TREEZOR_WEBHOOK_SECRET", "env-webhook-secret")
	t.Setenv("TEMPORAL_API_KEY", "env-api-key")
	var stdout, stderr bytes.Buffer
	require.Equal(t, 0, runMain(context.Background(), []string{"bridge", "--help"}, &stdout, &stderr))
	out := stdout.String() + stderr.String()
	require.Contains(t, out, "TREEZOR_WEBHOOK_SECRET")
	require.Contains(t, out, "--webhook-secret-file"[1:])
	require.NotContains(t, out, "env-webhook-secret")
	require.NotContains(t, out, "env-api-key")
}

// TestBridgeProcessFinishesInFlightRequestOnSIGTERM runs the real binary against an
// in-process Temporal, holds a webhook in flight (headers sent, body not yet), sends SIGTERM,
// then sends the body: the webhook is answered, and the process exits 0.
func TestBridgeProcessFinishesInFlightRequestOnSIGTERM(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	ts := testenv.NewTemporal(t)
	bin := buildBinary(t)
	addr := freeAddr(t)
	const secret = "process-test-secret"

	var logs syncBuffer
	cmd := exec.Command(bin, "bridge", "--addr", addr,
		"--temporal-address", ts.GetFrontendHostPort(), "--namespace", ts.GetDefaultNamespace())
	cmd.Env = append(os.Environ(), "TREEZOR_WEBHOOK_SECRET=rotated-out,"+secret)
	cmd.Stdout, cmd.Stderr = &logs, &logs
	require.NoError(t, cmd.Start())
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
		}
	})

	require.Eventually(t, func() bool {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 60*time.Second, 100*time.Millisecond, "bridge never became ready; logs:\n%s", &logs)

	body := signedWebhook(t, secret, "wh-inflight-1", "nobody-42")
	conn, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer conn.Close()
	// Expect: 100-continue makes the server say when the handler starts reading the body:
	// from then on the request is in flight.
	_, err = fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\nExpect: 100-continue\r\n\r\n",
		webhookbridge.Path, addr, len(body))
	require.NoError(t, err)
	rd := bufio.NewReader(conn)
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(60*time.Second)))
	line, err := rd.ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "HTTP/1.1 100 Continue\r\n", line)
	_, err = rd.ReadString('\n') // the blank line after the interim response
	require.NoError(t, err)

	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	// Shutdown started: new connections are refused while ours stays open.
	require.Eventually(t, func() bool {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			return true
		}
		c.Close()
		return false
	}, 30*time.Second, 50*time.Millisecond)

	half := len(body) / 2
	_, err = conn.Write(body[:half])
	require.NoError(t, err)
	_, err = conn.Write(body[half:])
	require.NoError(t, err)
	resp, err := http.ReadResponse(rd, nil)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var a struct{ Status, WebhookID string }
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&a))
	require.Equal(t, webhookbridge.OutcomeNoOnboarding, a.Status)
	require.Equal(t, "wh-inflight-1", a.WebhookID)

	select {
	case err := <-exited:
		require.NoError(t, err, "exit status; logs:\n%s", &logs)
	case <-time.After(60 * time.Second):
		t.Fatalf("bridge did not exit after SIGTERM; logs:\n%s", &logs)
	}
	require.NotContains(t, logs.String(), secret)
	require.Contains(t, logs.String(), "http server stopped")
}

// signedWebhook is a qes.finalized webhook for user, signed with secret.
func signedWebhook(t *testing.T, secret, webhookID, user string) []byte {
	t.Helper()
	payload := []byte(`{"qes":[{"userId":"` + user + `","identificationId":"ident-1","result":"SUCCESS"}]}`)
	sig, err := treezor.Sign(secret, payload)
	require.NoError(t, err)
	body, err := treezor.EncodeEnvelope(&treezor.Envelope{
		Webhook: treezor.EventQESFinalized, WebhookID: webhookID, Object: "qes", ObjectID: "ident-1",
		ObjectPayload: payload, Signature: sig, CreatedAt: time.Now(),
	})
	require.NoError(t, err)
	return body
}

// buildBinary builds qesflow into a temporary directory.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "qesflow")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	require.NoError(t, err, "go build: %s", out)
	return bin
}

// freeAddr returns a loopback address with a port free right now.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}

// syncBuffer is a bytes.Buffer safe for the process's output goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var _ io.Writer = (*syncBuffer)(nil)
