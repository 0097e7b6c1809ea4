package workflows

import (
	"time"

	"go.temporal.io/sdk/workflow"
)

// deadlineTimer is the one timer of the current state's deadline.
type deadlineTimer struct {
	at     time.Time
	future workflow.Future
	cancel workflow.CancelFunc
}

// armTimer makes the running timer match Snapshot.Deadline: a new deadline cancels the
// old timer. A lean run keeps a running timer that fires no later than the deadline (or
// when there is none); listenTimer then re-arms it for the rest. The deadline is absolute,
// so it survives continue-as-new unchanged.
func (o *onboarding) armTimer(ctx workflow.Context) {
	at := o.st.Deadline
	if o.timer != nil && o.timer.at.Equal(at) {
		return
	}
	if o.lean && o.timer != nil && (at.IsZero() || at.After(o.timer.at)) {
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

// dropTimer forgets the deadline timer as the run closes (it ends or continues as new).
// From versionQuietActivity on, the timer is not cancelled: closing the run discards its
// timers, so a TimerCanceled event would be a write for nothing.
func (o *onboarding) dropTimer() {
	if o.quietActivity {
		o.timer = nil
		return
	}
	o.disarmTimer()
}

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
			return // cancelled, or the deadline moved meanwhile (a lean run re-arms for the rest)
		}
		o.st.Deadline = time.Time{}
		o.onDeadline()
	})
}

// deadlineReached reports whether timer t, which fired, ends the current state's deadline.
// In a lean run a timer can outlive the deadline it was set for: it counts when it was set
// for the current deadline or that deadline has passed.
func (o *onboarding) deadlineReached(t *deadlineTimer) bool {
	d := o.st.Deadline
	if t.at.Equal(d) {
		return true
	}
	return o.lean && !d.IsZero() && !o.now().Before(d)
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
		if o.act == nil { // a download in flight moves on when it ends
			o.st.DocumentsDone = true
			o.record(TimelineEntry{Kind: KindState, State: s, Note: "no QES document within " + o.policy.DocumentWaitWindow.String()})
			o.advance()
		}
	case StateKYCReviewPending:
		o.enter(StateKYCReviewOverdue, "no KYC decision within "+o.policy.KYCReviewTimeout.String()+": escalated, still waiting")
	case StateComplianceReview:
		o.st.Escalated = true
		o.record(TimelineEntry{Kind: KindState, State: s, Note: "no compliance decision within " + o.policy.ComplianceTimeout.String() + ": escalated, still waiting"})
	}
}
