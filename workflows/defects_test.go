package workflows

import (
	"strings"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/temporal"

	"github.com/qesflow/qesflow/activities"
	"github.com/qesflow/qesflow/treezor"
)

// Regression tests of issue 18's defects and suspected defects (and the decisive-result
// confirmation of issue 22): each failed on the workflow before its fix.

// TestEndedOnboardingNeverAnswersTheURLUpdate (defect 1): an identification-url update
// that waits while the onboarding initiates, and sees it end in the same workflow task
// (here an operator's cancel), fails with ErrTypeNotAvailable: it never answers an end
// state to the onboarding scope. Before the fix it answered {state: CANCELLED} (and
// REJECTED when a compliance reject was applied in the same task).
func (s *OnboardingSuite) TestEndedOnboardingNeverAnswersTheURLUpdate() {
	s.env.OnActivity(activities.InitiateQESName, mock.Anything, mock.Anything).After(time.Hour).
		Return(activities.InitiateQESOutput{IdentificationID: "ident-1", IdentificationURL: urlForIdent(testUser, "ident-1")}, nil)
	ans := s.requestURL(time.Minute)
	s.action(2*time.Minute, UpdateCancel, CancelRequest{})
	s.Equal(StateOperatorCancelled, s.run(input()).State)
	s.Require().True(ans.done)
	s.Empty(ans.result.State, "no state is answered")
	appErr := applicationError(s.T(), ans.err, ErrTypeNotAvailable)
	s.NotContains(appErr.Error(), string(StateOperatorCancelled), "the error does not name the end state")
}

// TestURLAnswerOfEveryEndState (defect 1): whatever the end state, the update's answer
// is ErrTypeNotAvailable and names no state.
func (s *OnboardingSuite) TestURLAnswerOfEveryEndState() {
	for state := range userViews {
		if !state.Terminal() {
			continue
		}
		o := &onboarding{st: Snapshot{State: state, Attempt: 1, IdentificationURL: "https://go.idnow.example/x"}}
		res, err := o.identificationURL()
		s.Empty(res.State, "state %s", state)
		appErr := applicationError(s.T(), err, ErrTypeNotAvailable)
		s.NotContains(appErr.Error(), string(state))
	}
}

// TestFraudResultOnAnyQESEventGoesToCompliance (defect 5): a fraud result on qes.aborted
// or qes.processing goes to compliance, never to an automatic retry.
func (s *OnboardingSuite) TestFraudResultOnAnyQESEventGoesToCompliance() {
	for _, tc := range []struct {
		name string
		ev   treezor.Event
	}{
		{"aborted with a retry reason", func() treezor.Event {
			ev := aborted("ident-1", 3101)
			ev.Result = treezor.ResultFraudSuspicionConfirmed
			return ev
		}()},
		{"processing", func() treezor.Event {
			ev := processing("ident-1")
			ev.Result = treezor.ResultFraudSuspicionConfirmed
			return ev
		}()},
	} {
		s.Run(tc.name, func() {
			s.webhook(time.Minute, created("ident-1"), tc.ev)
			s.expectState(2*time.Minute, StateComplianceReview)
			s.action(time.Hour, UpdateCancel, CancelRequest{})
			s.run(input(func(in *Input) { policy(in).RetryBackoff = time.Second }))
			s.Len(s.api.initiations(), 1, "never retried")
		})
	}
}

// TestEndedRunReadsAsEnded (defect 6): a run that ended with an error (invalid input)
// reads as ended in the user-safe status, not PREPARING.
func (s *OnboardingSuite) TestEndedRunReadsAsEnded() {
	s.env.ExecuteWorkflow(QESOnboarding, Input{UserID: "bad user"})
	s.Require().True(s.env.IsWorkflowCompleted())
	applicationError(s.T(), s.env.GetWorkflowError(), ErrTypeInvalidInput)
	us := s.userStatus()
	s.True(us.Final)
	s.NotEqual(UserStatusPreparing, us.Status)
}

