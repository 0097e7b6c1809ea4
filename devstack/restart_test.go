package devstack

import (
	"context"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/qesflow/qesflow/embedded"
	"github.com/qesflow/qesflow/workflows"
)

// stablePort picks a free port below the kernel's ephemeral range (32768–60999 here), so
// that no outgoing connection of a test running in parallel takes it while the stack
// restarts: the simulator must come back on the same port, because the identification URLs
// it handed out name it.
func stablePort(t *testing.T) int {
	t.Helper()
	for range 200 {
		port := 20000 + rand.IntN(12000)
		ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err == nil {
			ln.Close()
			return port
		}
	}
	t.Fatal("no free port below the ephemeral range")
	return 0
}

// TestDevStackRestartResumesOnboardings stops the stack with one onboarding waiting for the
// user and one waiting for the KYC review, starts it again on the same data dir, and finishes
// both: workflows, simulator state and dev credentials all survive the restart.
func TestDevStackRestartResumesOnboardings(t *testing.T) {
	dir := t.TempDir()
	// Only the simulator keeps its port; everything else may move, as after a reboot.
	cfg := Config{DataDir: dir, SimPort: stablePort(t), UIPort: embedded.UIDisabled}

	first, err := Start(context.Background(), cfg)
	require.NoError(t, err)
	createSimUser(t, first, "7101", "FR") // will wait at AWAITING_USER
	createSimUser(t, first, "7102", "FR") // will wait at KYC_REVIEW_PENDING
	waiting := startOnboarding(t, first, "7101")
	reviewed := startOnboarding(t, first, "7102")
	simAction(t, first, identificationID(t, reviewed.IdentificationURL), "success")
	waitState(t, first, "7102", workflows.StateKYCReviewPending)
	waitReviewAtDesk(t, first, "7102")
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
