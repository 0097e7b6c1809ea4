package hostile

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/qesflow/qesflow/devstack"
	"github.com/qesflow/qesflow/embedded"
	"github.com/qesflow/qesflow/internal/httpserver"
	"github.com/qesflow/qesflow/internal/temporalclient"
	"github.com/qesflow/qesflow/starter"
	"github.com/qesflow/qesflow/treezor"
	"github.com/qesflow/qesflow/workflows"
)

// TestPlaintextSignalRefused: a client that reaches the frontend but lacks the payload
// encryption keys signals a made-up successful qes.finalized in clear. The workflow task
// that would apply it fails with a clear error; the onboarding's state and search
// attributes stay as they were.
func TestPlaintextSignalRefused(t *testing.T) {
	s := startStack(t)
	const userID = "plaintext-1"
	identificationID := runningOnboarding(t, s, userID)
	baseline := waitSnapshot(t, s, userID, "AWAITING_USER", func(sn snapshot) bool {
		return sn.State == workflows.StateAwaitingUser
	})
	baseState := searchAttribute(t, s, userID, workflows.SAQESState)

	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	plain, err := temporalclient.Dial(ctx, temporalclient.Options{Address: s.TemporalAddress, Namespace: s.Server.Namespace()})
	require.NoError(t, err)
	defer plain.Close()
	forged := treezor.Event{
		WebhookID: "forged-1", Type: "qes.finalized", Known: true, CreatedAt: time.Now(),
		UserID: userID, IdentificationID: identificationID, Result: "SUCCESS",
	}
	require.NoError(t, plain.SignalWorkflow(ctx, workflows.WorkflowID(userID), "", workflows.SignalWebhook, forged))

	// The signal is in history (Temporal accepted it), but its workflow task fails.
	require.Eventually(t, func() bool {
		return strings.Contains(workflowTaskFailure(t, s, userID), "not encrypted")
	}, callTimeout, 200*time.Millisecond, "no workflow task failed on the plaintext signal")
	require.Equal(t, baseState, searchAttribute(t, s, userID, workflows.SAQESState), "the forged signal moved the onboarding")
	require.Equal(t, historyCount{signals: 1, updates: 1}, historyCounts(t, s, userID))
	require.Equal(t, baseline.State, workflows.State(strings.Trim(baseState, `"`)))

	// An operator action meanwhile meets the failing workflow task: a retryable 503, not a 500.
	resp := send(t, request{method: http.MethodPost, url: s.APIURL, rawPath: "/v1/onboardings/" + userID + "/cancel",
		header: map[string]string{"Authorization": "Bearer " + s.Credentials.OnboardingKey, "Content-Type": "application/json"},
		body:   []byte(`{}`)})
	require.Equal(t, http.StatusServiceUnavailable, resp.status, "%s", resp.body)
	require.Contains(t, string(resp.body), "repeat the call")
}