// TestFraudWithoutReasonShowsNoEarlierReason (defect 7): a fraud verdict without a reason
// code carries no reason, not the previous attempt's.
func (s *OnboardingSuite) TestFraudWithoutReasonShowsNoEarlierReason() {
	s.webhook(time.Minute, finalized("ident-1", treezor.ResultCanceled, 3101))
	s.webhook(time.Hour, finalized("ident-2", treezor.ResultFraudSuspicionConfirmed, 0))
	s.check(2*time.Hour, func(st Status) {
		s.Equal(StateComplianceReview, st.State)
		s.Equal(2, st.Attempt)
		s.Zero(st.ReasonCode, "the reason of attempt 1 is not the reason of this verdict")
	})
	s.action(3*time.Hour, UpdateComplianceDecision, ComplianceDecision{Decision: DecisionReject})
	r := s.run(input(func(in *Input) { policy(in).RetryBackoff = time.Minute }))
	s.Equal(StateRejected, r.State)
	s.Zero(r.ReasonCode)
}

// TestComplianceQueueDropsDecidedCases (defect 8): after "clear", QESState leaves
// COMPLIANCE_REVIEW at once, although the next InitiateQES takes hours (an outage).
func (s *OnboardingSuite) TestComplianceQueueDropsDecidedCases() {
	s.env.OnActivity(activities.InitiateQESName, mock.Anything, mock.Anything).
		Return(activities.InitiateQESOutput{IdentificationID: "ident-1", IdentificationURL: urlForIdent(testUser, "ident-1")}, nil).Once()
	s.env.OnActivity(activities.InitiateQESName, mock.Anything, mock.Anything).After(3*time.Hour).
		Return(activities.InitiateQESOutput{IdentificationID: "ident-2", IdentificationURL: urlForIdent(testUser, "ident-2")}, nil).Once()
	type upsert struct {
		at    time.Duration
		state string
	}
	var upserts []upsert
	s.env.OnUpsertTypedSearchAttributes(mock.Anything).Run(func(args mock.Arguments) {
		if v, ok := args.Get(0).(temporal.SearchAttributes).GetKeyword(SAKeyQESState); ok {
			upserts = append(upserts, upsert{s.elapsed(), v})
		}
	}).Return(nil)
	s.webhook(time.Minute, aborted("ident-1", 3206))
	clear := s.action(time.Hour, UpdateComplianceDecision, ComplianceDecision{Decision: DecisionClear})
	s.action(5*time.Hour, UpdateCancel, CancelRequest{})
	s.run(input())
	s.Require().NoError(clear.err)
	s.Equal(StateInitiating, clear.result.State)
	s.Contains(upserts, upsert{time.Hour, string(StateInitiating)}, "published with the decision: %+v", upserts)
}

// TestHeldWebhooksAreResolvedOnce (defect 9): webhooks held while the initiation was
// pending are resolved once when Treezor refuses it, never held again.
func (s *OnboardingSuite) TestHeldWebhooksAreResolvedOnce() {
	s.env.OnActivity(activities.InitiateQESName, mock.Anything, mock.Anything).After(time.Minute).
		Return(activities.InitiateQESOutput{}, temporal.NewNonRetryableApplicationError("initiate QES failed", activities.ErrTypeTreezorRejected, nil))
	early := created("ident-x")
	s.webhook(10*time.Second, early)
	r := s.run(input())
	s.Equal(StateFailed, r.State)
	st := s.status()
	got := notes(st, early.WebhookID)
	s.Len(got, 2, "held once, then resolved: %q", got)
	s.True(strings.HasPrefix(got[0], NoteBuffered))
	s.False(strings.HasPrefix(got[1], NoteBuffered))
}

