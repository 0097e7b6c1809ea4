package workflows

import (
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"

	"github.com/qesflow/qesflow/treezor"
)

func (s *OnboardingSuite) TestRetryInviteStartsANewAttemptAfterTheBackoff() {
	s.webhook(time.Minute, finalized("ident-1", treezor.ResultCanceled, 3101)) // ID_BLURRY
	s.check(90*time.Second, func(st Status) {
		s.Equal(StateRetryScheduled, st.State)
		s.Equal(3101, st.ReasonCode)
		s.Equal(string(treezor.PolicyRetryInvite), st.ReasonPolicy)
		s.Equal(UserStatusPreparing, s.userStatus().Status)
	})
	ans := s.requestURL(2*time.Minute + time.Second)
	s.check(2*time.Minute+time.Second, func(st Status) {
		s.Equal(StateAwaitingUser, st.State, "backoff of 1m elapsed")
		s.Equal(2, st.Attempt)
		s.Equal("ident-2", st.IdentificationID)
	})
	s.webhook(3*time.Minute, success("ident-2"))
	s.webhook(4*time.Minute, kycReview(treezor.KYCReviewValidated))

	r := s.run(input())
	s.Equal(StateCompletedValidated, r.State)
	s.Equal(2, r.Attempts)
	s.Equal([]string{"qesflow:42:default-test-run-id:qes:1", "qesflow:42:default-test-run-id:qes:2"}, s.api.initiations())
	s.Equal(urlForIdent(testUser, "ident-2"), ans.result.IdentificationURL)
	s.Equal(2, ans.result.Attempt)
}

func (s *OnboardingSuite) TestRetryNowStartsAtOnce() {
	s.webhook(time.Minute, finalized("ident-1", treezor.ResultCanceled, 3139)) // TSP_SIGNING_FAILED
	s.check(time.Minute+time.Second, func(st Status) {
		s.Equal(StateAwaitingUser, st.State)
		s.Equal(2, st.Attempt)
		s.Contains(states(st), StateProviderCanceled)
		s.NotContains(states(st), StateRetryScheduled)
	})
	s.action(2*time.Minute, UpdateCancel, CancelRequest{})
	s.run(input())
}

func (s *OnboardingSuite) TestRetryNewDocumentAsksForAnotherDocument() {
	s.webhook(time.Minute, aborted("ident-1", 3002)) // USER_CANCELLATION_DOCUMENT_EXPIRED
	s.check(90*time.Second, func(st Status) {
		s.Equal(StateRetryScheduled, st.State)
		s.Contains(states(st), StateAborted)
		s.Equal(ActionBringOtherDocument, s.userStatus().ActionRequired)
	})
	s.check(3*time.Minute, func(st Status) {
		s.Equal(StateAwaitingUser, st.State)
		us := s.userStatus()
		s.Equal(UserStatusActionRequired, us.Status)
		s.Equal(ActionBringOtherDocument, us.ActionRequired)
	})
	s.action(4*time.Minute, UpdateCancel, CancelRequest{})
	s.run(input())
}

func (s *OnboardingSuite) TestWaitUserDataThenRestart() {
	s.webhook(time.Minute, aborted("ident-1", 3009)) // name confirmation rejected
	s.check(2*time.Minute, func(st Status) {
		s.Equal(StateWaitingForUser, st.State)
		s.Equal(ActionUpdatePersonalData, s.userStatus().ActionRequired)
	})
	s.action(time.Hour, UpdateRestart, RestartRequest{Reason: "name corrected"})
	s.check(time.Hour+time.Second, func(st Status) {
		s.Equal(StateAwaitingUser, st.State)
		s.Equal(2, st.Attempt)
	})
	s.webhook(2*time.Hour, success("ident-2"))
	s.webhook(3*time.Hour, kycReview(treezor.KYCReviewValidated))
	r := s.run(input())
	s.Equal(StateCompletedValidated, r.State)
	s.Equal(2, r.Attempts)
}

// TestRestartIsRefusedWhereNothingWaitsForIt: a restart of a running attempt is refused
// (409 at the API) and never reaches the history (before: accepted and ignored).
func (s *OnboardingSuite) TestRestartIsRefusedWhereNothingWaitsForIt() {
	restart := s.action(time.Minute, UpdateRestart, RestartRequest{})
	s.check(2*time.Minute, func(st Status) {
		s.Equal(StateAwaitingUser, st.State)
		s.Equal(1, st.Attempt)
		applicationError(s.T(), restart.rejected, ErrTypeNotApplicable)
		s.False(hasNote(notes(st, ""), "restart"), "a refused action leaves no trace in the state")
	})
	s.action(3*time.Minute, UpdateCancel, CancelRequest{})
	s.run(input())
	s.Len(s.api.initiations(), 1)
}

