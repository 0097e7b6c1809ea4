package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/converter"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
	"google.golang.org/protobuf/proto"

	"github.com/qesflow/qesflow/codec"
	"github.com/qesflow/qesflow/console"
	"github.com/qesflow/qesflow/internal/temporalclient"
	"github.com/qesflow/qesflow/internal/testenv"
	"github.com/qesflow/qesflow/treezorsim"
	"github.com/qesflow/qesflow/treezorsim/simtest"
	"github.com/qesflow/qesflow/worker"
	"github.com/qesflow/qesflow/workflows"
)

func newKeySpec(t *testing.T, id string) string {
	t.Helper()
	k, err := codec.GenerateKey(id)
	require.NoError(t, err)
	return k.Spec()
}

func TestTemporalFlagsLoadTheKeyring(t *testing.T) {
	spec := newKeySpec(t, "k2") + "," + newKeySpec(t, "k1")
	file := filepath.Join(t.TempDir(), "keys")
	require.NoError(t, os.WriteFile(file, []byte(strings.ReplaceAll(spec, ",", "\n")), 0o600))
	parse := func(args ...string) (*temporalFlags, error) {
		fs := newFlagSet("test", "test", &bytes.Buffer{})
		f := addTemporalFlags(fs)
		require.NoError(t, fs.Parse(args))
		return f, f.validate()
	}

	t.Setenv("QESFLOW_CODEC_KEYS", "")
	t.Setenv("QESFLOW_CODEC_KEYS_FILE", "")
	f, err := parse()
	require.NoError(t, err)
	core, logs := observer.New(zap.InfoLevel)
	require.Nil(t, f.options(zap.New(core)).DataConverter, "no keys: no encryption")
	require.Equal(t, 1, logs.FilterMessageSnippet("payloads are not encrypted").Len(), "a warning says so")

	for name, args := range map[string][]string{
		"flag": {"--codec-keys", spec}, "file flag": {"--codec-keys-file", file},
	} {
		f, err := parse(args...)
		require.NoError(t, err, name)
		require.Equal(t, []string{"k2", "k1"}, f.keyring.KeyIDs(), name)
		require.NotNil(t, f.options(zap.NewNop()).DataConverter, name)
	}
	t.Setenv("QESFLOW_CODEC_KEYS", spec)
	f, err = parse()
	require.NoError(t, err)
	require.Equal(t, "k2", f.keyring.ActiveKeyID())
	core, logs = observer.New(zap.InfoLevel)
	dc := f.options(zap.New(core)).DataConverter
	p, err := dc.ToPayload("secret value")
	require.NoError(t, err)
	require.Equal(t, codec.EncodingEncrypted, string(p.Metadata["encoding"]))
	require.Zero(t, logs.FilterMessageSnippet("not encrypted").Len())

	_, err = parse("--codec-keys-file", file)
	require.NoError(t, err, "the file flag wins over the environment")
	t.Setenv("QESFLOW_CODEC_KEYS", "")

	bad := "k1:" + strings.Repeat("A", 20) + "!"
	_, err = parse("--codec-keys", bad)
	require.ErrorContains(t, err, `entry 1: key "k1" is not valid base64`)
	require.NotContains(t, err.Error(), strings.Repeat("A", 20))
	_, err = parse("--codec-keys", spec, "--codec-keys-file", file)
	require.ErrorContains(t, err, "not both")
}

func TestCommandsRefuseBadCodecKeys(t *testing.T) {
	t.Setenv("QESFLOW_CODEC_KEYS", "k1:c2hvcnQ=")
	var stdout, stderr bytes.Buffer
	require.Equal(t, 1, runMain(context.Background(), []string{"start", "--user", "1001"}, &stdout, &stderr))
	require.Contains(t, stderr.String(), `key "k1" is 5 bytes long, want 32`)
	require.NotContains(t, stderr.String(), "c2hvcnQ")
}

func TestCodecServerRefusesIncompleteConfiguration(t *testing.T) {
	t.Setenv("QESFLOW_CODEC_KEYS", "")
	t.Setenv("QESFLOW_CODEC_KEYS_FILE", "")
	t.Setenv("QESFLOW_CODEC_AUTH_TOKENS", "")
	t.Setenv("QESFLOW_CODEC_AUTH_TOKENS_FILE", "")
	t.Setenv("QESFLOW_CONSOLE_SESSION_KEYS", "")
	t.Setenv("QESFLOW_CONSOLE_SESSION_KEYS_FILE", "")
	run := func(args ...string) string {
		var stdout, stderr bytes.Buffer
		require.Equal(t, 1, runMain(context.Background(), append([]string{"codec-server", "--addr", "127.0.0.1:0"}, args...), &stdout, &stderr))
		return stderr.String()
	}
	require.Contains(t, run(), "no payload encryption keys")
	t.Setenv("QESFLOW_CODEC_KEYS", newKeySpec(t, "k1"))
	require.Contains(t, run(), "no bearer token")
	require.Contains(t, run("--ui-origins", "http://localhost:8233"), "no bearer token", "a UI origin is no substitute for a token")
	require.Contains(t, run("--auth-tokens", "t"), "weak secret")
	require.Contains(t, run("--auth-tokens", "change-me-codec-token"), "placeholder")
	require.Contains(t, run("--auth-tokens", "tok-3-7c1e9a5f2d8b4e6a0c3f9d1b5a8e", "--ui-origins", "localhost:8233"), "want scheme://host")
	t.Setenv("QESFLOW_CONSOLE_SESSION_KEYS", "short")
	require.Contains(t, run("--ui-origins", "http://localhost:8233"), "weak secret")
	t.Setenv("QESFLOW_CONSOLE_SESSION_KEYS", consoleSessionSecret)
	require.Contains(t, run(), "no --ui-origins", "sessions come from the UI's origin only")
}