// TestKYCReviewNeverMovesBackwards (defect 10): a late PENDING after REVIEW_PENDING
// changes neither the status nor the search attribute.
func (s *OnboardingSuite) TestKYCReviewNeverMovesBackwards() {
	var kyc []string
	s.env.OnUpsertTypedSearchAttributes(mock.Anything).Run(func(args mock.Arguments) {
		if v, ok := args.Get(0).(temporal.SearchAttributes).GetKeyword(SAKeyKYCReview); ok {
			kyc = append(kyc, v)
		}
	}).Return(nil)
	s.webhook(time.Minute, success("ident-1"))
	s.webhook(5*time.Minute, kycReview(treezor.KYCReviewReviewPending))
	s.webhook(6*time.Minute, kycReview(treezor.KYCReviewPending))
	s.check(7*time.Minute, func(st Status) {
		s.Equal(treezor.KYCReviewReviewPending, st.KYCReview)
		s.True(hasNote(notes(st, ""), NoteKYCBackwards))
	})
	s.action(8*time.Minute, UpdateCancel, CancelRequest{})
	s.run(input())
	s.Equal("REVIEW_PENDING", kyc[len(kyc)-1], "upserts: %v", kyc)
}

// TestLateFraudVerdictWins (suspected): a fraud verdict for an identification that
// arrives after its abort, while the retry waits, goes to compliance; no next attempt.
func (s *OnboardingSuite) TestLateFraudVerdictWins() {
	s.webhook(time.Minute, aborted("ident-1", 3101))
	s.expectState(2*time.Minute, StateRetryScheduled)
	s.webhook(10*time.Minute, finalized("ident-1", treezor.ResultFraudSuspicionConfirmed, 3207))
	s.check(11*time.Minute, func(st Status) {
		s.Equal(StateComplianceReview, st.State)
		s.Equal(3207, st.ReasonCode)
	})
	s.action(3*time.Hour, UpdateCancel, CancelRequest{})
	s.run(input(func(in *Input) { policy(in).RetryBackoff = time.Hour }))
	s.Len(s.api.initiations(), 1, "the next attempt never starts")
}

// TestLateFraudVerdictOfAnEarlierAttemptWins (suspected): the verdict may come after the
// next attempt started; it still goes to compliance.
func (s *OnboardingSuite) TestLateFraudVerdictOfAnEarlierAttemptWins() {
	s.webhook(time.Minute, aborted("ident-1", 3101))
	s.expectState(time.Hour, StateAwaitingUser)
	s.webhook(2*time.Hour, finalized("ident-1", treezor.ResultFraudSuspicionConfirmed, 0))
	s.expectState(2*time.Hour+time.Minute, StateComplianceReview)
	s.action(3*time.Hour, UpdateCancel, CancelRequest{})
	s.run(input(func(in *Input) { policy(in).RetryBackoff = time.Minute }))
}

// TestComplianceEscalationRepeats (suspected): an escalated case keeps escalating, one
// more each ComplianceTimeout, instead of waiting with nothing further happening.
func (s *OnboardingSuite) TestComplianceEscalationRepeats() {
	s.webhook(time.Minute, aborted("ident-1", 3206))
	s.check(3*time.Hour+30*time.Minute, func(st Status) {
		s.Equal(StateComplianceReview, st.State)
		s.Equal(3, st.Escalations)
		s.True(hasNote(notes(st, ""), "no compliance decision within 3h0m0s"))
	})
	s.action(4*time.Hour, UpdateComplianceDecision, ComplianceDecision{Decision: DecisionReject})
	s.run(input(func(in *Input) { policy(in).ComplianceTimeout = time.Hour }))
}

