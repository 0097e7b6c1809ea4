package workflows

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/temporal"

	"github.com/qesflow/qesflow/activities"
	"github.com/qesflow/qesflow/treezor"
)

func (s *OnboardingSuite) TestSuccessFrance() {
	ans := s.requestURL(time.Second)
	s.webhook(time.Minute, created("ident-1"))
	s.expectState(90*time.Second, StateInProgress)
	s.webhook(2*time.Minute, processing("ident-1"))
	s.expectState(150*time.Second, StateProviderReview)
	s.webhook(3*time.Minute, success("ident-1"))
	s.expectState(4*time.Minute, StateKYCReviewPending)
	s.webhook(5*time.Minute, kycReview(treezor.KYCReviewReviewPending))
	s.check(6*time.Minute, func(st Status) {
		s.Equal(StateKYCReviewPending, st.State, "a non-final review keeps waiting")
		s.Equal(treezor.KYCReviewReviewPending, st.KYCReview)
	})
	s.webhook(7*time.Minute, kycReview(treezor.KYCReviewValidated))

	r := s.run(input())

	s.Equal(Result{UserID: testUser, State: StateCompletedValidated, Attempts: 1, KYCReview: treezor.KYCReviewValidated,
		Note: "KYC review validated"}, r)
	s.Equal([]string{"qesflow:42:default-test-run-id:qes:1"}, s.api.initiations())
	s.Equal([]string{"qesflow:42:default-test-run-id:kycreview:1"}, s.api.kycRequests())

	s.True(ans.done)
	s.NoError(ans.err)
	s.Equal(IdentificationURLResult{UserID: testUser, IdentificationID: "ident-1",
		IdentificationURL: urlForIdent(testUser, "ident-1"), Attempt: 1, State: StateAwaitingUser}, ans.result)

	st := s.status()
	s.Equal([]State{StateInitiating, StateAwaitingUser, StateInProgress, StateProviderReview, StateSuccess, StateDocuments,
		StateKYCReviewPending, StateCompletedValidated}, states(st))
	requireNoURL(s.T(), st)
	requireNoURL(s.T(), r)
	us := s.userStatus()
	s.Equal(UserStatusApproved, us.Status)
	s.True(us.Final)
}

func (s *OnboardingSuite) TestSuccessGermanyWaitsForTheSEPAPayin() {
	s.webhook(time.Minute, success("ident-1"))
	s.check(2*time.Minute, func(st Status) {
		s.Equal(StateAwaitingSEPA, st.State)
		s.Equal(ActionSEPATransfer, s.userStatus().ActionRequired)
		s.Empty(s.api.kycRequests(), "no KYC review before the payin")
	})
	s.webhook(3*time.Minute, payin("PENDING"))
	s.expectState(4*time.Minute, StateAwaitingSEPA)
	s.webhook(5*time.Minute, payin("VALIDATED"))
	s.check(6*time.Minute, func(st Status) {
		s.Equal(StateKYCReviewPending, st.State)
		s.True(st.SEPAValidated)
	})
	s.webhook(7*time.Minute, kycReview(treezor.KYCReviewValidated))

	r := s.run(input(func(in *Input) { in.Country = "de" }))
	s.Equal(StateCompletedValidated, r.State)
	s.Len(s.api.kycRequests(), 1)
}

func (s *OnboardingSuite) TestSuccessGermanyRemembersAnEarlyPayin() {
	s.webhook(time.Minute, payin("VALIDATED"))
	s.webhook(2*time.Minute, success("ident-1"))
	s.expectState(3*time.Minute, StateKYCReviewPending)
	s.webhook(4*time.Minute, kycReview(treezor.KYCReviewValidated))

	r := s.run(input(func(in *Input) { in.Country = "DE" }))
	s.Equal(StateCompletedValidated, r.State)
	s.NotContains(states(s.status()), StateAwaitingSEPA)
}

func (s *OnboardingSuite) TestKYCRefused() {
	s.webhook(time.Minute, success("ident-1"))
	s.webhook(2*time.Minute, kycReview(treezor.KYCReviewRefused))
	r := s.run(input())
	s.Equal(StateCompletedRefused, r.State)
	s.Equal(UserStatusClosed, s.userStatus().Status)
}

func (s *OnboardingSuite) TestKYCReviewAnsweredFinalByTheRequest() {
	s.api.kycAnswer = treezor.KYCReviewValidated
	s.webhook(time.Minute, success("ident-1"))
	r := s.run(input())
	s.Equal(StateCompletedValidated, r.State)
}

