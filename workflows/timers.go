package workflows

import (
	"strconv"
	"time"

	"go.temporal.io/sdk/workflow"
)

// deadlineTimer is the one timer of the current state's deadline.
type deadlineTimer struct {
	at     time.Time
	future workflow.Future
	cancel workflow.CancelFunc
}

// armTimer makes the running timer fire no later than Snapshot.Deadline: an earlier
// deadline replaces the running timer; a later one (or none) keeps it, and when it fires
// before the deadline listenTimer re-arms it for the rest. Each timer started is a write
// to the store, so a deadline that moves later costs nothing until it matters. The
// deadline is absolute, so it survives continue-as-new unchanged.
func (o *onboarding) armTimer(ctx workflow.Context) {
	at := o.st.Deadline
	if o.timer != nil && o.timer.at.Equal(at) {
		return
	}
	if o.timer != nil && (at.IsZero() || at.After(o.timer.at)) {
		return
	}
	o.disarmTimer()
	if at.IsZero() {
		return
	}
	tctx, cancel := workflow.WithCancel(ctx)
	f := workflow.NewTimerWithOptions(tctx, at.Sub(workflow.Now(ctx)), workflow.TimerOptions{
		Summary: string(o.st.State) + " deadline",
	})
	o.timer = &deadlineTimer{at: at, future: f, cancel: cancel}
}

func (o *onboarding) disarmTimer() {
	if o.timer != nil {
		o.timer.cancel()
		o.timer = nil
	}
}

// dropTimer forgets the deadline timer as the run closes (it ends or continues as new)
// without cancelling it: closing the run discards its timers, so a TimerCanceled event
// would be a write for nothing.
func (o *onboarding) dropTimer() { o.timer = nil }

// listenTimer adds the deadline timer to sel.
func (o *onboarding) listenTimer(ctx workflow.Context, sel workflow.Selector) {
	t := o.timer
	if t == nil {
		return
	}
	sel.AddFuture(t.future, func(f workflow.Future) {
		if o.timer == t {
			o.timer = nil
		}
		if err := f.Get(ctx, nil); err != nil || !o.deadlineReached(t) {
			return // cancelled, or the deadline moved meanwhile (the loop re-arms for the rest)
		}
		o.st.Deadline = time.Time{}
		o.onDeadline()
	})
}

// deadlineReached reports whether timer t, which fired, ends the current state's deadline.
// A timer can outlive the deadline it was set for: it counts when it was set for the
// current deadline or that deadline has passed.
func (o *onboarding) deadlineReached(t *deadlineTimer) bool {
	d := o.st.Deadline
	if t.at.Equal(d) {
		return true
	}
	return !d.IsZero() && !o.now().Before(d)
}

// onDeadline is what each state does when its time is up.
func (o *onboarding) onDeadline() {
	switch s := o.st.State; s {
	case StateAwaitingUser:
		o.finish(StateExpired, "the user did not complete the identification within "+o.policy.UserTimeout.String())
	case StateWaitingForUser, StateUserDataIncomplete:
		o.finish(StateExpired, "no restart within "+o.policy.UserTimeout.String()+" in "+string(s))
	case StateInProgress, StateProviderReview:
		o.finish(StateExpired, "no outcome from the provider within "+o.policy.ProviderTimeout.String())
	case StateAwaitingSEPA:
		o.finish(StateExpired, "no validated SEPA payin within "+o.policy.SEPATimeout.String())
	case StateRetryScheduled:
		o.newAttempt("backoff elapsed: new attempt")
	case StateDocuments:
		o.documentWindowOver()
	case StateKYCReviewPending, StateKYCReviewOverdue:
		// Escalated, and Treezor is asked for the review's status: a decision whose
		// webhook was lost is found this way.
		if s == StateKYCReviewPending {
			o.enter(StateKYCReviewOverdue, "no KYC decision within "+o.policy.KYCReviewTimeout.String()+": escalated, asking Treezor")
		} else {
			o.record(TimelineEntry{Kind: KindState, State: s, Note: "still no KYC decision: asking Treezor again"})
		}
		o.st.KYCCheckDue = true
		o.setDeadline(o.policy.KYCReviewTimeout)
	case StateComplianceReview:
		o.st.Escalated = true
		o.st.Escalations++
		o.record(TimelineEntry{Kind: KindState, State: s, Note: "no compliance decision within " +
			(time.Duration(o.st.Escalations) * o.policy.ComplianceTimeout).String() + ": escalated (" +
			strconv.Itoa(o.st.Escalations) + "), still waiting"})
		o.setDeadline(o.policy.ComplianceTimeout)
	}
}