// TestUnknownResultGoesToAnOperator (issue 17): a result value qesflow does not know,
// without a reason code, waits for compliance with the raw value shown, instead of an
// automatic retry.
func (s *OnboardingSuite) TestUnknownResultGoesToAnOperator() {
	s.webhook(time.Minute, finalized("ident-1", "SUCCESS_WITH_NEW_WORDING", 0))
	s.check(2*time.Minute, func(st Status) {
		s.Equal(StateComplianceReview, st.State)
		s.Equal("SUCCESS_WITH_NEW_WORDING", st.ProviderResult)
		s.True(hasNote(notes(st, ""), `unknown provider result "SUCCESS_WITH_NEW_WORDING"`))
		s.Equal(UserStatusUnderReview, s.userStatus().Status)
	})
	s.action(time.Hour, UpdateCancel, CancelRequest{})
	s.run(input(func(in *Input) { policy(in).RetryBackoff = time.Second }))
	s.Len(s.api.initiations(), 1)
}

// TestReplayedVerdictChangesNothing (issue 22): a KYC decision webhook that Treezor does
// not confirm (a verdict captured from an earlier onboarding and replayed) leaves the
// onboarding waiting.
func (s *OnboardingSuite) TestReplayedVerdictChangesNothing() {
	s.api.reviewFixed = true
	s.api.review = treezor.KYCReviewPending
	s.webhook(time.Minute, success("ident-1"))
	s.webhook(5*time.Minute, kycReview(treezor.KYCReviewRefused))
	s.check(6*time.Minute, func(st Status) {
		s.Equal(StateKYCReviewPending, st.State)
		s.Equal(treezor.KYCReviewPending, st.KYCReview)
		s.True(hasNote(notes(st, ""), NoteKYCConfirm))
		s.True(hasNote(notes(st, ""), "KYC review at Treezor: PENDING"))
	})
	s.action(7*time.Minute, UpdateCancel, CancelRequest{})
	s.Equal(StateOperatorCancelled, s.run(input()).State)
}

// TestPayloadHashDeduplicates (issue 22): two deliveries of one signed payload under
// different webhook ids are one event.
func (s *OnboardingSuite) TestPayloadHashDeduplicates() {
	first := created("ident-1")
	first.PayloadHash = strings.Repeat("ab", 32)
	relabelled := first
	relabelled.WebhookID = "wh-relabelled"
	s.webhook(time.Minute, first, relabelled)
	s.check(2*time.Minute, func(st Status) {
		s.True(hasNote(notes(st, "wh-relabelled"), NoteDuplicate))
	})
	s.action(3*time.Minute, UpdateCancel, CancelRequest{})
	s.run(input())
}

// TestOnlyASEPATransferIntoTheWalletCounts (issue 17): a card top-up, or a transfer into
// another wallet, does not satisfy the SEPA step; a validated SEPA credit transfer into
// the user's wallet does.
func (s *OnboardingSuite) TestOnlyASEPATransferIntoTheWalletCounts() {
	card := payinWith("VALIDATED", 25)
	other := payin("VALIDATED")
	other.WalletID = "wallet-2"
	s.webhook(time.Minute, success("ident-1"))
	s.webhook(2*time.Minute, card, other)
	s.check(3*time.Minute, func(st Status) {
		s.Equal(StateAwaitingSEPA, st.State)
		s.False(st.SEPAValidated)
		s.True(hasNote(notes(st, card.WebhookID), "not a SEPA credit transfer"))
		s.True(hasNote(notes(st, other.WebhookID), NoteOtherWallet))
	})
	s.webhook(4*time.Minute, payin("VALIDATED"))
	s.expectState(5*time.Minute, StateKYCReviewPending)
	s.action(6*time.Minute, UpdateCancel, CancelRequest{})
	s.run(input(func(in *Input) { in.Country, in.WalletID = "DE", "wallet-1" }))
}

// TestCountryComesFromTreezor (issue 17): a German user whose country the caller left out
// still gets the SEPA step: the country is read from the Treezor user.
func (s *OnboardingSuite) TestCountryComesFromTreezor() {
	s.api.country = "DE"
	s.webhook(time.Minute, success("ident-1"))
	s.check(2*time.Minute, func(st Status) {
		s.Equal(StateAwaitingSEPA, st.State)
		s.Equal("DE", st.Country)
	})
	s.action(3*time.Minute, UpdateCancel, CancelRequest{})
	s.run(input(func(in *Input) { in.Country = "" }))
}