// TestEarlyKYCDecisionIsConfirmedOnceRequested (changeEarlyKYCDecisionChecked): a final
// review announced before the review was requested ends nothing by itself; once the review
// is requested, Treezor is asked for its status, and only what Treezor holds decides.
func (s *OnboardingSuite) TestEarlyKYCDecisionIsConfirmedOnceRequested() {
	early := kycReview(treezor.KYCReviewValidated)
	s.webhook(time.Minute, early)
	s.check(2*time.Minute, func(st Status) {
		s.Equal(StateAwaitingUser, st.State)
		s.Equal([]string{NoteEarlyKYCDecision + " (kycReview VALIDATED)"}, notes(st, early.WebhookID))
	})
	s.webhook(3*time.Minute, success("ident-1")) // Treezor holds VALIDATED: the read confirms it
	r := s.run(input())
	s.Equal(StateCompletedValidated, r.State)
	s.Equal(3*time.Minute, s.elapsed().Truncate(time.Minute), "completed by the read after the request")
	s.Len(s.api.kycTags, 1, "the review was requested before it was read")
}

// TestEarlyKYCDecisionTreezorDoesNotHold: the early announcement is not what Treezor holds
// (a replay of an earlier onboarding's verdict): the read after the request finds the new
// review pending, and the onboarding waits for its decision.
func (s *OnboardingSuite) TestEarlyKYCDecisionTreezorDoesNotHold() {
	s.api.review, s.api.reviewFixed = treezor.KYCReviewPending, true
	early := kycReview(treezor.KYCReviewRefused)
	s.webhook(time.Minute, early)
	s.webhook(3*time.Minute, success("ident-1"))
	s.check(4*time.Minute, func(st Status) {
		s.Equal(StateKYCReviewPending, st.State)
		s.Equal(treezor.KYCReviewPending, st.KYCReview)
		s.True(hasNote(notes(st, ""), "KYC review at Treezor: PENDING"), "Treezor was asked")
	})
	s.action(5*time.Minute, UpdateCancel, CancelRequest{})
	s.Equal(StateOperatorCancelled, s.run(input()).State)
}

func (s *OnboardingSuite) TestDocumentsAreDownloadedBeforeTheKYCReview() {
	s.noAutoDocuments = true
	content := []byte("%PDF QES signed document")
	s.api.documents["doc-1"] = content
	s.webhook(time.Minute, documentCreated("doc-1"), documentCreated("doc-missing"))
	s.webhook(2*time.Minute, success("ident-1"))
	s.expectState(11*time.Minute, StateDocuments) // the wait window runs out
	s.check(13*time.Minute, func(st Status) {
		s.Equal(StateKYCReviewPending, st.State)
		s.Require().Len(st.DocumentDownloads, 2)
		sum := sha256.Sum256(content)
		ok, failed := st.DocumentDownloads[0], st.DocumentDownloads[1]
		s.Equal("doc-1", ok.DocumentID)
		s.True(ok.Done)
		s.Equal(hex.EncodeToString(sum[:]), ok.SHA256)
		s.EqualValues(len(content), ok.Size)
		s.Equal("doc-missing", failed.DocumentID)
		s.True(failed.Done)
		s.Contains(failed.Error, "404", "a failed download is recorded and does not stop the onboarding")
		s.Contains(states(st), StateDocuments)
		requireNoURL(s.T(), st)
	})
	s.webhook(14*time.Minute, kycReview(treezor.KYCReviewValidated))

	on := true
	r := s.run(input(func(in *Input) { policy(in).DownloadDocuments = &on }))
	s.Equal(StateCompletedValidated, r.State)
}

// TestEveryDocumentOfTheWindowIsDownloaded (defect 4): a second document announced within
// the wait window is downloaded too; before the fix the step moved on as soon as the first
// was stored.
func (s *OnboardingSuite) TestEveryDocumentOfTheWindowIsDownloaded() {
	s.noAutoDocuments = true
	s.api.documents["doc-8"] = []byte("first document")
	s.api.documents["doc-9"] = []byte("late document")
	s.webhook(time.Minute, success("ident-1"))
	s.expectState(2*time.Minute, StateDocuments)
	s.webhook(3*time.Minute, documentCreated("doc-8"))
	s.expectState(5*time.Minute, StateDocuments)
	s.webhook(7*time.Minute, documentCreated("doc-9"))
	s.check(12*time.Minute, func(st Status) {
		s.Equal(StateKYCReviewPending, st.State)
		s.Require().Len(st.DocumentDownloads, 2)
		for _, d := range st.DocumentDownloads {
			s.NotEmpty(d.SHA256, d.DocumentID)
		}
	})
	s.webhook(13*time.Minute, kycReview(treezor.KYCReviewValidated))
	on := true
	r := s.run(input(func(in *Input) { policy(in).DownloadDocuments = &on }))
	s.Equal(StateCompletedValidated, r.State)
}

