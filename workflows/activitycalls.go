package workflows

import (
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/qesflow/qesflow/activities"
)

// running is the one activity in flight; its completion is handled in the main loop.
type running struct {
	future workflow.Future
	cancel workflow.CancelFunc
	done   func(ctx workflow.Context, f workflow.Future)
}

// nonRetryable are the activity error types a retry cannot fix.
var nonRetryable = []string{
	activities.ErrTypeUserDataIncomplete,
	activities.ErrTypeTreezorRejected,
	activities.ErrTypeInvalidArgument,
	activities.ErrTypeDocumentTooLarge,
}

// treezorCallOptions retries a Treezor call while Treezor is unavailable, for at most
// TreezorRetryWindow.
func (o *onboarding) treezorCallOptions() workflow.ActivityOptions {
	return workflow.ActivityOptions{
		StartToCloseTimeout:    time.Minute,
		ScheduleToCloseTimeout: o.policy.TreezorRetryWindow,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        time.Second,
			BackoffCoefficient:     2,
			MaximumInterval:        5 * time.Minute,
			NonRetryableErrorTypes: nonRetryable,
		},
	}
}

// downloadOptions bound a document download; a failure does not stop the onboarding.
func downloadOptions() workflow.ActivityOptions {
	return workflow.ActivityOptions{
		StartToCloseTimeout:    activities.DownloadWindow + 15*time.Second,
		ScheduleToCloseTimeout: 30 * time.Minute,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        time.Second,
			BackoffCoefficient:     2,
			MaximumInterval:        time.Minute,
			MaximumAttempts:        10,
			NonRetryableErrorTypes: nonRetryable,
		},
	}
}

// startWork schedules the activity the current state needs, if any and none is running.
func (o *onboarding) startWork(ctx workflow.Context) {
	if o.act != nil {
		return
	}
	switch o.st.State {
	case StateInitiating:
		o.startInitiation(ctx)
	case StateDocuments:
		if i := o.nextDocument(); i >= 0 {
			o.startDownload(ctx, i)
		}
	case StateKYCReviewPending, StateKYCReviewOverdue:
		if !o.st.KYCRequested {
			o.startKYCRequest(ctx)
		}
	}
}

func (o *onboarding) startActivity(ctx workflow.Context, opts workflow.ActivityOptions, name string, in any,
	done func(workflow.Context, workflow.Future)) {
	actx, cancel := workflow.WithCancel(workflow.WithActivityOptions(ctx, opts))
	o.act = &running{future: workflow.ExecuteActivity(actx, name, in), cancel: cancel, done: done}
}

// stopWork cancels the running activity and drops the deadline timer (the onboarding ended).
func (o *onboarding) stopWork() {
	if o.act != nil {
		o.act.cancel()
		o.act = nil
	}
	o.dropTimer()
}

func (o *onboarding) startInitiation(ctx workflow.Context) {
	in := activities.InitiateQESInput{
		UserID:      o.in.UserID,
		RedirectURL: o.in.RedirectURL,
		Attempt:     o.st.Attempt,
		AccessTag:   activities.AccessTag(o.in.UserID, onboardingID(ctx), activities.StepQES, o.st.Initiations),
	}
	o.startActivity(ctx, o.treezorCallOptions(), activities.InitiateQESName, in, o.initiated)
}

// initiated handles InitiateQES's answer: the identification, USER_DATA_INCOMPLETE, a
// refusal (terminal FAILED), or Treezor unavailable for the whole retry window (the
// workflow fails: an infrastructure failure, for operators to reset).
func (o *onboarding) initiated(ctx workflow.Context, f workflow.Future) {
	var out activities.InitiateQESOutput
	err := f.Get(ctx, &out)
	if o.st.State != StateInitiating {
		return
	}
	var appErr *temporal.ApplicationError
	switch {
	case err == nil:
		o.issued(out.IdentificationID, out.IdentificationURL)
	case errors.As(err, &appErr) && appErr.Type() == activities.ErrTypeUserDataIncomplete:
		var fields []string
		_ = appErr.Details(&fields)
		o.st.InitError = &InitError{Type: ErrTypeUserDataIncomplete, Message: "user data incomplete", MissingFields: fields}
		o.enter(StateUserDataIncomplete, "Treezor needs more user data before a QES")
		o.wait(o.policy.UserTimeout)
		o.applyBuffered()
	case errors.As(err, &appErr) && appErr.NonRetryable():
		o.st.InitError = &InitError{Type: ErrTypeTreezorRejected, Message: failureText(err)}
		o.applyBuffered()
		o.finish(StateFailed, "Treezor refused the QES initiation: "+failureText(err))
	default:
		o.st.InitError = &InitError{Type: ErrTypeTreezorUnavailable, Message: "Treezor unavailable"}
		o.fatal = fmt.Errorf("initiate QES for user %s: %w", o.in.UserID, err)
	}
}