func (s *OnboardingSuite) TestRestartSkipsTheBackoff() {
	s.webhook(time.Minute, aborted("ident-1", 3011))
	s.action(2*time.Minute, UpdateRestart, RestartRequest{})
	s.check(2*time.Minute+time.Second, func(st Status) {
		s.Equal(StateAwaitingUser, st.State)
		s.Equal(2, st.Attempt)
	})
	s.action(3*time.Minute, UpdateCancel, CancelRequest{})
	s.run(input(func(in *Input) { policy(in).RetryBackoff = time.Hour }))
}

func (s *OnboardingSuite) TestTerminalDeclined() {
	s.webhook(time.Minute, aborted("ident-1", 3005)) // terms denied
	r := s.run(input())
	s.Equal(StateDeclined, r.State)
	s.Equal(3005, r.ReasonCode)
	s.Equal("USER_CANCELLATION_TERMS_DENIED", r.ReasonMessage)
	s.Contains(r.Note, "the user declined")
	s.Equal(UserStatusClosed, s.userStatus().Status)
}

func (s *OnboardingSuite) TestTerminalNotEligible() {
	s.webhook(time.Minute, aborted("ident-1", 3003)) // underage
	r := s.run(input())
	s.Equal(StateDeclined, r.State)
	s.Equal(3003, r.ReasonCode)
	s.Contains(r.Note, "not eligible")
}

func (s *OnboardingSuite) TestMaxAttemptsReached() {
	s.webhook(time.Minute, aborted("ident-1", 3011))
	s.webhook(3*time.Minute, aborted("ident-2", 3011)) // attempt 2 began at 2m
	s.webhook(6*time.Minute, aborted("ident-3", 3011)) // attempt 3 began at 5m (backoff 2m)
	r := s.run(input())
	s.Equal(StateFailed, r.State)
	s.Equal(3, r.Attempts)
	s.Equal("all 3 attempts used", r.Note)
	s.Equal(3011, r.ReasonCode)
	s.Len(s.api.initiations(), 3)
}

func (s *OnboardingSuite) TestReasonPolicyOverrides() {
	s.webhook(time.Minute, aborted("ident-1", 3011))
	r := s.run(input(func(in *Input) {
		policy(in).ReasonPolicies = map[int]treezor.Policy{3011: treezor.PolicyTerminalDeclined}
	}))
	s.Equal(StateDeclined, r.State)
}

func (s *OnboardingSuite) TestFraudCannotBeOverriddenIntoARetry() {
	s.webhook(time.Minute, aborted("ident-1", 3204))
	s.expectState(2*time.Minute, StateComplianceReview)
	s.action(3*time.Minute, UpdateCancel, CancelRequest{})
	s.run(input(func(in *Input) {
		policy(in).ReasonPolicies = map[int]treezor.Policy{3204: treezor.PolicyRetryNow}
	}))
	s.Len(s.api.initiations(), 1)
}

// expectedPolicy is the default policy of every reason code (docs/reasons.md), written
// out independently of the catalog.
func expectedPolicy(code int) (treezor.Policy, bool) {
	in := func(lo, hi int) bool { return code >= lo && code <= hi }
	oneOf := func(codes ...int) bool {
		for _, c := range codes {
			if c == code {
				return true
			}
		}
		return false
	}
	switch {
	case oneOf(3004, 3006, 3007, 3011, 3013, 3015, 3016, 3020, 3128, 3138, 3140) || in(3101, 3107) || in(3110, 3127) || in(3129, 3134):
		return treezor.PolicyRetryInvite, true
	case oneOf(3017, 3018, 3019, 3021, 3139, 3141) || in(3135, 3137):
		return treezor.PolicyRetryNow, true
	case oneOf(3001, 3002, 3108, 3109):
		return treezor.PolicyRetryNewDocument, true
	case oneOf(3009, 3010):
		return treezor.PolicyWaitUserData, true
	case oneOf(3005, 3008, 3012, 3014):
		return treezor.PolicyTerminalDeclined, true
	case oneOf(3003):
		return treezor.PolicyTerminalNotEligible, true
	case in(3201, 3215):
		return treezor.PolicyCompliance, true
	}
	return "", false
}