func (s *OnboardingSuite) TestDocumentWindowWithoutDocumentsMovesOn() {
	s.noAutoDocuments = true
	s.webhook(time.Minute, success("ident-1"))
	s.expectState(5*time.Minute, StateDocuments)
	s.check(12*time.Minute, func(st Status) {
		s.Equal(StateKYCReviewPending, st.State)
		s.True(hasNote(notes(st, ""), "no QES document within 10m0s"))
	})
	s.webhook(13*time.Minute, kycReview(treezor.KYCReviewValidated))
	on := true
	r := s.run(input(func(in *Input) { policy(in).DownloadDocuments = &on }))
	s.Equal(StateCompletedValidated, r.State)
}

func (s *OnboardingSuite) TestIdentificationURLWaitsWhileInitiating() {
	s.env.OnActivity(activities.InitiateQESName, mock.Anything, mock.Anything).
		Return(activities.InitiateQESOutput{IdentificationID: "ident-1", IdentificationURL: urlForIdent(testUser, "ident-1")}, nil).
		After(time.Minute)
	ans := s.requestURL(10 * time.Second)
	s.check(30*time.Second, func(st Status) {
		s.Equal(StateInitiating, st.State)
		s.False(ans.done, "the update waits for the identification")
	})
	s.action(2*time.Minute, UpdateCancel, CancelRequest{})
	s.run(input())
	s.True(ans.done)
	s.NoError(ans.err)
	s.GreaterOrEqual(ans.at, time.Minute)
	s.Equal(urlForIdent(testUser, "ident-1"), ans.result.IdentificationURL)
}

func (s *OnboardingSuite) TestIdentificationURLWithoutCurrentIdentification() {
	s.webhook(time.Minute, finalized("ident-1", treezor.ResultFraudSuspicionPending, 0))
	ans := s.requestURL(2 * time.Minute)
	s.action(3*time.Minute, UpdateCancel, CancelRequest{})
	s.run(input())
	s.True(ans.done)
	s.NoError(ans.err)
	s.Equal(IdentificationURLResult{UserID: testUser, Attempt: 1, State: StateComplianceReview}, ans.result)
}

func (s *OnboardingSuite) TestIdentificationURLValidatorRejectsAfterTheEnd() {
	for _, state := range []State{StateExpired, StateCompletedValidated, StateOperatorCancelled, StateRejected} {
		o := &onboarding{st: Snapshot{State: state}}
		err := o.validateIdentificationURL(nil)
		applicationError(s.T(), err, ErrTypeNotAvailable)
	}
	o := &onboarding{st: Snapshot{State: StateAwaitingUser}}
	s.NoError(o.validateIdentificationURL(nil))
}

func (s *OnboardingSuite) TestSearchAttributesFollowTheState() {
	var upserts []temporal.SearchAttributes
	s.env.OnUpsertTypedSearchAttributes(mock.Anything).Run(func(args mock.Arguments) {
		upserts = append(upserts, args.Get(0).(temporal.SearchAttributes))
	}).Return(nil)
	s.webhook(time.Minute, created("ident-1"))
	s.webhook(2*time.Minute, success("ident-1"))
	s.webhook(3*time.Minute, kycReview(treezor.KYCReviewValidated))
	s.run(input())

	var seenStates []string
	for _, sa := range upserts {
		if v, ok := sa.GetKeyword(SAKeyQESState); ok {
			seenStates = append(seenStates, v)
		}
		for _, key := range []temporal.SearchAttributeKeyKeyword{SAKeyQESState, SAKeyQESIdentificationID, SAKeyTreezorUserID, SAKeyKYCReview} {
			v, _ := sa.GetKeyword(key)
			s.NotContains(v, "http", "no URL in search attributes")
		}
	}
	s.Equal([]string{"INITIATING", "AWAITING_USER", "IN_PROGRESS", "KYC_REVIEW_PENDING", "COMPLETED_VALIDATED"}, seenStates)
	first := upserts[0]
	user, _ := first.GetKeyword(SAKeyTreezorUserID)
	attempt, _ := first.GetInt64(SAKeyQESAttempt)
	s.Equal(testUser, user)
	s.EqualValues(1, attempt)
	last := upserts[len(upserts)-1]
	kyc, _ := last.GetKeyword(SAKeyKYCReview)
	s.Equal("VALIDATED", kyc)
	ident, ok := upserts[1].GetKeyword(SAKeyQESIdentificationID)
	s.True(ok)
	s.Equal("ident-1", ident)
}

func (s *OnboardingSuite) TestCancelFromAwaitingUser() {
	s.action(time.Minute, UpdateCancel, CancelRequest{Reason: "duplicate account"})
	r := s.run(input())
	s.Equal(StateOperatorCancelled, r.State)
	s.Equal("cancelled by an operator: duplicate account", r.Note)
	s.Equal(time.Minute, s.elapsed())
	s.Equal(UserStatusCancelled, s.userStatus().Status)
}

