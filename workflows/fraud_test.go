package workflows

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"

	"github.com/qesflow/qesflow/treezor"
)

func (s *OnboardingSuite) TestFraudClearedThenNewAttemptSucceeds() {
	s.webhook(time.Minute, finalized("ident-1", treezor.ResultFraudSuspicionPending, 3201))
	s.check(2*time.Minute, func(st Status) {
		s.Equal(StateComplianceReview, st.State)
		s.Equal(3201, st.ReasonCode)
		s.Equal(string(treezor.CategoryFraud), st.ReasonCategory)
		s.Contains(states(st), StateFraudSuspected)
	})
	s.action(time.Hour, UpdateComplianceDecision, ComplianceDecision{Decision: "Clear", Note: "selfie checked by hand"})
	s.check(time.Hour+time.Second, func(st Status) {
		s.Equal(StateAwaitingUser, st.State)
		s.Equal(2, st.Attempt)
		s.Equal(4, st.MaxAttempts, "the suspected attempt does not count")
		s.Equal("selfie checked by hand", st.ComplianceNote)
	})
	s.webhook(2*time.Hour, success("ident-2"))
	s.webhook(3*time.Hour, kycReview(treezor.KYCReviewValidated))
	r := s.run(input())
	s.Equal(StateCompletedValidated, r.State)
	s.Equal(2, r.Attempts)
	s.Zero(r.ReasonCode)
}

func (s *OnboardingSuite) TestFraudOnTheLastAttemptCanBeCleared() {
	s.webhook(time.Minute, finalized("ident-1", treezor.ResultFraudSuspicionConfirmed, 0))
	s.action(time.Hour, UpdateComplianceDecision, ComplianceDecision{Decision: DecisionClear})
	s.webhook(2*time.Hour, success("ident-2"))
	s.webhook(3*time.Hour, kycReview(treezor.KYCReviewValidated))
	r := s.run(input(func(in *Input) { policy(in).MaxAttempts = 1 }))
	s.Equal(StateCompletedValidated, r.State)
	s.Equal(2, r.Attempts)
}

func (s *OnboardingSuite) TestFraudRejected() {
	s.webhook(time.Minute, aborted("ident-1", 3212))
	s.action(time.Hour, UpdateComplianceDecision, ComplianceDecision{Decision: DecisionReject, Note: "money mule"})
	r := s.run(input())
	s.Equal(StateRejected, r.State)
	s.Equal(3212, r.ReasonCode)
	s.Equal("rejected by compliance", r.Note)
	st := s.status()
	s.Equal("money mule", st.ComplianceNote)
	us := s.userStatus()
	s.Equal(UserStatusClosed, us.Status)
	s.True(us.Final)
	s.Len(s.api.initiations(), 1, "a fraud suspicion is never retried automatically")
}

// TestComplianceDecisionOutsideReviewIsRefused: a decision outside COMPLIANCE_REVIEW, or
// an unknown decision, is refused by the validator with the current state, and changes
// nothing (before: accepted and silently ignored).
func (s *OnboardingSuite) TestComplianceDecisionOutsideReviewIsRefused() {
	outside := s.action(time.Minute, UpdateComplianceDecision, ComplianceDecision{Decision: DecisionReject})
	s.check(2*time.Minute, func(st Status) {
		s.Equal(StateAwaitingUser, st.State)
		s.Require().True(outside.done)
		appErr := applicationError(s.T(), outside.rejected, ErrTypeNotApplicable)
		var cur ActionResult
		s.Require().NoError(appErr.Details(&cur))
		s.Equal(StateAwaitingUser, cur.State)
		s.Equal(UserStatusActionRequired, cur.User.Status)
	})
	s.webhook(3*time.Minute, aborted("ident-1", 3215))
	unknown := s.action(4*time.Minute, UpdateComplianceDecision, ComplianceDecision{Decision: "maybe"})
	s.check(5*time.Minute, func(st Status) {
		s.Equal(StateComplianceReview, st.State)
		applicationError(s.T(), unknown.rejected, ErrTypeNotApplicable)
	})
	cancel := s.action(6*time.Minute, UpdateCancel, CancelRequest{})
	s.Equal(StateOperatorCancelled, s.run(input()).State)
	s.Require().NoError(cancel.err)
	s.Equal(StateOperatorCancelled, cancel.result.State)
	s.Equal(UserStatusCancelled, cancel.result.User.Status)
}

// fraudCase is one way the provider can report a fraud suspicion.
type fraudCase struct {
	name string
	ev   func() treezor.Event
	code int
}

