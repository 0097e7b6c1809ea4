package starter

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/serviceerror"
)

// TestClassifyTemporalErrors: errors that mean "try again" never become a 500.
func TestClassifyTemporalErrors(t *testing.T) {
	s := &Service{}
	for _, tc := range []struct {
		name string
		err  error
		want Kind
	}{
		{"no worker polls the task queue", serviceerror.NewFailedPrecondition("no poller seen for task queue recently, worker may be down"), KindTimeout},
		{"wrapped no-worker error", fmt.Errorf("query status: %w", serviceerror.NewFailedPrecondition("no poller seen")), KindTimeout},
		{"frontend unavailable", serviceerror.NewUnavailable("connection refused"), KindUnavailable},
		{"no such workflow", serviceerror.NewNotFound("workflow not found"), KindNotFound},
		{"update during a failing workflow task", fmt.Errorf("update restart: %w", serviceerror.NewWorkflowNotReady(
			"Unable to perform workflow execution update due to unexpected workflow task failure.")), KindUnavailable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, s.classify("query", "42", "qes-onboarding-42", tc.err).Kind)
		})
	}
}

// TestUpdateDuringFailingTaskIsRetryable: Temporal's "unexpected workflow task failure"
// answer to an update is a 503 that tells the caller to repeat the call, not a 500.
func TestUpdateDuringFailingTaskIsRetryable(t *testing.T) {
	s := &Service{}
	err := s.classify("restart", "42", "qes-onboarding-42", fmt.Errorf("update restart: %w",
		serviceerror.NewWorkflowNotReady("Unable to perform workflow execution update due to unexpected workflow task failure.")))
	p := problemFromError(err, ScopeOnboarding)
	require.Equal(t, 503, p.Status)
	require.Equal(t, ProblemTypePrefix+KindUnavailable.String(), p.Type)
	require.Contains(t, p.Detail, "repeat the call")
}