// workflowTaskFailure is the error of the last failed workflow task of the onboarding,
// decoded with the stack's keys (failure messages are encrypted too); "" when none failed.
func workflowTaskFailure(t *testing.T, s *devstack.Stack, userID string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	it := s.Client.GetWorkflowHistory(ctx, workflows.WorkflowID(userID), "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	last := ""
	for it.HasNext() {
		ev, err := it.Next()
		require.NoError(t, err)
		if f := ev.GetWorkflowTaskFailedEventAttributes().GetFailure(); f != nil {
			last = temporalclient.EncodeFailureAttributes(s.DataConverter).FailureToError(f).Error()
		}
	}
	return last
}

// searchAttribute is the onboarding's keyword search attribute name as Temporal shows it.
func searchAttribute(t *testing.T, s *devstack.Stack, userID, name string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	desc, err := s.Client.DescribeWorkflowExecution(ctx, workflows.WorkflowID(userID), "")
	require.NoError(t, err)
	p := desc.GetWorkflowExecutionInfo().GetSearchAttributes().GetIndexedFields()[name]
	require.NotNil(t, p, "search attribute %s", name)
	return string(p.GetData())
}

// TestForgedSignalWithoutClientCertificate: the Temporal frontend of `qesflow server` on a
// non-loopback address. Without TLS it refuses to start; with TLS, a client that reaches it
// without a client certificate of its CA (as `temporal workflow signal --tls` would) cannot
// signal an onboarding, while qesflow's own processes, presenting theirs, can.
func TestForgedSignalWithoutClientCertificate(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	open, err := embedded.Start(ctx, embedded.Config{Ephemeral: true, FrontendIP: "0.0.0.0", UIPort: embedded.UIDisabled})
	if err == nil {
		_ = open.Stop()
	}
	require.ErrorContains(t, err, "not a loopback address", "an unauthenticated frontend started on 0.0.0.0")

	files, err := embedded.GenerateCertificates(t.TempDir(), nil, time.Hour)
	require.NoError(t, err)
	srv, err := embedded.Start(ctx, embedded.Config{Ephemeral: true, FrontendIP: "0.0.0.0", UIPort: embedded.UIDisabled,
		TLS: &embedded.TLS{CertFile: files.ServerCertFile, KeyFile: files.ServerKeyFile, CAFile: files.CAFile}})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, srv.Stop()) })

	// qesflow's API, with its client certificate, starts an onboarding.
	own, err := temporalclient.Dial(ctx, temporalclient.Options{Address: srv.FrontendAddress(), Namespace: srv.Namespace(),
		TLSCertFile: files.ClientCertFile, TLSKeyFile: files.ClientKeyFile, TLSCAFile: files.CAFile, TLSServerName: "localhost"})
	require.NoError(t, err)
	defer own.Close()
	const userID = "mtls-1"
	_, err = own.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: workflows.WorkflowID(userID), TaskQueue: workflows.TaskQueue},
		workflows.WorkflowName, workflows.Input{UserID: userID})
	require.NoError(t, err)

	forged := treezor.Event{WebhookID: "forged-2", Type: "qes.finalized", Known: true, UserID: userID, Result: "SUCCESS"}
	// The forger trusts the server's CA (or skips verification) but has no client certificate.
	forger, err := temporalclient.Dial(ctx, temporalclient.Options{Address: srv.FrontendAddress(), Namespace: srv.Namespace(),
		TLS: true, TLSCAFile: files.CAFile, TLSServerName: "localhost"})
	if err == nil {
		err = forger.SignalWorkflow(ctx, workflows.WorkflowID(userID), "", workflows.SignalWebhook, forged)
		forger.Close()
	}
	require.Error(t, err, "a client without a certificate signalled the onboarding")
	// Plaintext gRPC gets nowhere either.
	_, err = temporalclient.Dial(ctx, temporalclient.Options{Address: srv.FrontendAddress(), Namespace: srv.Namespace()})
	require.Error(t, err, "a plaintext client reached the TLS frontend")

	ev := countSignals(t, own, userID)
	require.Equal(t, 0, ev, "a forged signal reached the history")
	// Control: the certificate holder's signal does reach it, so the count above would see one.
	control := treezor.Event{WebhookID: "control-1", Type: "qes.created", Known: true, UserID: userID}
	require.NoError(t, own.SignalWorkflow(ctx, workflows.WorkflowID(userID), "", workflows.SignalWebhook, control))
	require.Equal(t, 1, countSignals(t, own, userID))
}

func countSignals(t *testing.T, c client.Client, userID string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	it := c.GetWorkflowHistory(ctx, workflows.WorkflowID(userID), "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	n := 0
	for it.HasNext() {
		ev, err := it.Next()
		require.NoError(t, err)
		if ev.GetEventType() == enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED {
			n++
		}
	}
	return n
}

// TestWeakKeyRefusedAtStart: an API key that is a documented placeholder, or short, stops the
// API from starting (here the dev stack's API with a configured key).
func TestWeakKeyRefusedAtStart(t *testing.T) {
	for name, key := range map[string]string{"placeholder": "change-me-onboarding-key", "one letter": "k"} {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			s, err := devstack.Start(ctx, devstack.Config{Ephemeral: true, DataDir: t.TempDir(), UIPort: embedded.UIDisabled,
				Credentials: devstack.Credentials{OnboardingKey: key}})
			if err == nil {
				_ = s.Stop()
			}
			require.ErrorIs(t, err, starter.ErrWeakSecret, "the API started with a weak key")
		})
	}
}

// TestRepeatedWrongKeysGet429: a client guessing API keys over HTTP gets 401 a few times,
// then 429 with Retry-After, and then even the right key is refused from that address.
func TestRepeatedWrongKeysGet429(t *testing.T) {
	s := startStack(t)
	var last response
	for i := 0; i < 3*httpserver.DefaultAuthFailureBurst; i++ {
		last = send(t, request{method: http.MethodGet, url: s.APIURL, rawPath: "/v1/onboardings/guess-1",
			header: map[string]string{"Authorization": fmt.Sprintf("Bearer guess-%04d-aaaaaaaaaaaaaaaaaaaaaaaaaaaa", i)}})
		if last.status == http.StatusTooManyRequests {
			require.GreaterOrEqual(t, i, httpserver.DefaultAuthFailureBurst, "limited before its burst")
			break
		}
		require.Equal(t, http.StatusUnauthorized, last.status, "%s", last.body)
	}
	require.Equal(t, http.StatusTooManyRequests, last.status, "never limited")
	require.NotEmpty(t, last.header.Get("Retry-After"))
	right := send(t, request{method: http.MethodGet, url: s.APIURL, rawPath: "/v1/onboardings/guess-1",
		header: map[string]string{"Authorization": "Bearer " + s.Credentials.OnboardingKey}})
	require.Equal(t, http.StatusTooManyRequests, right.status, "a limited address is refused whatever the key")
}
