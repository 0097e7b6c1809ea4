package starter

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/qesflow/qesflow/workflows"
)

// TestClosedProblemInOurWords: a 409 onboarding-closed says how the onboarding ended in
// the caller's words, never Temporal's ("Completed"), and never names a rejection to the
// onboarding scope.
func TestClosedProblemInOurWords(t *testing.T) {
	for _, tc := range []struct {
		end                  workflows.State
		onboarding, internal string // detail substrings per scope
		userState            string
	}{
		{workflows.StateCompletedValidated, "identity is verified", "KYC review validated", workflows.UserStatusApproved},
		{workflows.StateCompletedRefused, "is closed", "Treezor refused the KYC review", workflows.UserStatusClosed},
		{workflows.StateRejected, "is closed", "compliance rejected the user", workflows.UserStatusClosed},
		{workflows.StateDeclined, "is closed", "declined or is not eligible", workflows.UserStatusClosed},
		{workflows.StateFailed, "is closed", "has failed", workflows.UserStatusClosed},
		{workflows.StateExpired, "has expired", "has expired", workflows.UserStatusExpired},
		{workflows.StateOperatorCancelled, "was cancelled", "was cancelled", workflows.UserStatusCancelled},
	} {
		t.Run(string(tc.end), func(t *testing.T) {
			res := workflows.Result{UserID: "42", State: tc.end, Attempts: 1}
			err := &Error{Kind: KindClosed, Op: "restart", UserID: "42", Current: &workflows.ActionResult{
				UserID: "42", State: tc.end, Attempt: 1, User: workflows.EndedUserStatus(res)}}

			p := problemFromError(err, ScopeOnboarding)
			require.Equal(t, 409, p.Status)
			require.Contains(t, p.Detail, tc.onboarding)
			require.Equal(t, tc.userState, p.State)
			for _, word := range []string{"Completed", "reject", "compliance", "fraud"} {
				require.NotContains(t, strings.ToLower(p.Detail), strings.ToLower(word))
			}

			p = problemFromError(err, ScopeOnboarding|ScopeCompliance)
			require.Contains(t, p.Detail, tc.internal)
			require.Equal(t, string(tc.end), p.State)
			require.NotContains(t, p.Detail, "Completed")
		})
	}
	// A run whose result cannot be read still answers in our words.
	p := problemFromError(&Error{Kind: KindClosed, Op: "cancel", UserID: "42"}, ScopeOnboarding)
	require.Equal(t, "The onboarding has ended; start a new one with POST /v1/onboardings.", p.Detail)
}
