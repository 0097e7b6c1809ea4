package workflows

import (
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/testsuite"

	"github.com/qesflow/qesflow/activities"
	"github.com/qesflow/qesflow/treezor"
)

func (s *OnboardingSuite) TestStaleIdentificationEventsAreRecordedAndIgnored() {
	s.webhook(time.Minute, finalized("ident-1", treezor.ResultCanceled, 3139)) // retry at once → ident-2
	staleSuccess, staleCreated := success("ident-1"), created("ident-1")
	s.webhook(2*time.Minute, staleSuccess, staleCreated)
	s.check(3*time.Minute, func(st Status) {
		s.Equal(StateAwaitingUser, st.State)
		s.Equal(2, st.Attempt)
		s.Equal("ident-2", st.IdentificationID)
		s.True(hasNote(notes(st, staleSuccess.WebhookID), NoteStale))
		s.True(hasNote(notes(st, staleCreated.WebhookID), NoteStale))
	})
	s.webhook(4*time.Minute, success("ident-2"))
	s.webhook(5*time.Minute, kycReview(treezor.KYCReviewValidated))
	r := s.run(input())
	s.Equal(StateCompletedValidated, r.State)
	s.Equal(2, r.Attempts)
}

func (s *OnboardingSuite) TestDuplicateWebhooksChangeNothing() {
	first := aborted("ident-1", 3011)
	s.webhook(time.Minute, first)
	s.webhook(90*time.Second, first) // redelivered by Treezor
	s.check(2*time.Minute+time.Second, func(st Status) {
		s.Equal(StateAwaitingUser, st.State)
		s.Equal(2, st.Attempt)
	})
	s.webhook(3*time.Minute, first) // again, after the new attempt began
	kyc := kycReview(treezor.KYCReviewValidated)
	s.webhook(4*time.Minute, success("ident-2"))
	s.webhook(5*time.Minute, kycReview(treezor.KYCReviewPending))
	s.webhook(6*time.Minute, kyc)
	r := s.run(input())
	s.Equal(StateCompletedValidated, r.State)
	s.Equal(2, r.Attempts, "a duplicate outcome never starts another attempt")
	s.Len(s.api.initiations(), 2)
	st := s.status()
	n := notes(st, first.WebhookID)
	s.Equal([]string{NoteApplied + " (result ABORTED, reason 3011)", NoteDuplicate + " (result ABORTED, reason 3011)",
		NoteDuplicate + " (result ABORTED, reason 3011)"}, n)
}

func (s *OnboardingSuite) TestOutOfOrderEventsNeverMoveBackwards() {
	cases := []struct {
		name          string
		first, second func() treezor.Event
		want          State
	}{
		{"processing before created", func() treezor.Event { return processing("ident-1") }, func() treezor.Event { return created("ident-1") }, StateProviderReview},
		{"finalized before created", func() treezor.Event { return success("ident-1") }, func() treezor.Event { return created("ident-1") }, StateKYCReviewPending},
		{"finalized before processing", func() treezor.Event { return success("ident-1") }, func() treezor.Event { return processing("ident-1") }, StateKYCReviewPending},
		{"pending result before processing", func() treezor.Event { return finalized("ident-1", treezor.ResultReviewPending, 0) }, func() treezor.Event { return processing("ident-1") }, StateProviderReview},
		{"final result before pending result", func() treezor.Event { return success("ident-1") }, func() treezor.Event { return finalized("ident-1", treezor.ResultCheckPending, 0) }, StateKYCReviewPending},
		{"aborted before created", func() treezor.Event { return aborted("ident-1", 3011) }, func() treezor.Event { return created("ident-1") }, StateRetryScheduled},
		{"aborted before finalized", func() treezor.Event { return aborted("ident-1", 3011) }, func() treezor.Event { return success("ident-1") }, StateRetryScheduled},
		{"finalized before aborted", func() treezor.Event { return success("ident-1") }, func() treezor.Event { return aborted("ident-1", 3011) }, StateKYCReviewPending},
	}
	for _, tc := range cases {
		s.Run(tc.name, func() {
			first, second := tc.first(), tc.second()
			s.webhook(time.Minute, first)
			s.webhook(2*time.Minute, second)
			s.check(150*time.Second, func(st Status) {
				s.Equal(tc.want, st.State)
				s.Equal(1, st.Attempt)
				s.True(hasNote(notes(st, second.WebhookID), NoteOutOfOrder), "notes %v", notes(st, second.WebhookID))
			})
			s.action(3*time.Minute, UpdateCancel, CancelRequest{})
			s.run(input(func(in *Input) { policy(in).RetryBackoff = time.Hour }))
		})
	}
}

func (s *OnboardingSuite) TestPendingResultThenFinalResultMovesOn() {
	s.webhook(time.Minute, finalized("ident-1", treezor.ResultReviewPending, 0))
	s.expectState(90*time.Second, StateProviderReview)
	s.webhook(2*time.Minute, success("ident-1"))
	s.webhook(3*time.Minute, kycReview(treezor.KYCReviewValidated))
	s.Equal(StateCompletedValidated, s.run(input()).State)
}

