package embedded_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"github.com/qesflow/qesflow/embedded"
)

// clientTLS is the TLS configuration of a client presenting certFile/keyFile (none when
// empty) and trusting the CA of files.
func clientTLS(t *testing.T, files embedded.CertificateFiles, certFile, keyFile string) *tls.Config {
	t.Helper()
	pem, err := os.ReadFile(files.CAFile)
	require.NoError(t, err)
	pool := x509.NewCertPool()
	require.True(t, pool.AppendCertsFromPEM(pem))
	cfg := &tls.Config{RootCAs: pool, ServerName: "localhost", MinVersion: tls.VersionTLS12}
	if certFile != "" {
		pair, err := tls.LoadX509KeyPair(certFile, keyFile)
		require.NoError(t, err)
		cfg.Certificates = []tls.Certificate{pair}
	}
	return cfg
}

// A frontend with TLS serves clients presenting a certificate of its CA and refuses the
// others, on the gRPC and on the HTTP API; its Web UI reaches it over TLS and is read-only.
func TestTLSFrontendRequiresClientCertificates(t *testing.T) {
	files, err := embedded.GenerateCertificates(t.TempDir(), nil, time.Hour)
	require.NoError(t, err)
	srv := startServer(t, embedded.Config{Ephemeral: true, TLS: &embedded.TLS{
		CertFile: files.ServerCertFile, KeyFile: files.ServerKeyFile, CAFile: files.CAFile,
	}})

	dialWith := func(cfg *tls.Config) error {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		c, err := client.DialContext(ctx, client.Options{HostPort: srv.FrontendAddress(), Namespace: srv.Namespace(),
			ConnectionOptions: client.ConnectionOptions{TLS: cfg}})
		if err != nil {
			return err
		}
		defer c.Close()
		_, err = c.WorkflowService().GetSystemInfo(ctx, nil)
		return err
	}
	require.NoError(t, dialWith(clientTLS(t, files, files.ClientCertFile, files.ClientKeyFile)))
	require.Error(t, dialWith(clientTLS(t, files, "", "")), "no client certificate")
	require.Error(t, dialWith(nil), "plaintext")

	// The HTTP API on the frontend IP requires the client certificate too.
	get := func(cfg *tls.Config) (*http.Response, error) {
		hc := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{TLSClientConfig: cfg}}
		return hc.Get("https://" + srv.FrontendHTTPAddress() + "/api/v1/namespaces")
	}
	resp, err := get(clientTLS(t, files, files.ClientCertFile, files.ClientKeyFile))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	_, err = get(clientTLS(t, files, "", ""))
	require.Error(t, err, "HTTP API without a client certificate")

	// The UI lists the namespace through its TLS connection, and offers no write action.
	settings, err := http.Get(srv.UIAddress() + "/api/v1/settings")
	require.NoError(t, err)
	defer settings.Body.Close()
	var s struct{ DisableWriteActions bool }
	require.NoError(t, json.NewDecoder(settings.Body).Decode(&s))
	require.True(t, s.DisableWriteActions)
	ns, err := http.Get(srv.UIAddress() + "/api/v1/namespaces/" + srv.Namespace())
	require.NoError(t, err)
	ns.Body.Close()
	require.Equal(t, http.StatusOK, ns.StatusCode)
}
