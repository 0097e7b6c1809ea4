package main

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/qesflow/qesflow/embedded"
)

func TestServerRefusesAnOpenFrontendWithoutTLS(t *testing.T) {
	var out bytes.Buffer
	code := runMain(context.Background(), []string{"server", "--ephemeral", "--frontend-ip", "0.0.0.0", "--ui-port", "-1", "--temporal-port", "0"}, &out, &out)
	require.NotEqual(t, 0, code)
	require.Contains(t, out.String(), "not a loopback address: configure TLS")

	out.Reset()
	code = runMain(context.Background(), []string{"server", "--ephemeral", "--frontend-tls-cert", "c.pem"}, &out, &out)
	require.NotEqual(t, 0, code)
	require.Contains(t, out.String(), "go together")
}

func TestGenCertsWritesASetOnce(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "certs")
	var out bytes.Buffer
	require.Equal(t, 0, runMain(context.Background(), []string{"gen-certs", "--dir", dir, "--hosts", "temporal"}, &out, &out), out.String())
	require.Contains(t, out.String(), filepath.Join(dir, "server.pem"))
	out.Reset()
	require.Equal(t, 0, runMain(context.Background(), []string{"gen-certs", "--dir", dir}, &out, &out), out.String())
	require.Contains(t, out.String(), "kept")
}

func TestInsecureFrontendIsLoggedLoudly(t *testing.T) {
	core, logs := observer.New(zap.InfoLevel)
	f := &frontendTLSFlags{insecure: true}
	cfg := embedded.Config{FrontendIP: "0.0.0.0"}
	require.NoError(t, f.apply(&cfg, zap.New(core)))
	require.True(t, cfg.Insecure)
	require.Nil(t, cfg.TLS)
	entries := logs.FilterMessageSnippet("INSECURE").All()
	require.Len(t, entries, 1)
	require.Equal(t, zap.ErrorLevel, entries[0].Level)

	// On loopback --insecure changes nothing worth shouting about.
	core, logs = observer.New(zap.InfoLevel)
	cfg = embedded.Config{FrontendIP: "127.0.0.1"}
	require.NoError(t, f.apply(&cfg, zap.New(core)))
	require.Zero(t, logs.Len())
}
