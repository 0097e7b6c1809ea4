package workflows

import (
	"errors"
	"slices"
	"strconv"
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
	activities.ErrTypeTreezorUserUnknown,
	activities.ErrTypeInvalidArgument,
	activities.ErrTypeDocumentTooLarge,
}

// treezorCallOptions retry a Treezor call with backoff while Treezor is unavailable, for
// TreezorRetryWindow; when the window ends the workflow records it and calls again (see
// treezorDown): an infrastructure failure never ends an onboarding or changes its state.
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

// localCallTimeout bounds a Treezor call made as a local activity. The workflow task waits
// for it, and queries and operator actions of the onboarding wait for the task, so a call
// that hangs longer is made again as an activity, which waits outside the task.
const localCallTimeout = 5 * time.Second

// localCallOptions run one attempt of a short Treezor call in the workflow task that needs
// it; a failure a retry may fix (a timeout included) goes on as a regular activity with
// treezorCallOptions (startTreezorCall).
func localCallOptions() workflow.LocalActivityOptions {
	return workflow.LocalActivityOptions{
		StartToCloseTimeout: localCallTimeout,
		RetryPolicy: &temporal.RetryPolicy{
			MaximumAttempts:        1,
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
	case StateSuccess:
		o.startUserLookup(ctx)
	case StateAwaitingSEPA:
		switch {
		case o.st.PayinCheckDue:
			o.startTreezorCall(ctx, activities.ListWalletPayinsName,
				activities.ListWalletPayinsInput{WalletID: o.in.WalletID, WalletIDs: o.listedWallets()}, o.payinsListed)
		case o.payinWallets && o.in.WalletID == "" && !o.st.WalletsChecked:
			o.startTreezorCall(ctx, activities.ListUserWalletsName,
				activities.ListUserWalletsInput{UserID: o.in.UserID}, o.walletsListed)
		}
	case StateDocuments:
		if i := o.nextDocument(); i >= 0 && o.policy.downloadDocuments() {
			o.startDownload(ctx, i)
		}
	case StateKYCReviewPending, StateKYCReviewOverdue:
		switch {
		case !o.st.KYCRequested:
			o.startKYCRequest(ctx)
		case o.st.KYCCheckDue:
			o.startKYCCheck(ctx)
		}
	}
}

// startTreezorCall makes a short Treezor call. From releaseLocalCalls on it runs first as a
// local activity: no activity task, no workflow task for its answer, no events but one
// marker. When that attempt fails in a way a retry may fix, done is not called: the next
// startWork of the same task makes the call again as a regular activity, with the same input
// (access tag included), whose attempts and last failure the Temporal UI shows while Treezor
// is down; its answer goes to done as before.
func (o *onboarding) startTreezorCall(ctx workflow.Context, name string, in any, done func(workflow.Context, workflow.Future)) {
	if !o.localCalls || o.callAsActivity {
		o.callAsActivity = false
		o.startActivity(ctx, o.treezorCallOptions(), name, in, done)
		return
	}
	lctx, cancel := workflow.WithCancel(workflow.WithLocalActivityOptions(ctx, localCallOptions()))
	o.act = &running{future: workflow.ExecuteLocalActivity(lctx, name, in), cancel: cancel,
		done: func(ctx workflow.Context, f workflow.Future) {
			if err := f.Get(ctx, nil); err != nil && retryableFailure(err) {
				o.logger.Info("Treezor call failed as a local activity: retrying it as an activity", "call", name, "error", err)
				o.callAsActivity = true
				return
			}
			done(ctx, f)
		}}
}

// retryableFailure reports whether a retry may fix err: not a refusal about this user, not a
// cancellation.
func retryableFailure(err error) bool {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) && (appErr.NonRetryable() || slices.Contains(nonRetryable, appErr.Type())) {
		return false
	}
	var canceled *temporal.CanceledError
	return !errors.As(err, &canceled)
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

// treezorDown records that a Treezor call failed for a whole retry window (once per
// outage); the state stays and startWork calls again. It reports whether err is such a
// failure: retryable, not an answer about this user.
func (o *onboarding) treezorDown(call string, err error) bool {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) && appErr.NonRetryable() {
		return false
	}
	var canceled *temporal.CanceledError
	if errors.As(err, &canceled) {
		return false
	}
	if !o.st.TreezorDown {
		o.st.TreezorDown = true
		o.record(TimelineEntry{Kind: KindActivity, EventType: call, State: o.st.State,
			Note: "Treezor unavailable for " + o.policy.TreezorRetryWindow.String() + ": still retrying (" + failureText(err) + ")"})
		o.logger.Warn("Treezor unavailable for the whole retry window; retrying", "call", call, "error", err)
	}
	return true
}