// TestVerdictOfAnEarlierOnboardingIsADuplicate (issue 22): a verdict payload the user's
// previous onboarding applied, replayed byte for byte into the next one, is a duplicate:
// no state change. The previous run hands its hashes on through its Result.
func (s *OnboardingSuite) TestVerdictOfAnEarlierOnboardingIsADuplicate() {
	refused := kycReview(treezor.KYCReviewRefused)
	refused.PayloadHash = strings.Repeat("cd", 32)
	replayed := refused
	replayed.WebhookID = "wh-replayed-into-run-2"
	s.webhook(time.Minute, success("ident-1"))
	s.webhook(5*time.Minute, replayed)
	s.check(6*time.Minute, func(st Status) {
		s.Equal(StateKYCReviewPending, st.State)
		s.True(hasNote(notes(st, replayed.WebhookID), NoteDuplicate))
	})
	s.action(7*time.Minute, UpdateCancel, CancelRequest{})
	r := s.run(input(func(in *Input) { in.PriorWebhooks = []string{refused.PayloadHash} }))
	s.Equal(StateOperatorCancelled, r.State)
	s.Contains(r.AppliedHashes, refused.PayloadHash, "handed on to the next onboarding")
}

// TestTransferBeforeTheSEPAStepCounts (issue 17): on entering AWAITING_SEPA the workflow
// asks Treezor for the wallet's payins, so a transfer received before counts; a card
// top-up among them does not.
func (s *OnboardingSuite) TestTransferBeforeTheSEPAStepCounts() {
	s.api.payins = []treezor.Payin{
		{PayinID: "card-1", WalletID: "wallet-1", Status: "VALIDATED", PaymentMethodID: 25},
		{PayinID: "sct-1", WalletID: "wallet-1", Status: "VALIDATED", PaymentMethodID: PaymentMethodSCT},
	}
	s.webhook(time.Minute, success("ident-1"))
	s.check(2*time.Minute, func(st Status) {
		s.Equal(StateKYCReviewPending, st.State)
		s.True(st.SEPAValidated)
		s.Contains(states(st), StateAwaitingSEPA)
		s.True(hasNote(notes(st, ""), "validated SEPA transfer sct-1 already received"))
	})
	s.action(3*time.Minute, UpdateCancel, CancelRequest{})
	s.run(input(func(in *Input) { in.Country, in.WalletID = "DE", "wallet-1" }))
}

// TestDecidedSuspicionStaysDecided (found by the chaos suite): a second fraud verdict on an
// identification whose suspicion compliance already cleared (the confirmation after the
// pending result, delivered late) is recorded on the timeline; it does not reopen the case
// and the cleared user's next attempt goes on.
func (s *OnboardingSuite) TestDecidedSuspicionStaysDecided() {
	s.webhook(time.Minute, aborted("ident-1", 3206))
	s.expectState(2*time.Minute, StateComplianceReview)
	s.action(time.Hour, UpdateComplianceDecision, ComplianceDecision{Decision: DecisionClear})
	s.expectState(time.Hour+time.Minute, StateAwaitingUser)
	s.webhook(2*time.Hour, finalized("ident-1", treezor.ResultFraudSuspicionConfirmed, 3207))
	s.check(2*time.Hour+time.Minute, func(st Status) {
		s.Equal(StateAwaitingUser, st.State)
		s.Equal(2, st.Attempt)
		s.True(hasNote(notes(st, ""), NoteDecided))
	})
	s.action(3*time.Hour, UpdateCancel, CancelRequest{})
	s.run(input())
	s.Len(s.api.initiations(), 2, "the cleared user's next attempt started once")
}
