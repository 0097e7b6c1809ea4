package workflows

import (
	"crypto/sha256"
	"encoding/hex"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

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
	s.Equal([]State{StateInitiating, StateAwaitingUser, StateInProgress, StateProviderReview, StateSuccess,
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

func (s *OnboardingSuite) TestEarlyKYCReviewIsRecordedOnly() {
	early := kycReview(treezor.KYCReviewValidated)
	s.webhook(time.Minute, early)
	s.check(2*time.Minute, func(st Status) {
		s.Equal(StateAwaitingUser, st.State)
		s.True(hasNote(notes(st, early.WebhookID), NoteEarlyKYCReview))
	})
	s.webhook(3*time.Minute, success("ident-1"))
	s.expectState(4*time.Minute, StateKYCReviewPending)
	s.webhook(5*time.Minute, kycReview(treezor.KYCReviewValidated))
	r := s.run(input())
	s.Equal(StateCompletedValidated, r.State)
	s.Equal(5*time.Minute, s.elapsed().Truncate(time.Minute))
}

func (s *OnboardingSuite) TestDocumentsAreDownloadedBeforeTheKYCReview() {
	content := []byte("%PDF QES signed document")
	s.api.documents["doc-1"] = content
	s.webhook(time.Minute, documentCreated("doc-1"), documentCreated("doc-missing"))
	s.webhook(2*time.Minute, success("ident-1"))
	s.check(3*time.Minute, func(st Status) {
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
	s.webhook(4*time.Minute, kycReview(treezor.KYCReviewValidated))

	on := true
	r := s.run(input(func(in *Input) { policy(in).DownloadDocuments = &on }))
	s.Equal(StateCompletedValidated, r.State)
}

func (s *OnboardingSuite) TestDocumentArrivingInTheWindowIsDownloaded() {
	s.api.documents["doc-9"] = []byte("late document")
	s.webhook(time.Minute, success("ident-1"))
	s.expectState(2*time.Minute, StateDocuments)
	s.webhook(3*time.Minute, documentCreated("doc-9"))
	s.check(4*time.Minute, func(st Status) {
		s.Equal(StateKYCReviewPending, st.State)
		s.Require().Len(st.DocumentDownloads, 1)
		s.NotEmpty(st.DocumentDownloads[0].SHA256)
	})
	s.webhook(5*time.Minute, kycReview(treezor.KYCReviewValidated))
	on := true
	r := s.run(input(func(in *Input) { policy(in).DownloadDocuments = &on }))
	s.Equal(StateCompletedValidated, r.State)
}

func (s *OnboardingSuite) TestDocumentWindowWithoutDocumentsMovesOn() {
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
	s.signal(2*time.Minute, SignalCancel, CancelRequest{})
	s.run(input())
	s.True(ans.done)
	s.NoError(ans.err)
	s.GreaterOrEqual(ans.at, time.Minute)
	s.Equal(urlForIdent(testUser, "ident-1"), ans.result.IdentificationURL)
}

func (s *OnboardingSuite) TestIdentificationURLWithoutCurrentIdentification() {
	s.webhook(time.Minute, finalized("ident-1", treezor.ResultFraudSuspicionPending, 0))
	ans := s.requestURL(2 * time.Minute)
	s.signal(3*time.Minute, SignalCancel, CancelRequest{})
	s.run(input())
	s.True(ans.done)
	s.NoError(ans.err)
	s.Equal(IdentificationURLResult{UserID: testUser, Attempt: 1, State: StateComplianceReview}, ans.result)
}

func (s *OnboardingSuite) TestIdentificationURLValidatorRejectsAfterTheEnd() {
	for _, state := range []State{StateExpired, StateCompletedValidated, StateCancelled, StateRejected} {
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

// TestSearchAttributesWaitForTheActivity: from versionQuietActivity on, the state the
// workflow enters while it asks Treezor for the KYC review is published once the answer
// is in, together with the review's status; version 1 published it at once.
func (s *OnboardingSuite) TestSearchAttributesWaitForTheActivity() {
	const (
		finalizedAt = 2 * time.Minute
		answerAfter = 10 * time.Minute
	)
	for _, tc := range []struct {
		name      string
		version   workflow.Version
		publishAt time.Duration // when KYC_REVIEW_PENDING is published
		withKYC   bool          // published together with KYCReview PENDING
	}{
		{"version 1", versionLeanTask, finalizedAt, false},
		{"version 2", versionQuietActivity, finalizedAt + answerAfter, true},
	} {
		s.Run(tc.name, func() {
			s.env.OnGetVersion(changeLeanTask, workflow.DefaultVersion, versionQuietActivity).Return(tc.version)
			s.env.OnActivity(activities.RequestKYCReviewName, mock.Anything, mock.Anything).After(answerAfter).
				Return(activities.RequestKYCReviewOutput{KYCReview: treezor.KYCReviewPending}, nil)
			type upsert struct {
				at    time.Duration
				state string
				kyc   bool
			}
			var upserts []upsert
			s.env.OnUpsertTypedSearchAttributes(mock.Anything).Run(func(args mock.Arguments) {
				sa := args.Get(0).(temporal.SearchAttributes)
				state, _ := sa.GetKeyword(SAKeyQESState)
				kyc, _ := sa.GetKeyword(SAKeyKYCReview)
				upserts = append(upserts, upsert{at: s.elapsed(), state: state, kyc: kyc == "PENDING"})
			}).Return(nil)
			s.webhook(time.Minute, created("ident-1"))
			s.webhook(finalizedAt, success("ident-1"))
			s.webhook(30*time.Minute, kycReview(treezor.KYCReviewValidated))
			s.Equal(StateCompletedValidated, s.run(input()).State)

			var pending []upsert
			for _, u := range upserts {
				if u.state == string(StateKYCReviewPending) {
					pending = append(pending, u)
				}
			}
			s.Require().Len(pending, 1, "upserts: %+v", upserts)
			s.Equal(tc.publishAt, pending[0].at)
			s.Equal(tc.withKYC, pending[0].kyc)
		})
	}
}

func (s *OnboardingSuite) TestCancelFromAwaitingUser() {
	s.signal(time.Minute, SignalCancel, CancelRequest{Reason: "duplicate account"})
	r := s.run(input())
	s.Equal(StateCancelled, r.State)
	s.Equal("cancelled by an operator: duplicate account", r.Note)
	s.Equal(time.Minute, s.elapsed())
	s.Equal(UserStatusCancelled, s.userStatus().Status)
}

func (s *OnboardingSuite) TestCancelWhileInitiatingStopsTheActivity() {
	s.env.OnActivity(activities.InitiateQESName, mock.Anything, mock.Anything).
		Return(activities.InitiateQESOutput{IdentificationID: "ident-1", IdentificationURL: "x"}, nil).After(time.Hour)
	s.signal(time.Minute, SignalCancel, CancelRequest{})
	r := s.run(input())
	s.Equal(StateCancelled, r.State)
	s.Less(s.elapsed(), time.Hour)
}

func (s *OnboardingSuite) TestCancelDuringComplianceReview() {
	s.webhook(time.Minute, aborted("ident-1", 3203))
	s.expectState(2*time.Minute, StateComplianceReview)
	s.signal(3*time.Minute, SignalCancel, CancelRequest{})
	r := s.run(input())
	s.Equal(StateCancelled, r.State)
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

func (s *OnboardingSuite) TestTreezorUnavailableFailsTheWorkflow() {
	s.env.OnActivity(activities.InitiateQESName, mock.Anything, mock.Anything).
		Return(activities.InitiateQESOutput{}, temporal.NewApplicationError("initiate QES failed", activities.ErrTypeTreezorUnavailable))
	ans := s.requestURL(time.Second)
	s.env.ExecuteWorkflow(QESOnboarding, input(func(in *Input) { policy(in).TreezorRetryWindow = time.Minute }))
	s.Require().True(s.env.IsWorkflowCompleted())
	err := s.env.GetWorkflowError()
	s.Require().Error(err)
	s.Contains(err.Error(), "initiate QES for user 42")
	s.True(ans.done)
	applicationError(s.T(), ans.err, ErrTypeTreezorUnavailable)
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
	s.signal(3*time.Minute, SignalCancel, CancelRequest{})
	s.Equal(StateCancelled, s.run(input()).State)
}