func (o *onboarding) startKYCRequest(ctx workflow.Context) {
	o.st.KYCRequests++
	in := activities.RequestKYCReviewInput{
		UserID:    o.in.UserID,
		AccessTag: activities.AccessTag(o.in.UserID, onboardingID(ctx), activities.StepKYCReview, o.st.KYCRequests),
	}
	o.startActivity(ctx, o.treezorCallOptions(), activities.RequestKYCReviewName, in, o.kycRequested)
}

// kycRequested handles RequestKYCReview's answer; the decision normally follows as a
// user.kycreview webhook, but a final answer is final.
func (o *onboarding) kycRequested(ctx workflow.Context, f workflow.Future) {
	var out activities.RequestKYCReviewOutput
	err := f.Get(ctx, &out)
	if o.st.State != StateKYCReviewPending && o.st.State != StateKYCReviewOverdue {
		return
	}
	var appErr *temporal.ApplicationError
	switch {
	case err == nil:
		o.st.KYCRequested = true
		o.st.KYCReview, o.st.KYCLevel = out.KYCReview, out.KYCLevel
		o.record(TimelineEntry{Kind: KindActivity, EventType: activities.RequestKYCReviewName, State: o.st.State,
			Note: "KYC review requested (" + out.KYCReview.String() + ")"})
		o.kycDecision()
	case errors.As(err, &appErr) && appErr.NonRetryable():
		o.finish(StateFailed, "Treezor refused the KYC review request: "+failureText(err))
	default:
		o.fatal = fmt.Errorf("request KYC review for user %s: %w", o.in.UserID, err)
	}
}

// nextDocument is the index of the first document not downloaded yet, or -1.
func (o *onboarding) nextDocument() int {
	for i, d := range o.st.Documents {
		if !d.Done {
			return i
		}
	}
	return -1
}

func (o *onboarding) startDownload(ctx workflow.Context, i int) {
	in := activities.DownloadInput{UserID: o.in.UserID, DocumentID: o.st.Documents[i].DocumentID}
	o.startActivity(ctx, downloadOptions(), activities.DownloadQESDocumentName, in,
		func(ctx workflow.Context, f workflow.Future) { o.downloaded(ctx, i, f) })
}

// downloaded records one document download; a failure is recorded and does not stop the
// onboarding (Treezor keeps the documents). When none is left, the KYC review follows.
func (o *onboarding) downloaded(ctx workflow.Context, i int, f workflow.Future) {
	var out activities.DownloadOutput
	err := f.Get(ctx, &out)
	doc := &o.st.Documents[i]
	doc.Done = true
	note := "document " + doc.DocumentID + " stored"
	if err != nil {
		doc.Error = failureText(err)
		note = "document " + doc.DocumentID + " download failed"
	} else {
		doc.SHA256, doc.Size, doc.StoredAs = out.SHA256, out.Size, out.StoredAs
	}
	o.record(TimelineEntry{Kind: KindActivity, EventType: activities.DownloadQESDocumentName, State: o.st.State, Note: note})
	if o.st.State == StateDocuments && o.nextDocument() < 0 {
		o.st.DocumentsDone = true
		o.advance()
	}
}

// failureText is the innermost message of an activity failure (no URL: the activities
// never put one in an error).
func failureText(err error) string {
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) {
		return err.Error()
	}
	var cause *temporal.ApplicationError
	if errors.As(appErr.Unwrap(), &cause) && cause.Message() != "" {
		return cause.Message()
	}
	return appErr.Message()
}

// onboardingID names this onboarding in Treezor access tags: the first run id, which
// continue-as-new keeps, so tags stay stable within one onboarding and differ between two
// onboardings of the same user. (The SDK's test environment leaves FirstRunID empty.)
func onboardingID(ctx workflow.Context) string {
	info := workflow.GetInfo(ctx)
	if info.FirstRunID != "" {
		return info.FirstRunID
	}
	return info.WorkflowExecution.RunID
}
