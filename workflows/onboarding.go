package workflows

import (
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/workflow"
)

// onboarding is one run of the QESOnboarding workflow: its input, resolved policy,
// state, and what is in flight (activity, timer).
type onboarding struct {
	in     Input
	policy PolicyOverride
	st     Snapshot
	seen   map[string]struct{} // index of st.Seen

	ch    channels
	act   *running
	timer *deadlineTimer
	// fatal is an infrastructure failure that ends the run with an error.
	fatal error

	// lean: this run uses changeLeanTask (see versions.go); quietActivity: its version 2.
	lean          bool
	quietActivity bool
	published     *searchAttrs
	shownDetails  string
	now           func() time.Time
	logger        log.Logger
}

// QESOnboarding takes one Treezor user through QES identification and the KYC review
// (see the package documentation). Business outcomes end it with a Result; an error
// means invalid input or an infrastructure failure.
func QESOnboarding(ctx workflow.Context, in Input) (Result, error) {
	o := newOnboarding(ctx, in)
	v := leanVersion(ctx)
	o.lean, o.quietActivity = v >= versionLeanTask, v >= versionQuietActivity
	if err := o.registerQueries(ctx); err != nil {
		return Result{}, fmt.Errorf("register queries: %w", err)
	}
	if err := o.registerUpdate(ctx); err != nil {
		return Result{}, fmt.Errorf("register update: %w", err)
	}
	if err := in.Validate(); err != nil {
		return Result{}, invalidInputError(err)
	}
	o.begin(in.Carry)
	return o.run(ctx)
}

func newOnboarding(ctx workflow.Context, in Input) *onboarding {
	o := &onboarding{
		in:     in,
		policy: resolvePolicy(in.Policy),
		seen:   map[string]struct{}{},
		ch:     newChannels(ctx),
		now:    func() time.Time { return workflow.Now(ctx) },
		logger: log.With(workflow.GetLogger(ctx), "userId", in.UserID),
	}
	o.in.Carry = nil
	o.in.Country = strings.ToUpper(in.Country)
	o.st.State = StateInitiating
	return o
}

// begin starts the first attempt, or resumes the state a previous run carried.
func (o *onboarding) begin(carry *Snapshot) {
	if carry == nil {
		o.newAttempt("onboarding started")
		return
	}
	o.st = *carry
	for _, id := range o.st.Seen {
		o.seen[id] = struct{}{}
	}
	o.logger.Info("Onboarding resumed after continue-as-new", "state", string(o.st.State),
		"attempt", o.st.Attempt, "run", o.st.ContinuedAsNew)
}

// run is the main loop: start what the state needs (activity, deadline timer), wait for
// one thing to happen (a signal, the activity's answer, the timer), apply it, publish.
// A lean run arms the deadline timer and publishes only when nothing else is ready, just
// before it blocks: once per workflow task, whatever the number of events the task applies.
func (o *onboarding) run(ctx workflow.Context) (Result, error) {
	if o.lean {
		o.published = startedWith(ctx)
	} else {
		o.publish(ctx)
	}
	for !o.st.State.Terminal() && o.fatal == nil {
		if o.act == nil && o.continueAsNewDue(ctx) {
			o.drainSignals()
			o.publish(ctx)
			if !o.st.State.Terminal() && workflow.AllHandlersFinished(ctx) {
				o.dropTimer()
				return Result{}, o.continueAsNew(ctx)
			}
			if o.st.State.Terminal() {
				break
			}
		}
		o.startWork(ctx)
		sel := workflow.NewSelector(ctx)
		o.listenSignals(ctx, sel)
		o.listenActivity(ctx, sel)
		if !o.lean {
			o.armTimer(ctx)
		} else if !sel.HasPending() {
			// About to block: the state this task ends in gets its timer and its search
			// attributes, not every state the task passed through (nor, from
			// versionQuietActivity on, a state that only waits for our own activity,
			// unless the run has none of its attributes yet: it was started without them).
			o.armTimer(ctx)
			if o.act == nil || !o.quietActivity || o.published == nil {
				o.publish(ctx)
			}
		}
		o.listenTimer(ctx, sel)
		sel.Select(ctx)
		if !o.lean {
			o.publish(ctx)
		}
	}
	return o.end(ctx)
}

// listenActivity adds the running activity's answer to sel.
func (o *onboarding) listenActivity(ctx workflow.Context, sel workflow.Selector) {
	a := o.act
	if a == nil {
		return
	}
	sel.AddFuture(a.future, func(f workflow.Future) {
		o.act = nil
		a.done(ctx, f)
	})
}

// end stops what is in flight, lets running update handlers answer, records signals that
// arrived too late, and returns the outcome.
func (o *onboarding) end(ctx workflow.Context) (Result, error) {
	o.stopWork()
	if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
		return Result{}, err
	}
	o.drainSignals()
	o.publish(ctx)
	if o.fatal != nil {
		o.logger.Error("Onboarding failed", "state", string(o.st.State), "error", o.fatal)
		return Result{}, o.fatal
	}
	o.logger.Info("Onboarding ended", "state", string(o.st.State), "attempts", o.st.Attempt)
	return o.result(), nil
}