// treezorUp clears the outage after a call Treezor answered.
func (o *onboarding) treezorUp(call string) {
	if o.st.TreezorDown {
		o.st.TreezorDown = false
		o.record(TimelineEntry{Kind: KindActivity, EventType: call, State: o.st.State, Note: "Treezor answers again"})
	}
}

func (o *onboarding) startInitiation(ctx workflow.Context) {
	in := activities.InitiateQESInput{
		UserID:      o.in.UserID,
		RedirectURL: o.in.RedirectURL,
		Attempt:     o.st.Attempt,
		AccessTag:   activities.AccessTag(o.in.UserID, onboardingID(ctx), activities.StepQES, o.st.Initiations),
	}
	o.startTreezorCall(ctx, activities.InitiateQESName, in, o.initiated)
}

// initiated handles InitiateQES's answer: the identification, USER_DATA_INCOMPLETE, an
// unknown user (USER_UNKNOWN, restartable), a refusal (terminal FAILED), or Treezor
// unavailable (called again, same access tag).
func (o *onboarding) initiated(ctx workflow.Context, f workflow.Future) {
	var out activities.InitiateQESOutput
	err := f.Get(ctx, &out)
	if o.st.State != StateInitiating {
		return
	}
	var appErr *temporal.ApplicationError
	switch {
	case err == nil:
		o.treezorUp(activities.InitiateQESName)
		o.issued(out.IdentificationID, out.IdentificationURL)
	case o.treezorDown(activities.InitiateQESName, err):
	case errors.As(err, &appErr) && appErr.Type() == activities.ErrTypeUserDataIncomplete:
		o.treezorUp(activities.InitiateQESName)
		var fields []string
		_ = appErr.Details(&fields)
		o.st.InitError = &InitError{Type: ErrTypeUserDataIncomplete, Message: "user data incomplete", MissingFields: fields}
		o.enter(StateUserDataIncomplete, "Treezor needs more user data before a QES")
		o.setDeadline(o.policy.UserTimeout)
		o.applyBuffered(false)
	case errors.As(err, &appErr) && appErr.Type() == activities.ErrTypeTreezorUserUnknown:
		o.treezorUp(activities.InitiateQESName)
		o.st.InitError = &InitError{Type: ErrTypeTreezorUserUnknown, Message: "Treezor does not know the user"}
		o.enter(StateUserUnknown, "Treezor does not know the user: waiting for a restart")
		o.setDeadline(o.policy.UserTimeout)
		o.applyBuffered(false)
	default:
		o.treezorUp(activities.InitiateQESName)
		o.st.InitError = &InitError{Type: ErrTypeTreezorRejected, Message: failureText(err)}
		o.finish(StateFailed, "Treezor refused the QES initiation: "+failureText(err))
		o.applyBuffered(false)
	}
}

// startUserLookup reads the Treezor user after a success: its country decides the SEPA step.
func (o *onboarding) startUserLookup(ctx workflow.Context) {
	o.startTreezorCall(ctx, activities.GetTreezorUserName,
		activities.GetTreezorUserInput{UserID: o.in.UserID}, o.userLookedUp)
}