func fraudCases() []fraudCase {
	var cases []fraudCase
	for code := 3201; code <= 3215; code++ {
		cases = append(cases,
			fraudCase{name: "aborted " + strconv.Itoa(code), code: code, ev: func() treezor.Event { return aborted("ident-1", code) }},
			fraudCase{name: "finalized " + strconv.Itoa(code), code: code, ev: func() treezor.Event {
				return finalized("ident-1", treezor.ResultCanceled, code)
			}},
		)
	}
	for _, result := range []string{treezor.ResultFraudSuspicionPending, treezor.ResultFraudSuspicionConfirmed} {
		cases = append(cases,
			fraudCase{name: result, ev: func() treezor.Event { return finalized("ident-1", result, 0) }},
			fraudCase{name: result + " with 3101", code: 3101, ev: func() treezor.Event { return finalized("ident-1", result, 3101) }},
		)
	}
	return cases
}

// requireNoFraudHint fails if the end-user view carries any fraud hint.
func requireNoFraudHint(t *testing.T, us UserStatus, c fraudCase) {
	t.Helper()
	b, err := json.Marshal(us)
	require.NoError(t, err)
	text := string(b)
	lower := strings.ToLower(text)
	for _, word := range []string{"fraud", "warning", "suspic", "compliance", "reject"} {
		require.NotContains(t, lower, word, "user status %s", text)
	}
	for code := 3201; code <= 3215; code++ {
		require.NotContains(t, text, strconv.Itoa(code))
		require.NotContains(t, text, treezor.LookupReason(code).Message)
	}
	if c.code != 0 {
		require.NotContains(t, text, strconv.Itoa(c.code))
		require.NotContains(t, text, treezor.LookupReason(c.code).Message)
	}
}

// TestUserStatusNeverRevealsFraud follows every fraud code and fraud result through
// compliance review, escalation and rejection, and checks the end-user view at each
// point: it reads like an ordinary review, then like any closed application.
func TestUserStatusNeverRevealsFraud(t *testing.T) {
	ordinaryReview := userViews[StateProviderReview]
	for _, c := range fraudCases() {
		t.Run(c.name, func(t *testing.T) {
			var ts testsuite.WorkflowTestSuite
			env := newEnv(t, &ts, newFakeAPI())
			query := func(when string) UserStatus {
				v, err := env.QueryWorkflow(QueryUserStatus)
				require.NoError(t, err, when)
				var us UserStatus
				require.NoError(t, v.Get(&us))
				requireNoFraudHint(t, us, c)
				return us
			}
			var seen []UserStatus
			env.RegisterDelayedCallback(func() { env.SignalWorkflow(SignalWebhook, c.ev()) }, time.Minute)
			env.RegisterDelayedCallback(func() { seen = append(seen, query("under review")) }, 2*time.Minute)
			env.RegisterDelayedCallback(func() { seen = append(seen, query("escalated")) }, 3*time.Hour)
			env.RegisterDelayedCallback(func() {
				sendAction(t, env, UpdateComplianceDecision, ComplianceDecision{Decision: DecisionReject, Note: "fraud confirmed"}, nil)
			}, 4*time.Hour)
			env.ExecuteWorkflow(QESOnboarding, input(func(in *Input) { policy(in).ComplianceTimeout = time.Hour }))
			require.True(t, env.IsWorkflowCompleted())
			require.NoError(t, env.GetWorkflowError())
			var r Result
			require.NoError(t, env.GetWorkflowResult(&r))
			require.Equal(t, StateRejected, r.State, "the fraud path was taken")
			final := query("rejected")

			require.Len(t, seen, 2)
			for _, us := range seen {
				require.Equal(t, ordinaryReview.status, us.Status)
				require.Equal(t, ordinaryReview.message, us.Message)
				require.Empty(t, us.ActionRequired)
				require.False(t, us.Final)
			}
			require.Equal(t, UserStatusClosed, final.Status)
			require.Equal(t, userViews[StateCompletedRefused].message, final.Message, "reads like any closed application")
			require.True(t, final.Final)
		})
	}
}

func TestEveryStateHasAUserView(t *testing.T) {
	all := []State{StateInitiating, StateAwaitingUser, StateInProgress, StateProviderReview, StateSuccess,
		StateAwaitingSEPA, StateDocuments, StateKYCReviewPending, StateKYCReviewOverdue, StateCompletedValidated,
		StateCompletedRefused, StateAborted, StateProviderCanceled, StateRetryScheduled, StateWaitingForUser, StateDeclined,
		StateRejected, StateFraudSuspected, StateComplianceReview, StateUserDataIncomplete, StateExpired,
		StateOperatorCancelled, StateFailed}
	for _, s := range all {
		v, ok := userViews[s]
		require.True(t, ok, "state %s has no user view", s)
		text := fmt.Sprint(v)
		require.NotContains(t, strings.ToLower(text), "fraud")
	}
}
