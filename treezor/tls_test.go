package treezor

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/qesflow/qesflow/internal/testpki"
)

// mtlsTreezor is a Treezor API over TLS that requires a client certificate of ca and
// answers GET /v1/users/{id} with the serial number of the certificate it was shown.
func mtlsTreezor(t *testing.T, ca *testpki.CA) *httptest.Server {
	t.Helper()
	return mtlsTreezorSignedBy(t, ca, ca)
}

// mtlsTreezorSignedBy is mtlsTreezor with a server certificate of serverCA.
func mtlsTreezorSignedBy(t *testing.T, serverCA, ca *testpki.CA) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("POST /oauth/token", func(w http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]any{"token_type": "Bearer", "expires_in": 3600, "access_token": "tok"})
	})
	mux.HandleFunc("GET /v1/users/{userId}", func(w http.ResponseWriter, r *http.Request) {
		serial := r.TLS.PeerCertificates[0].SerialNumber.String()
		_ = json.NewEncoder(w).Encode(map[string]any{"users": []map[string]any{{"userId": r.PathValue("userId"), "country": serial}}})
	})
	srv := httptest.NewUnstartedServer(mux)
	server := serverCA.Server("treezor")
	cert, err := tls.LoadX509KeyPair(server.CertFile, server.KeyFile)
	require.NoError(t, err)
	pool := x509.NewCertPool()
	pem, err := os.ReadFile(ca.File)
	require.NoError(t, err)
	pool.AppendCertsFromPEM(pem)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, ClientCAs: pool, ClientAuth: tls.RequireAndVerifyClientCert}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

// presentedSerial is the serial of the client certificate the server saw.
func presentedSerial(t *testing.T, c *Client) string {
	t.Helper()
	u, err := c.GetUser(context.Background(), "1")
	require.NoError(t, err)
	return u.Country
}

// TestCertReloaderPicksUpRenewedCertificate: a certificate renewed on disk is used without
// restarting the client, both when its files change (Watch) and on Reload (SIGHUP).
func TestCertReloaderPicksUpRenewedCertificate(t *testing.T) {
	ca := testpki.NewCA(t, "treezor")
	srv := mtlsTreezor(t, ca)
	dir := t.TempDir()
	files := TLSFiles{CertFile: filepath.Join(dir, "client.pem"), KeyFile: filepath.Join(dir, "client.key"), CAFile: ca.File}
	first := ca.Client("first", t.TempDir())
	testpki.Install(t, first, files.CertFile, files.KeyFile)

	certs, err := NewCertReloader(files)
	require.NoError(t, err)
	c, err := NewClient(Config{BaseURL: srv.URL, ClientID: "id", ClientSecret: "secret", ClientCert: certs})
	require.NoError(t, err)
	serial := func(p testpki.Pair) string { return strconv.FormatInt(p.Serial, 10) }
	require.Equal(t, serial(first), presentedSerial(t, c), "the first client certificate")

	// Renewal on disk, picked up by the watcher while the client keeps running.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	reloads := make(chan error, 10)
	go certs.Watch(ctx, 20*time.Millisecond, func(err error) { reloads <- err })
	second := ca.Client("second", t.TempDir())
	testpki.Install(t, second, files.CertFile, files.KeyFile)
	require.Eventually(t, func() bool { return presentedSerial(t, c) == serial(second) }, 5*time.Second, 20*time.Millisecond)
	require.NoError(t, <-reloads, "the watcher reports the reload")

	// A broken renewal keeps the certificate in use and reports the error.
	require.NoError(t, os.WriteFile(files.KeyFile, []byte("not a key"), 0o600))
	require.Error(t, certs.Reload())
	require.Error(t, certs.LastError())
	require.Equal(t, serial(second), presentedSerial(t, c))

	// SIGHUP path: Reload loads the fixed files and new connections use them.
	cancel()
	third := ca.Client("third", t.TempDir())
	testpki.Install(t, third, files.CertFile, files.KeyFile)
	require.NoError(t, certs.Reload())
	require.NoError(t, certs.LastError())
	require.Eventually(t, func() bool { return presentedSerial(t, c) == serial(third) }, 5*time.Second, 20*time.Millisecond)
	require.False(t, certs.NotAfter().IsZero())
}

// TestMissingClientCertificateIsATLSFailure: without a client certificate the handshake
// fails; the error says so and is classified as ours (reason tls).
func TestMissingClientCertificateIsATLSFailure(t *testing.T) {
	ca := testpki.NewCA(t, "treezor")
	srv := mtlsTreezor(t, ca)
	pool := x509.NewCertPool()
	pem, err := os.ReadFile(ca.File)
	require.NoError(t, err)
	pool.AppendCertsFromPEM(pem)
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	c, err := NewClient(Config{BaseURL: srv.URL, ClientID: "id", ClientSecret: "secret", HTTPClient: hc})
	require.NoError(t, err)
	_, err = c.GetUser(context.Background(), "1")
	require.Error(t, err)
	require.Contains(t, err.Error(), "TLS handshake failed")
	kind, reason := Classify(err)
	require.Equal(t, FailureInfra, kind)
	require.Equal(t, ReasonTLS, reason)
}

func TestCertReloaderNeedsBothFiles(t *testing.T) {
	_, err := NewCertReloader(TLSFiles{CertFile: "x.pem"})
	require.ErrorIs(t, err, ErrInvalidArgument)
	_, err = NewCertReloader(TLSFiles{CertFile: "/nonexistent/c.pem", KeyFile: "/nonexistent/k.pem"})
	require.ErrorContains(t, err, "load client certificate")
}

// TestCertReloaderPicksUpNewCABundle: when Treezor's server certificate moves to a CA the
// bundle does not hold yet, the handshake fails (reason tls) until the bundle file holds
// it; then the client carries on without a restart.
func TestCertReloaderPicksUpNewCABundle(t *testing.T) {
	clientCA, newServerCA := testpki.NewCA(t, "treezor"), testpki.NewCA(t, "treezor-2027")
	srv := mtlsTreezorSignedBy(t, newServerCA, clientCA)
	dir := t.TempDir()
	files := TLSFiles{CertFile: filepath.Join(dir, "client.pem"), KeyFile: filepath.Join(dir, "client.key"), CAFile: filepath.Join(dir, "ca.pem")}
	testpki.Install(t, clientCA.Client("qesflow", t.TempDir()), files.CertFile, files.KeyFile)
	oldBundle, err := os.ReadFile(clientCA.File)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(files.CAFile, oldBundle, 0o600))
	certs, err := NewCertReloader(files)
	require.NoError(t, err)
	c, err := NewClient(Config{BaseURL: srv.URL, ClientID: "id", ClientSecret: "secret", ClientCert: certs})
	require.NoError(t, err)
	_, err = c.GetUser(context.Background(), "1")
	_, reason := Classify(err)
	require.Equal(t, ReasonTLS, reason, "%v", err)

	newCA, err := os.ReadFile(newServerCA.File)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(files.CAFile, append(oldBundle, newCA...), 0o600))
	later := time.Now().Add(time.Hour)
	require.NoError(t, os.Chtimes(files.CAFile, later, later))
	require.NoError(t, certs.Reload())
	require.Eventually(t, func() bool {
		_, err := c.GetUser(context.Background(), "1")
		return err == nil
	}, 5*time.Second, 20*time.Millisecond)
}