func (s *OnboardingSuite) TestWebhooksRacingTheInitiationAreHeld() {
	s.env.OnActivity(activities.InitiateQESName, mock.Anything, mock.Anything).
		Return(activities.InitiateQESOutput{IdentificationID: "ident-1", IdentificationURL: urlForIdent(testUser, "ident-1")}, nil).
		After(time.Minute)
	early, old := created("ident-1"), processing("ident-0")
	s.webhook(10*time.Second, early, old)
	ans := s.requestURL(20 * time.Second)
	s.check(30*time.Second, func(st Status) {
		s.Equal(StateInitiating, st.State)
		s.True(hasNote(notes(st, early.WebhookID), NoteBuffered))
	})
	s.check(2*time.Minute, func(st Status) {
		s.Equal(StateInProgress, st.State, "the held qes.created applies once the id is known")
		s.Equal([]string{NoteBuffered, NoteApplied}, notes(st, early.WebhookID))
		s.Equal([]string{NoteBuffered, NoteStale}, notes(st, old.WebhookID))
	})
	s.webhook(3*time.Minute, success("ident-1"))
	s.webhook(4*time.Minute, kycReview(treezor.KYCReviewValidated))
	r := s.run(input())
	s.Equal(StateCompletedValidated, r.State)
	s.True(ans.done)
	s.NoError(ans.err)
	s.Equal(urlForIdent(testUser, "ident-1"), ans.result.IdentificationURL, "the URL is still the current one")
	s.Equal(StateInProgress, ans.result.State)
}

func (s *OnboardingSuite) TestUserDataIncompleteThenRestart() {
	s.api.initErrs = []error{&treezor.APIError{StatusCode: 428, Op: "initiate QES", MissingFields: []string{"email", "phone"}}}
	ans := s.requestURL(time.Second)
	s.check(time.Minute, func(st Status) {
		s.Equal(StateUserDataIncomplete, st.State)
		s.Equal([]string{"email", "phone"}, st.MissingFields)
		s.Equal(1, st.Attempt)
		s.Equal(ActionCompletePersonalData, s.userStatus().ActionRequired)
	})
	s.action(time.Hour, UpdateRestart, RestartRequest{Reason: "user data completed"})
	again := s.requestURL(time.Hour + time.Minute)
	s.check(time.Hour+time.Minute, func(st Status) {
		s.Equal(StateAwaitingUser, st.State)
		s.Equal(1, st.Attempt, "no identification was created: same attempt")
	})
	s.webhook(2*time.Hour, success("ident-2"))
	s.webhook(3*time.Hour, kycReview(treezor.KYCReviewValidated))

	r := s.run(input())
	s.Equal(StateCompletedValidated, r.State)
	s.Equal(1, r.Attempts)
	s.Equal([]string{"qesflow:42:default-test-run-id:qes:1", "qesflow:42:default-test-run-id:qes:2"}, s.api.initiations(), "a fresh access tag after the restart")

	s.True(ans.done)
	appErr := applicationError(s.T(), ans.err, ErrTypeUserDataIncomplete)
	var fields []string
	s.Require().NoError(appErr.Details(&fields))
	s.Equal([]string{"email", "phone"}, fields)
	s.NoError(again.err)
	s.Equal(urlForIdent(testUser, "ident-2"), again.result.IdentificationURL)
}

func (s *OnboardingSuite) TestUserDataIncompleteExpires() {
	s.api.initErrs = []error{&treezor.APIError{StatusCode: 428, Op: "initiate QES"}}
	r := s.run(input(func(in *Input) { policy(in).UserTimeout = time.Hour }))
	s.Equal(StateExpired, r.State)
	s.Equal(time.Hour, s.elapsed())
	s.Contains(r.Note, "USER_DATA_INCOMPLETE")
}

func (s *OnboardingSuite) TestUpdateSentRightAfterRestartSeesTheRestart() {
	s.api.initErrs = []error{&treezor.APIError{StatusCode: 428, Op: "initiate QES"}}
	ans := &urlAnswer{}
	s.at(time.Minute, func() {
		sendAction(s.T(), s.env, UpdateRestart, RestartRequest{}, nil)
		s.env.UpdateWorkflow(UpdateIdentificationURL, "", &testsuite.TestUpdateCallback{
			OnReject: func(err error) { ans.rejected = err },
			OnComplete: func(v any, err error) {
				ans.done, ans.err = true, err
				if err == nil {
					ans.result = decodeURLResult(s.T(), v)
				}
			},
		})
	})
	s.action(2*time.Minute, UpdateCancel, CancelRequest{})
	s.run(input())
	s.True(ans.done)
	s.Require().NoError(ans.err, "the update answers after the restart that preceded it")
	s.Equal(urlForIdent(testUser, "ident-2"), ans.result.IdentificationURL)
}
