package worker

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"github.com/qesflow/qesflow/internal/testenv"
	"github.com/qesflow/qesflow/internal/testpki"
	"github.com/qesflow/qesflow/treezor"
	"github.com/qesflow/qesflow/treezorsim"
	"github.com/qesflow/qesflow/workflows"
)

// tlsSimulator serves the Treezor simulator over TLS, requiring a client certificate
// signed by ca, and returns it with its base URL.
func tlsSimulator(t *testing.T, ca *testpki.CA) (*treezorsim.Simulator, string) {
	t.Helper()
	server := ca.Server("treezorsim")
	sim := treezorsim.New(treezorsim.Config{
		TLSCertFile: server.CertFile, TLSKeyFile: server.KeyFile, ClientCAFile: ca.File,
	}, nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sim.ServeListener(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
	})
	return sim, "https://" + ln.Addr().String()
}

func startWorker(t *testing.T, c client.Client, api *treezor.Client) func() {
	t.Helper()
	w, err := New(c, Options{Treezor: api, DocumentDir: t.TempDir(), StickyCacheSize: 100, StopTimeout: time.Second})
	require.NoError(t, err)
	require.NoError(t, w.Start())
	return w.Stop
}

// TestWorkerMutualTLS runs onboardings against the simulator over mutual TLS. A worker
// without a client certificate gets a clear error (readiness and metrics say tls) and the
// onboarding waits in INITIATING instead of failing; a worker whose certificate is wrong
// keeps failing until the renewed file is in place, which it picks up without a restart,
// and the waiting onboarding then completes.
func TestWorkerMutualTLS(t *testing.T) {
	ts := testenv.NewTemporal(t)
	c := ts.GetDefaultClient()
	ca := testpki.NewCA(t, "treezor")
	sim, base := tlsSimulator(t, ca)
	const user = "mtls-user-1"
	sim.CreateUser(treezorsim.User{UserID: user, Firstname: "Ada", Lastname: "Lovelace", Email: "ada@example.com", Country: "FR", Phone: "+33612345678"})

	reg := prometheus.NewRegistry()
	health := NewTreezorHealth(reg)
	roots := x509.NewCertPool()
	pem, err := os.ReadFile(ca.File)
	require.NoError(t, err)
	require.True(t, roots.AppendCertsFromPEM(pem))

	// 1. No client certificate: the handshake fails.
	noCert, err := treezor.NewClient(treezor.Config{
		BaseURL: base, ClientID: treezorsim.DevClientID, ClientSecret: treezorsim.DevClientSecret, Observe: health.Observe,
		HTTPClient: &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}},
	})
	require.NoError(t, err)
	stop := startWorker(t, c, noCert)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: workflows.WorkflowID(user), TaskQueue: workflows.TaskQueue},
		workflows.WorkflowName, workflows.Input{UserID: user})
	require.NoError(t, err)
	require.Eventually(t, func() bool { return health.Ready(ctx) != nil }, time.Minute, 20*time.Millisecond)
	notReady := health.Ready(ctx).Error()
	require.Contains(t, notReady, "treezor calls failing (tls)")
	require.Contains(t, notReady, "TREEZOR_TLS_CERT_FILE")
	require.Contains(t, notReady, "TLS handshake failed")
	require.Equal(t, 1.0, testutil.ToFloat64(health.failing.WithLabelValues(treezor.ReasonTLS)))
	require.Positive(t, testutil.ToFloat64(health.calls.WithLabelValues("oauth token", treezor.ReasonTLS))+
		testutil.ToFloat64(health.calls.WithLabelValues("initiate QES", treezor.ReasonTLS)))
	require.Equal(t, workflows.StateInitiating, waitFor(t, c, user, func(workflows.Status) bool { return true }).State)
	stop()

	// 2. A certificate the simulator does not trust (another CA): still failing.
	dir := t.TempDir()
	files := treezor.TLSFiles{CertFile: filepath.Join(dir, "client.pem"), KeyFile: filepath.Join(dir, "client.key"), CAFile: ca.File}
	testpki.Install(t, testpki.NewCA(t, "other").Client("stranger", t.TempDir()), files.CertFile, files.KeyFile)
	certs, err := treezor.NewCertReloader(files)
	require.NoError(t, err)
	withCert, err := treezor.NewClient(treezor.Config{
		BaseURL: base, ClientID: treezorsim.DevClientID, ClientSecret: treezorsim.DevClientSecret,
		Observe: health.Observe, ClientCert: certs,
	})
	require.NoError(t, err)
	stop = startWorker(t, c, withCert)
	defer stop()
	time.Sleep(2 * time.Second) // a retry or two with the wrong certificate
	require.Error(t, health.Ready(ctx))
	st := waitFor(t, c, user, func(workflows.Status) bool { return true })
	require.Equal(t, workflows.StateInitiating, st.State, "no onboarding fails or moves because of our certificate")

	// 3. The renewed certificate is written: picked up at the next handshake, no restart.
	testpki.Install(t, ca.Client("qesflow", t.TempDir()), files.CertFile, files.KeyFile)
	awaiting := waitFor(t, c, user, func(s workflows.Status) bool { return s.State == workflows.StateAwaitingUser })
	require.NoError(t, health.Ready(ctx))
	require.Equal(t, 0.0, testutil.ToFloat64(health.failing.WithLabelValues(treezor.ReasonTLS)))

	signal := func(ev treezor.Event) {
		ev.Known, ev.UserID, ev.CreatedAt = true, user, time.Now()
		require.NoError(t, c.SignalWorkflow(ctx, run.GetID(), "", workflows.SignalWebhook, ev))
	}
	signal(treezor.Event{WebhookID: "w1", Type: treezor.EventQESFinalized, IdentificationID: awaiting.IdentificationID, Result: treezor.ResultSuccess})
	signal(treezor.Event{WebhookID: "w1-doc", Type: treezor.EventDocumentCreate, DocumentID: "doc-1"}) // the review waits for it
	require.Eventually(t, func() bool {
		review, _, ok := sim.KYCStatus(user)
		return ok && review == treezor.KYCReviewPending
	}, time.Minute, 20*time.Millisecond, "the KYC review is requested over mutual TLS")
	require.NoError(t, sim.DecideKYC(user, treezorsim.KYCValidate, "validated")) // the verdict is confirmed at Treezor
	signal(treezor.Event{WebhookID: "w2", Type: treezor.EventUserKYCReview, KYCReview: treezor.KYCReviewValidated, KYCLevel: 3})
	var result workflows.Result
	require.NoError(t, run.Get(ctx, &result))
	require.Equal(t, workflows.StateCompletedValidated, result.State)
	require.True(t, strings.HasPrefix(awaiting.IdentificationID, "TRZ-"))
}