// userLookedUp takes the country Treezor holds (the caller's when Treezor has none or
// refused the read) and moves on.
func (o *onboarding) userLookedUp(ctx workflow.Context, f workflow.Future) {
	var out activities.GetTreezorUserOutput
	err := f.Get(ctx, &out)
	if o.st.State != StateSuccess {
		return
	}
	if err != nil && o.treezorDown(activities.GetTreezorUserName, err) {
		return
	}
	o.treezorUp(activities.GetTreezorUserName)
	o.st.UserChecked = true
	note := "Treezor user read"
	switch {
	case err != nil:
		note = "Treezor user not readable (" + failureText(err) + "): keeping the country given at the start"
	case out.Country != "":
		o.st.Country = out.Country
		note += " (country " + out.Country + ")"
	}
	o.record(TimelineEntry{Kind: KindActivity, EventType: activities.GetTreezorUserName, State: o.st.State, Note: note})
	o.advance()
}

// payinsListed takes a validated SEPA credit transfer the wallet already received; none
// (or a refused read) keeps waiting for the payin webhooks.
func (o *onboarding) payinsListed(ctx workflow.Context, f workflow.Future) {
	var payins []activities.WalletPayin
	err := f.Get(ctx, &payins)
	if o.st.State != StateAwaitingSEPA {
		return
	}
	if err != nil && o.treezorDown(activities.ListWalletPayinsName, err) {
		return
	}
	o.treezorUp(activities.ListWalletPayinsName)
	o.st.PayinCheckDue = false
	entry := TimelineEntry{Kind: KindActivity, EventType: activities.ListWalletPayinsName, State: o.st.State,
		Note: "no validated SEPA transfer received yet"}
	if err != nil {
		entry.Note = "payins not readable at Treezor (" + failureText(err) + "): waiting for the webhooks"
	}
	for _, p := range payins {
		if o.ownWallet(p.WalletID) && sepaValidated(p.PaymentMethodID, p.Status) {
			o.st.SEPAValidated, o.st.SEPAPayinID = true, p.PayinID
			entry.Note = "validated SEPA transfer " + p.PayinID + " already received"
			break
		}
	}
	o.record(entry)
	if o.st.SEPAValidated {
		o.advance()
	}
}

// walletsListed takes the user's wallets Treezor lists and asks for their payins; none (or
// a refused read) leaves the payin webhooks routed by user id.
func (o *onboarding) walletsListed(ctx workflow.Context, f workflow.Future) {
	var ids []string
	err := f.Get(ctx, &ids)
	if o.st.State != StateAwaitingSEPA {
		return
	}
	if err != nil && o.treezorDown(activities.ListUserWalletsName, err) {
		return
	}
	o.treezorUp(activities.ListUserWalletsName)
	o.st.WalletsChecked = true
	var note string
	if err != nil {
		note = "wallets not readable at Treezor (" + failureText(err) + "): waiting for the payin webhooks"
	} else {
		for _, id := range ids {
			if id != "" && !slices.Contains(o.st.Wallets, id) {
				o.st.Wallets = append(o.st.Wallets, id)
			}
		}
		o.st.PayinCheckDue = len(o.st.Wallets) > 0
		note = strconv.Itoa(len(o.st.Wallets)) + " wallet(s) at Treezor"
	}
	o.record(TimelineEntry{Kind: KindActivity, EventType: activities.ListUserWalletsName, State: o.st.State, Note: note})
}

// listedWallets are the wallets Treezor listed besides the input's.
func (o *onboarding) listedWallets() []string {
	var out []string
	for _, w := range o.st.Wallets {
		if w != o.in.WalletID {
			out = append(out, w)
		}
	}
	return out
}

// knowsWallets reports whether payins are matched by wallet: the input named one, or
// Treezor listed the user's.
func (o *onboarding) knowsWallets() bool { return o.in.WalletID != "" || len(o.st.Wallets) > 0 }

// ownWallet reports whether id is one of the user's wallets.
func (o *onboarding) ownWallet(id string) bool {
	return id != "" && (id == o.in.WalletID || slices.Contains(o.st.Wallets, id))
}

func (o *onboarding) startKYCRequest(ctx workflow.Context) {
	in := activities.RequestKYCReviewInput{
		UserID:    o.in.UserID,
		AccessTag: activities.AccessTag(o.in.UserID, onboardingID(ctx), activities.StepKYCReview, o.st.KYCRequests),
	}
	o.startTreezorCall(ctx, activities.RequestKYCReviewName, in, o.kycRequested)
}