// stateAfterPolicy is the state an onboarding on attempt 1 (of 3) rests in after an
// identification ended with a reason of that policy.
var stateAfterPolicy = map[treezor.Policy]State{
	treezor.PolicyRetryInvite:         StateRetryScheduled,
	treezor.PolicyRetryNewDocument:    StateRetryScheduled,
	treezor.PolicyRetryNow:            StateAwaitingUser,
	treezor.PolicyWaitUserData:        StateWaitingForUser,
	treezor.PolicyTerminalDeclined:    StateDeclined,
	treezor.PolicyTerminalNotEligible: StateDeclined,
	treezor.PolicyCompliance:          StateComplianceReview,
}

// TestEveryCatalogCodeTakesItsBranch sends every reason code of the catalog (as
// qes.aborted for 30xx, as qes.finalized CANCELED otherwise) and checks the state the
// onboarding then rests in.
func TestEveryCatalogCodeTakesItsBranch(t *testing.T) {
	reasons := treezor.Reasons()
	require.Len(t, reasons, 21+41+15, "the seed lists 21 aborted, 41 canceled and 15 fraud codes")
	for _, reason := range reasons {
		t.Run(strconv.Itoa(reason.Code), func(t *testing.T) {
			want, ok := expectedPolicy(reason.Code)
			require.True(t, ok, "code %d is not in the policy lists of docs/reasons.md", reason.Code)
			require.Equal(t, want, reason.Policy, "catalog policy of %d", reason.Code)

			var ts testsuite.WorkflowTestSuite
			env := newEnv(t, &ts, newFakeAPI())
			ev := finalized("ident-1", treezor.ResultCanceled, reason.Code)
			if reason.Category == treezor.CategoryAborted {
				ev = aborted("ident-1", reason.Code)
			}
			env.RegisterDelayedCallback(func() { env.SignalWorkflow(SignalWebhook, ev) }, time.Minute)
			var st Status
			env.RegisterDelayedCallback(func() {
				v, err := env.QueryWorkflow(QueryStatus)
				require.NoError(t, err)
				require.NoError(t, v.Get(&st))
				sendAction(t, env, UpdateCancel, CancelRequest{}, nil)
			}, time.Minute+time.Second)
			env.ExecuteWorkflow(QESOnboarding, input())
			require.True(t, env.IsWorkflowCompleted())
			require.NoError(t, env.GetWorkflowError())

			if want.Terminal() {
				var r Result
				require.NoError(t, env.GetWorkflowResult(&r))
				require.Equal(t, StateDeclined, r.State)
				require.Equal(t, reason.Code, r.ReasonCode)
				return
			}
			require.Equal(t, stateAfterPolicy[want], st.State)
			require.Equal(t, reason.Code, st.ReasonCode)
			require.Equal(t, string(want), st.ReasonPolicy)
		})
	}
}

func TestUnknownReasonCodesGetASafeDefault(t *testing.T) {
	p := resolvePolicy(nil)
	require.Equal(t, treezor.PolicyRetryInvite, p.reason(3099).Policy)
	require.Equal(t, treezor.PolicyRetryInvite, p.reason(0).Policy)
	require.Equal(t, treezor.PolicyCompliance, p.reason(3299).Policy)
}

func TestBackoffDoublesAndIsCapped(t *testing.T) {
	p := resolvePolicy(&PolicyOverride{RetryBackoff: time.Minute})
	require.Equal(t, time.Minute, p.backoff(2))
	require.Equal(t, 2*time.Minute, p.backoff(3))
	require.Equal(t, 4*time.Minute, p.backoff(4))
	require.Equal(t, MaxRetryBackoff, p.backoff(40))
}

func TestDefaultPolicy(t *testing.T) {
	p := resolvePolicy(nil)
	require.Equal(t, DefaultPolicy(), p)
	require.Equal(t, 3, p.MaxAttempts)
	require.Equal(t, 7*24*time.Hour, p.UserTimeout)
	require.Equal(t, 10*24*time.Hour, p.KYCReviewTimeout)
	require.False(t, p.downloadDocuments())
	on := true
	q := resolvePolicy(&PolicyOverride{MaxAttempts: 5, DownloadDocuments: &on, UserTimeout: time.Hour})
	require.Equal(t, 5, q.MaxAttempts)
	require.True(t, q.downloadDocuments())
	require.Equal(t, time.Hour, q.UserTimeout)
	require.Equal(t, DefaultSEPATimeout, q.SEPATimeout)
}
