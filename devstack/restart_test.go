package devstack

import (
	"context"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/qesflow/qesflow/embedded"
	"github.com/qesflow/qesflow/workflows"
)

// freePorts reserves n distinct free loopback ports (released before use: the restart test
// needs the same ports on both starts, so that identification URLs stay valid).
func freePorts(t *testing.T, n int) []int {
	t.Helper()
	var ports []int
	var lns []net.Listener
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		lns = append(lns, ln)
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	for _, ln := range lns {
		ln.Close()
	}
	return ports
}

// TestDevStackRestartResumesOnboardings stops the stack with one onboarding waiting for the
// user and one waiting for the KYC review, starts it again on the same data dir, and finishes
// both: workflows, simulator state and dev credentials all survive the restart.
func TestDevStackRestartResumesOnboardings(t *testing.T) {
	dir := t.TempDir()
	p := freePorts(t, 4)
	cfg := Config{DataDir: dir, TemporalPort: p[0], APIPort: p[1], BridgePort: p[2], SimPort: p[3], UIPort: embedded.UIDisabled}

	first, err := Start(context.Background(), cfg)
	require.NoError(t, err)
	createSimUser(t, first, "7101", "FR") // will wait at AWAITING_USER
	createSimUser(t, first, "7102", "FR") // will wait at KYC_REVIEW_PENDING
	waiting := startOnboarding(t, first, "7101")
	reviewed := startOnboarding(t, first, "7102")
	simAction(t, first, identificationID(t, reviewed.IdentificationURL), "success")
	waitState(t, first, "7102", workflows.StateKYCReviewPending)
	waitState(t, first, "7101", workflows.StateAwaitingUser)
	creds := first.Credentials
	require.NoError(t, first.Stop())

	second, err := Start(context.Background(), cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = second.Stop() })
	require.Equal(t, creds, second.Credentials, "dev credentials are kept in the data dir")

	// The same runs are still there, in the same states.
	st := waitState(t, second, "7101", workflows.StateAwaitingUser)
	require.Equal(t, 1, st.Attempt)
	waitState(t, second, "7102", workflows.StateKYCReviewPending)

	// A second POST joins the running onboarding: same run, same URL.
	var again startAnswer
	require.Equal(t, http.StatusOK, call(t, http.MethodPost, second.APIURL+"/v1/onboardings", second.Credentials.OnboardingKey,
		map[string]string{"userId": "7101"}, &again))
	require.Equal(t, waiting.RunID, again.RunID)
	require.Equal(t, waiting.IdentificationURL, again.IdentificationURL)

	// The identification page still opens, and both flows finish.
	resp, err := http.Get(waiting.IdentificationURL)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	simAction(t, second, identificationID(t, waiting.IdentificationURL), "success")
	waitState(t, second, "7101", workflows.StateKYCReviewPending)
	decideKYC(t, second, "7101", "validate")
	decideKYC(t, second, "7102", "refuse")
	waitState(t, second, "7101", workflows.StateCompletedValidated)
	waitState(t, second, "7102", workflows.StateCompletedRefused)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, second.Sim.WaitIdle(ctx))
}