const consoleSessionSecret = "cs-6f1d9b3a7e2c5f8a0d4b1e9c3a7f5d2b"

// TestCodecServerAcceptsConsoleSessions: a codec-server given the console's session keys and
// no token decodes for the Web UI's browser carrying a signed-in operator's codec cookie, and
// for nothing else: not the Origin alone, not the cookie without the UI's origin, never /encode.
func TestCodecServerAcceptsConsoleSessions(t *testing.T) {
	spec := newKeySpec(t, "k1")
	keys, err := codec.ParseKeyring(spec)
	require.NoError(t, err)
	t.Setenv("QESFLOW_CODEC_KEYS", spec)
	t.Setenv("QESFLOW_CODEC_KEYS_FILE", "")
	t.Setenv("QESFLOW_CODEC_AUTH_TOKENS", "")
	t.Setenv("QESFLOW_CONSOLE_SESSION_KEYS", consoleSessionSecret)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	const ui = "https://ui.example"
	go func() {
		done <- runMain(ctx, []string{"codec-server", "--addr", "127.0.0.1:0", "--ui-origins", ui, "--log-format", "console"}, &stdout, &stderr)
	}()
	var endpoint string
	require.Eventually(t, func() bool {
		endpoint = strings.TrimSpace(strings.TrimPrefix(stdout.String(), "codec endpoint "))
		return strings.HasSuffix(endpoint, "/codec")
	}, 30*time.Second, 50*time.Millisecond, "no endpoint printed: %s", stderr.String())

	sessionKeys, err := console.ParseSessionKeys(consoleSessionSecret)
	require.NoError(t, err)
	now := time.Now()
	cookie, err := sessionKeys.Seal(console.SessionClaims{ID: "s1", Operator: "alice", Scope: console.ScopeName,
		Audience: console.AudienceCodec, IssuedAt: now, SeenAt: now, Expires: now.Add(time.Hour)})
	require.NoError(t, err)
	in, err := converter.GetDefaultDataConverter().ToPayloads("https://id.example/identifications/42")
	require.NoError(t, err)
	enc, err := codec.New(keys).Encode(in.Payloads)
	require.NoError(t, err)
	body, err := json.Marshal(&commonpb.Payloads{Payloads: enc})
	require.NoError(t, err)
	post := func(path string, header map[string]string) int {
		req, err := http.NewRequest(http.MethodPost, endpoint+path, bytes.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/json")
		for k, v := range header {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		_ = resp.Body.Close()
		return resp.StatusCode
	}
	withSession := console.CodecSessionCookie + "=" + cookie
	require.Equal(t, http.StatusOK, post("/decode", map[string]string{"Origin": ui, "Cookie": withSession}))
	require.Equal(t, http.StatusUnauthorized, post("/decode", map[string]string{"Origin": ui}))
	require.Equal(t, http.StatusUnauthorized, post("/decode", map[string]string{"Cookie": withSession}))
	require.Equal(t, http.StatusUnauthorized, post("/encode", map[string]string{"Origin": ui, "Cookie": withSession}))

	cancel()
	select {
	case code := <-done:
		require.Equal(t, 0, code, "stderr: %s", stderr.String())
	case <-time.After(30 * time.Second):
		t.Fatal("qesflow codec-server did not stop")
	}
	require.NotContains(t, stderr.String(), consoleSessionSecret)
}

func TestCodecServerHelpDoesNotPrintSecrets(t *testing.T) {
	spec := newKeySpec(t, "k1")
	t.Setenv("QESFLOW_CODEC_KEYS", spec)
	t.Setenv("QESFLOW_CODEC_AUTH_TOKENS", "codec-token-value")
	for _, cmd := range []string{"codec-server", "worker", "start"} {
		var stdout, stderr bytes.Buffer
		require.Equal(t, 0, runMain(context.Background(), []string{cmd, "--help"}, &stdout, &stderr))
		out := stdout.String() + stderr.String()
		require.Contains(t, out, "QESFLOW_CODEC_KEYS_FILE", cmd)
		require.NotContains(t, out, strings.SplitN(spec, ":", 2)[1], cmd)
		require.NotContains(t, out, "codec-token-value", cmd)
	}
}

// TestCodecServerServes runs `qesflow codec-server` and encrypts and decrypts through it as
// the temporal CLI does (--codec-endpoint, --codec-auth).
func TestCodecServerServes(t *testing.T) {
	const tok1, tok2 = "tok-1-3f9a2c7e5b1d8f4a6c0e2b9d7e1a", "tok-2-8b4e1f7a3d9c6e2b5a0f4d8c2f6b"
	spec := newKeySpec(t, "k1")
	keys, err := codec.ParseKeyring(spec)
	require.NoError(t, err)
	t.Setenv("QESFLOW_CODEC_KEYS", spec)
	t.Setenv("QESFLOW_CODEC_KEYS_FILE", "")
	t.Setenv("QESFLOW_CODEC_AUTH_TOKENS", tok1+", "+tok2)
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- runMain(ctx, []string{"codec-server", "--addr", "127.0.0.1:0", "--ui-origins", "https://ui.example",
			"--log-format", "console"}, &stdout, &stderr)
	}()
	var endpoint string
	require.Eventually(t, func() bool {
		endpoint = strings.TrimSpace(strings.TrimPrefix(stdout.String(), "codec endpoint "))
		return strings.HasSuffix(endpoint, "/codec")
	}, 30*time.Second, 50*time.Millisecond, "no endpoint printed: %s", stderr.String())

	remote := func(token string) converter.PayloadCodec {
		return converter.NewRemotePayloadCodec(converter.RemotePayloadCodecOptions{
			Endpoint: endpoint,
			ModifyRequest: func(r *http.Request) error {
				r.Header.Set("Authorization", "Bearer "+token)
				return nil
			},
		})
	}
	in, err := converter.GetDefaultDataConverter().ToPayloads("https://id.example/identifications/42")
	require.NoError(t, err)
	enc, err := remote(tok2).Encode(in.Payloads)
	require.NoError(t, err)
	require.Equal(t, codec.EncodingEncrypted, string(enc[0].Metadata["encoding"]))
	dec, err := codec.New(keys).Decode(enc)
	require.NoError(t, err, "the workers' keys decrypt what the endpoint encrypted")
	require.True(t, proto.Equal(in.Payloads[0], dec[0]))
	dec, err = remote(tok1).Decode(enc)
	require.NoError(t, err)
	require.True(t, proto.Equal(in.Payloads[0], dec[0]))
	_, err = remote("wrong").Decode(enc)
	require.ErrorContains(t, err, "Unauthorized")

	cancel()
	select {
	case code := <-done:
		require.Equal(t, 0, code, "stderr: %s", stderr.String())
	case <-time.After(30 * time.Second):
		t.Fatal("qesflow codec-server did not stop")
	}
	require.NotContains(t, stderr.String(), strings.SplitN(spec, ":", 2)[1])
	require.NotContains(t, stderr.String(), tok1)
}

// TestStartCommandWithCodecKeys: `qesflow start` with QESFLOW_CODEC_KEYS talks to a worker with
// the same keys, and the identification URL is not readable in the server's history.
func TestStartCommandWithCodecKeys(t *testing.T) {
	ts := testenv.NewTemporal(t)
	spec := newKeySpec(t, "k1")
	keys, err := codec.ParseKeyring(spec)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	wc, err := temporalclient.Dial(ctx, temporalclient.Options{Address: ts.GetFrontendHostPort(), Namespace: ts.GetDefaultNamespace(),
		DataConverter: codec.DataConverter(keys)})
	require.NoError(t, err)
	defer wc.Close()
	sim := simtest.Start(t, treezorsim.Config{})
	w, err := worker.New(wc, worker.Options{Treezor: sim.Client(t), Logger: zap.NewNop()})
	require.NoError(t, err)
	require.NoError(t, w.Start())
	t.Cleanup(w.Stop)

	userID := sim.CreateUser(treezorsim.User{Firstname: "Ada", Lastname: "Lovelace", Email: "ada@example.com", Country: "FR", Phone: "+33612345678"})
	t.Setenv("QESFLOW_CODEC_KEYS", spec)
	var stdout, stderr bytes.Buffer
	code := runMain(ctx, []string{"start", "--temporal-address", ts.GetFrontendHostPort(), "--namespace", ts.GetDefaultNamespace(),
		"--user", userID}, &stdout, &stderr)
	require.Equal(t, 0, code, "stderr: %s", stderr.String())
	_, url, ok := sim.LastIdentification(userID)
	require.True(t, ok)
	require.Equal(t, url+"\n", stdout.String(), "start decrypted the update result")
	require.NotContains(t, stderr.String(), "not encrypted")

	it := ts.GetDefaultClient().GetWorkflowHistory(ctx, workflows.WorkflowID(userID), "", false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	var events int
	for it.HasNext() {
		e, err := it.Next()
		require.NoError(t, err)
		events++
		b, err := proto.Marshal(e)
		require.NoError(t, err)
		require.False(t, bytes.Contains(b, []byte(url)), "identification URL readable in event %d (%s)", e.GetEventId(), e.GetEventType())
		require.False(t, bytes.Contains(b, []byte(`"userId"`)), "workflow input readable in event %d (%s)", e.GetEventId(), e.GetEventType())
	}
	require.Greater(t, events, 3)
}
