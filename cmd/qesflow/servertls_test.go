package main

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
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
