package main

import (
	"context"
	"flag"
	"io"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/qesflow/qesflow/internal/testpki"
	"github.com/qesflow/qesflow/treezor"
	"github.com/qesflow/qesflow/treezorsim"
)

// TestAPITreezorClientMutualTLS (issue 17: every process that calls Treezor takes the client
// certificate): the API's Treezor client, which reads a user before a start, presents the
// certificate of --treezor-tls-cert-file/--treezor-tls-key-file and trusts
// --treezor-tls-ca-file, so it reads the user from the simulator serving Treezor's API over
// mutual TLS; without the certificate (and its CA bundle) the handshake fails, classified as
// a TLS failure; a CA bundle without a certificate is refused at start.
func TestAPITreezorClientMutualTLS(t *testing.T) {
	ca := testpki.NewCA(t, "treezor-api")
	server := ca.Server("treezorsim")
	sim := treezorsim.New(treezorsim.Config{TLSCertFile: server.CertFile, TLSKeyFile: server.KeyFile, ClientCAFile: ca.File}, nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sim.ServeListener(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
	})
	sim.CreateUser(treezorsim.User{UserID: "4711", Firstname: "Ada", Lastname: "Lovelace", Email: "ada@example.com", Country: "DE", Phone: "+4915112345678"})
	client := ca.Client("qesflow-api", t.TempDir())
	base := []string{"--treezor-base-url", "https://" + ln.Addr().String(), "--treezor-client-id", treezorsim.DevClientID}
	t.Setenv("TREEZOR_CLIENT_SECRET", treezorsim.DevClientSecret)

	build := func(args ...string) (*treezor.Client, *treezor.CertReloader, error) {
		fs := flag.NewFlagSet("api", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		f := addAPITreezorFlags(fs)
		require.NoError(t, fs.Parse(append(append([]string(nil), base...), args...)))
		return f.client(zap.NewNop())
	}
	read, cancelRead := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancelRead()

	tz, certs, err := build("--treezor-tls-cert-file", client.CertFile, "--treezor-tls-key-file", client.KeyFile, "--treezor-tls-ca-file", ca.File)
	require.NoError(t, err)
	require.NotNil(t, certs)
	u, err := tz.GetUser(read, "4711")
	require.NoError(t, err)
	require.Equal(t, "DE", u.Country)

	tz, certs, err = build("--treezor-tls-ca-file", ca.File)
	require.Error(t, err, "a CA bundle alone is refused")
	require.Nil(t, tz)
	require.Nil(t, certs)

	tz, certs, err = build()
	require.NoError(t, err)
	require.Nil(t, certs)
	_, err = tz.GetUser(read, "4711")
	require.Error(t, err, "no client certificate")
	_, reason := treezor.Classify(err)
	require.Equal(t, treezor.ReasonTLS, reason, "%v", err)
}
