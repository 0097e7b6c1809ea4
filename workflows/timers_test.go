package workflows

import (
	"time"

	"github.com/qesflow/qesflow/treezor"
)

func (s *OnboardingSuite) TestUserTimeoutExpires() {
	s.check(time.Hour, func(st Status) {
		s.Equal(StateAwaitingUser, st.State)
		s.Require().NotNil(st.Deadline)
		s.WithinDuration(s.start.Add(2*time.Hour), *st.Deadline, time.Second)
	})
	r := s.run(input(func(in *Input) { policy(in).UserTimeout = 2 * time.Hour }))
	s.Equal(StateExpired, r.State)
	s.Equal(2*time.Hour, s.elapsed())
	s.Equal(UserStatusExpired, s.userStatus().Status)
}

func (s *OnboardingSuite) TestDefaultUserTimeoutIsSevenDays() {
	r := s.run(input())
	s.Equal(StateExpired, r.State)
	s.Equal(DefaultUserTimeout, s.elapsed())
}

func (s *OnboardingSuite) TestProviderTimeoutExpires() {
	s.webhook(time.Minute, created("ident-1"))
	s.webhook(2*time.Minute, processing("ident-1"))
	r := s.run(input(func(in *Input) { policy(in).ProviderTimeout = time.Hour }))
	s.Equal(StateExpired, r.State)
	s.Equal(time.Hour+2*time.Minute, s.elapsed(), "the provider timeout counts from the last progress")
	s.Contains(r.Note, "no outcome from the provider")
}

func (s *OnboardingSuite) TestSEPATimeoutExpires() {
	s.webhook(time.Minute, success("ident-1"))
	r := s.run(input(func(in *Input) {
		in.Country = "DE"
		policy(in).SEPATimeout = 3 * time.Hour
	}))
	s.Equal(StateExpired, r.State)
	s.Equal(3*time.Hour+time.Minute, s.elapsed())
	s.Contains(r.Note, "SEPA")
	s.Empty(s.api.kycRequests())
}

// TestKYCReviewOverdueAsksTreezor: an overdue review is escalated and Treezor is asked
// for the review's status every KYCReviewTimeout, so a decision whose webhook was lost
// still ends the onboarding (before: it waited forever with nothing happening).
func (s *OnboardingSuite) TestKYCReviewOverdueAsksTreezor() {
	s.webhook(time.Minute, success("ident-1"))
	s.check(90*time.Minute, func(st Status) {
		s.Equal(StateKYCReviewOverdue, st.State)
		s.NotNil(st.Deadline, "overdue asks Treezor again at the next deadline")
		s.Equal(UserStatusUnderReview, s.userStatus().Status)
		s.True(hasNote(notes(st, ""), "KYC review at Treezor: PENDING"))
	})
	s.at(46*time.Hour+30*time.Minute, func() { s.api.sawReview(treezor.KYCReviewValidated) }) // webhook lost
	r := s.run(input(func(in *Input) { policy(in).KYCReviewTimeout = time.Hour }))
	s.Equal(StateCompletedValidated, r.State)
	s.Equal(47*time.Hour+time.Minute, s.elapsed().Truncate(time.Minute), "found at the next hourly check")
}

func (s *OnboardingSuite) TestComplianceEscalationKeepsWaiting() {
	s.webhook(time.Minute, aborted("ident-1", 3206))
	s.check(30*time.Minute, func(st Status) {
		s.Equal(StateComplianceReview, st.State)
		s.False(st.Escalated)
	})
	s.check(2*time.Hour, func(st Status) {
		s.Equal(StateComplianceReview, st.State)
		s.True(st.Escalated)
		s.True(hasNote(notes(st, ""), "no compliance decision within 1h0m0s"))
	})
	s.action(30*time.Hour, UpdateComplianceDecision, ComplianceDecision{Decision: DecisionReject, Note: "forged hologram"})
	r := s.run(input(func(in *Input) { policy(in).ComplianceTimeout = time.Hour }))
	s.Equal(StateRejected, r.State)
	s.Equal(30*time.Hour, s.elapsed())
}

func (s *OnboardingSuite) TestWaitingForUserExpires() {
	s.webhook(time.Minute, aborted("ident-1", 3009))
	r := s.run(input(func(in *Input) { policy(in).UserTimeout = 5 * time.Hour }))
	s.Equal(StateExpired, r.State)
	s.Equal(5*time.Hour+time.Minute, s.elapsed())
	s.Contains(r.Note, "WAITING_FOR_USER")
}