// kycRequested handles RequestKYCReview's answer; the decision normally follows as a
// user.kycreview webhook, but a final answer is final.
func (o *onboarding) kycRequested(ctx workflow.Context, f workflow.Future) {
	var out activities.RequestKYCReviewOutput
	err := f.Get(ctx, &out)
	if o.st.State != StateKYCReviewPending && o.st.State != StateKYCReviewOverdue {
		return
	}
	switch {
	case err == nil:
		o.treezorUp(activities.RequestKYCReviewName)
		o.st.KYCRequested = true
		o.setKYCReview(out.KYCReview, out.KYCLevel)
		o.record(TimelineEntry{Kind: KindActivity, EventType: activities.RequestKYCReviewName, State: o.st.State,
			Note: "KYC review requested (" + out.KYCReview.String() + ")"})
		o.kycDecision()
	case o.treezorDown(activities.RequestKYCReviewName, err):
	default:
		o.finish(StateFailed, "Treezor refused the KYC review request: "+failureText(err))
	}
}

// startKYCCheck reads the user's review at Treezor.
func (o *onboarding) startKYCCheck(ctx workflow.Context) {
	o.startTreezorCall(ctx, activities.GetTreezorUserName,
		activities.GetTreezorUserInput{UserID: o.in.UserID}, o.kycChecked)
}

// kycChecked applies the review as Treezor holds it: the only source of a decision
// besides the review request's own answer.
func (o *onboarding) kycChecked(ctx workflow.Context, f workflow.Future) {
	var out activities.GetTreezorUserOutput
	err := f.Get(ctx, &out)
	if o.st.State != StateKYCReviewPending && o.st.State != StateKYCReviewOverdue {
		return
	}
	if err != nil && o.treezorDown(activities.GetTreezorUserName, err) {
		return
	}
	o.treezorUp(activities.GetTreezorUserName)
	o.st.KYCCheckDue = false
	if err != nil {
		o.record(TimelineEntry{Kind: KindActivity, EventType: activities.GetTreezorUserName, State: o.st.State,
			Note: "KYC review not readable at Treezor (" + failureText(err) + "): waiting"})
		return
	}
	o.setKYCReview(out.KYCReview, out.KYCLevel)
	o.record(TimelineEntry{Kind: KindActivity, EventType: activities.GetTreezorUserName, State: o.st.State,
		Note: "KYC review at Treezor: " + out.KYCReview.String()})
	o.kycDecision()
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
// onboarding (Treezor keeps the documents).
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
	o.documentsSettled()
}

// documentsSettled moves on from DOCUMENTS to the KYC review once Treezor has the QES
// documents: without downloads, at the first document.create (or at the end of the wait
// window); with downloads, at the end of the window, every document announced within it
// being stored (or failed).
func (o *onboarding) documentsSettled() {
	if o.st.State != StateDocuments || o.act != nil {
		return
	}
	switch {
	case o.policy.downloadDocuments() && (!o.st.WindowOver || o.nextDocument() >= 0):
		return
	case !o.policy.downloadDocuments() && len(o.st.Documents) == 0 && !o.st.WindowOver:
		return
	}
	if len(o.st.Documents) == 0 {
		o.record(TimelineEntry{Kind: KindState, State: o.st.State,
			Note: "no QES document within " + o.policy.DocumentWaitWindow.String() + ": requesting the KYC review without"})
	}
	o.st.DocumentsDone = true
	o.advance()
}

// documentWindowOver ends the DOCUMENTS wait window.
func (o *onboarding) documentWindowOver() {
	o.st.WindowOver = true
	o.documentsSettled()
}

// failureText is the innermost message of an activity failure (no URL: the activities
// never put one in an error). The cause is an ApplicationError once the failure went through
// history; the SDK's test environment hands a local activity's cause over as it was returned.
func failureText(err error) string {
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) {
		return err.Error()
	}
	var cause *temporal.ApplicationError
	switch inner := appErr.Unwrap(); {
	case errors.As(inner, &cause) && cause.Message() != "":
		return cause.Message()
	case inner != nil && cause == nil && inner.Error() != "":
		return inner.Error()
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