func (s *OnboardingSuite) TestCancelWhileInitiatingStopsTheActivity() {
	s.env.OnActivity(activities.InitiateQESName, mock.Anything, mock.Anything).
		Return(activities.InitiateQESOutput{IdentificationID: "ident-1", IdentificationURL: "x"}, nil).After(time.Hour)
	s.action(time.Minute, UpdateCancel, CancelRequest{})
	r := s.run(input())
	s.Equal(StateOperatorCancelled, r.State)
	s.Less(s.elapsed(), time.Hour)
}

func (s *OnboardingSuite) TestCancelDuringComplianceReview() {
	s.webhook(time.Minute, aborted("ident-1", 3203))
	s.expectState(2*time.Minute, StateComplianceReview)
	s.action(3*time.Minute, UpdateCancel, CancelRequest{})
	r := s.run(input())
	s.Equal(StateOperatorCancelled, r.State)
}

func (s *OnboardingSuite) TestInitiationRefusedEndsFailed() {
	s.env.OnActivity(activities.InitiateQESName, mock.Anything, mock.Anything).
		Return(activities.InitiateQESOutput{}, temporal.NewNonRetryableApplicationError("initiate QES for user 42 failed",
			activities.ErrTypeTreezorRejected, &treezor.APIError{StatusCode: 404, Op: "initiate QES", Code: "user_not_found"},
			activities.RejectionDetails{StatusCode: 404, Code: "user_not_found"})).
		After(time.Minute)
	ans := s.requestURL(10 * time.Second)
	r := s.run(input())
	s.Equal(StateFailed, r.State)
	s.Contains(r.Note, "Treezor refused the QES initiation")
	s.Contains(r.Note, "404")
	s.True(ans.done)
	applicationError(s.T(), ans.err, ErrTypeTreezorRejected)
	s.Equal(UserStatusClosed, s.userStatus().Status)
}

// TestTreezorOutageNeverEndsTheOnboarding (defect 6, issue 17): Treezor unreachable for
// several retry windows changes nothing for the user (PREPARING, not final; before the fix
// the run failed and its status still read PREPARING); when Treezor answers again the
// onboarding carries on by itself with the same access tag.
func (s *OnboardingSuite) TestTreezorOutageNeverEndsTheOnboarding() {
	const outage = 3 * time.Hour
	var calls []string
	s.env.OnActivity(activities.InitiateQESName, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.InitiateQESInput) (activities.InitiateQESOutput, error) {
			calls = append(calls, in.AccessTag)
			if s.elapsed() < outage {
				return activities.InitiateQESOutput{}, temporal.NewApplicationError("initiate QES failed", activities.ErrTypeTreezorUnavailable)
			}
			return activities.InitiateQESOutput{IdentificationID: "ident-1", IdentificationURL: urlForIdent(testUser, "ident-1")}, nil
		})
	ans := s.requestURL(time.Second)
	s.check(2*time.Hour, func(st Status) {
		s.Equal(StateInitiating, st.State)
		us := s.userStatus()
		s.Equal(UserStatusPreparing, us.Status)
		s.False(us.Final)
		s.True(hasNote(notes(st, ""), "Treezor unavailable for 1h0m0s: still retrying"))
	})
	s.action(outage+time.Hour, UpdateCancel, CancelRequest{})
	r := s.run(input(func(in *Input) { policy(in).TreezorRetryWindow = time.Hour }))
	s.Equal(StateOperatorCancelled, r.State)
	s.True(ans.done)
	s.Require().NoError(ans.err)
	s.Equal("ident-1", ans.result.IdentificationID)
	s.GreaterOrEqual(ans.at, outage)
	for _, tag := range calls {
		s.Equal(calls[0], tag, "every call of the outage uses the same access tag")
	}
	st := s.status()
	s.Equal(1, strings.Count(strings.Join(notes(st, ""), "\n"), "Treezor unavailable"), "the outage is noted once")
	s.True(hasNote(notes(st, ""), "Treezor answers again"))
}

func (s *OnboardingSuite) TestUnknownAndForeignEventsAreRecordedOnly() {
	unknown := treezor.Event{WebhookID: "wh-unknown", Type: "card.create", Known: false}
	foreign := created("ident-1")
	foreign.UserID = "43"
	noID := created("")
	s.webhook(time.Minute, unknown, foreign, noID)
	s.check(2*time.Minute, func(st Status) {
		s.Equal(StateAwaitingUser, st.State)
		s.True(hasNote(notes(st, unknown.WebhookID), NoteUnhandled))
		s.True(hasNote(notes(st, foreign.WebhookID), NoteOtherUser))
		s.True(hasNote(notes(st, noID.WebhookID), NoteNoID))
	})
	s.action(3*time.Minute, UpdateCancel, CancelRequest{})
	s.Equal(StateOperatorCancelled, s.run(input()).State)
}
