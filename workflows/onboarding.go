package workflows

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// failedRunError is how a run whose onboarding ended FAILED ends: a non-retryable
// application error (the workflow has no retry policy, and another run would not help)
// whose message names no user data and whose details carry the Result.
func failedRunError(res Result) error {
	return temporal.NewNonRetryableApplicationError("the onboarding failed", ErrTypeOnboardingFailed, nil, res)
}

// FailedResult returns the Result carried by the error of a run that ended FAILED (from
// ChangeRelease on), and whether err is such an error.
func FailedResult(err error) (Result, bool) {
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || appErr.Type() != ErrTypeOnboardingFailed || !appErr.HasDetails() {
		return Result{}, false
	}
	var r Result
	if appErr.Details(&r) != nil {
		return Result{}, false
	}
	return r, true
}

// onboarding is one run of the QESOnboarding workflow: its input, resolved policy,
// state, and what is in flight (activity, timer). Signal, update and activity handlers
// change st; the main loop reacts to what they changed.
type onboarding struct {
	in     Input
	cfg    Config
	policy Policy
	st     Snapshot
	seen   map[string]struct{} // index of st.Seen

	webhooks workflow.ReceiveChannel
	// wake tells the main loop that an update handler changed the state.
	wake  workflow.Channel
	act   *running
	timer *deadlineTimer

	published    *searchAttrs
	shownDetails string
	// acted is set by an accepted operator action until the next publish: the state it
	// led to is published at once, whatever is in flight.
	acted bool
	// payinWallets and identificationIDs are the gates of versions.go.
	payinWallets, identificationIDs bool
	release                         bool // ChangeRelease at releaseDecember or later (versions.go)
	followUp                        bool // ChangeRelease at releaseFollowUp (versions.go)
	localCalls                      bool // ChangeRelease at releaseLocalCalls (versions.go)
	// callAsActivity makes the next Treezor call a regular activity: the local one failed
	// in a way a retry may fix (changeLocalTreezorCalls).
	callAsActivity bool
	// handingOff is set once the ended run hands its events to QESEventDelivery.
	handingOff bool

	metrics client.MetricsHandler // business metrics (metrics.go)
	now     func() time.Time
	logger  log.Logger
}

// QESOnboarding takes one Treezor user through QES identification and the KYC review
// (see the package documentation). Business outcomes end it with a Result; an error
// means invalid input or, from ChangeRelease on, an onboarding that ended FAILED
// (its Result in the error's details).
func QESOnboarding(ctx workflow.Context, in Input) (Result, error) {
	return runOnboarding(ctx, in, Config{})
}

// NewOnboarding is QESOnboarding on a worker with this configuration: register it under
// WorkflowName.
func NewOnboarding(cfg Config) func(workflow.Context, Input) (Result, error) {
	return func(ctx workflow.Context, in Input) (Result, error) { return runOnboarding(ctx, in, cfg) }
}

func runOnboarding(ctx workflow.Context, in Input, cfg Config) (Result, error) {
	o := newOnboarding(ctx, in)
	o.cfg = cfg
	if err := o.registerQueries(ctx); err != nil {
		return Result{}, fmt.Errorf("register queries: %w", err)
	}
	// The update handlers are registered once the state is in place: an update delivered
	// with the first task (one sent again after a continue-as-new) acts on the carried
	// state instead of being overwritten by it.
	o.readRelease(ctx)
	stateFirst := o.release // changeStateBeforeUpdates
	if !stateFirst {
		if err := o.registerUpdates(ctx); err != nil {
			return Result{}, fmt.Errorf("register updates: %w", err)
		}
	}
	if err := in.Validate(); err != nil {
		// The queries of the failed run read as ended.
		o.st.State, o.st.Note = StateFailed, "invalid input"
		return Result{}, invalidInputError(err)
	}
	if in.Carry == nil {
		o.metrics.Counter(MetricStarted).Inc(1)
	}
	o.begin(in.Carry)
	if stateFirst {
		if err := o.registerUpdates(ctx); err != nil {
			return Result{}, fmt.Errorf("register updates: %w", err)
		}
	}
	return o.run(ctx)
}

func newOnboarding(ctx workflow.Context, in Input) *onboarding {
	o := &onboarding{
		in:       in,
		policy:   resolvePolicy(in.Policy),
		seen:     map[string]struct{}{},
		webhooks: workflow.GetSignalChannel(ctx, SignalWebhook),
		wake:     workflow.NewBufferedChannel(ctx, 1),
		now:      func() time.Time { return workflow.Now(ctx) },
		metrics:  metricsHandler(ctx),
		logger:   log.With(workflow.GetLogger(ctx), "userId", in.UserID),
	}
	o.in.Carry = nil
	o.in.Country = strings.ToUpper(in.Country)
	o.st.State = StateInitiating
	return o
}

// begin starts the first attempt, or resumes the state a previous run carried.
func (o *onboarding) begin(carry *Snapshot) {
	if carry == nil {
		prior := o.in.PriorWebhooks
		o.in.PriorWebhooks = nil
		for _, h := range prior[max(0, len(prior)-MaxPriorWebhooks):] {
			if h != "" {
				o.remember("sha256:" + strings.TrimPrefix(h, "sha256:"))
			}
		}
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

// run is the main loop: start what the state needs (an activity), wait for one thing to
// happen (a webhook, an operator action, the activity's answer, the deadline), apply it.
// Just before it blocks, the loop arms the deadline timer and publishes the search
// attributes of the state the workflow task ends in: once per task, whatever the number
// of events the task applied.
func (o *onboarding) run(ctx workflow.Context) (Result, error) {
	o.published = startedWith(ctx)
	o.startOutbound(ctx)
	for !o.st.State.Terminal() {
		if o.act == nil && o.continueAsNewDue(ctx) && workflow.AllHandlersFinished(ctx) && !o.actedInThisTask(ctx) {
			o.drainWebhooks()
			if o.st.State.Terminal() {
				break
			}
			o.publish(ctx)
			return Result{}, o.continueAsNew(ctx)
		}
		o.startWork(ctx)
		sel := workflow.NewSelector(ctx)
		o.listen(ctx, sel)
		if !sel.HasPending() {
			o.armTimer(ctx)
			if o.publishDue() {
				o.emitEvent()
				o.publish(ctx)
			}
		}
		o.listenTimer(ctx, sel)
		if o.followUp { // changeActionAfterDelivered
			// Blocked in Await rather than in Select, no receive waits on the signal
			// channel: a webhook delivered stays in its buffer, where an update's
			// validator, which runs before this loop, can count it (mainLoopBehind).
			if err := workflow.Await(ctx, sel.HasPending); err != nil {
				return Result{}, err
			}
		}
		sel.Select(ctx)
	}
	return o.end(ctx)
}

// listen adds the webhook signal, the update handlers' wake-up and the running
// activity's answer to sel.
func (o *onboarding) listen(ctx workflow.Context, sel workflow.Selector) {
	sel.AddReceive(o.webhooks, func(c workflow.ReceiveChannel, _ bool) {
		o.onWebhook(receiveWebhook(ctx, c))
	})
	sel.AddReceive(o.wake, func(c workflow.ReceiveChannel, _ bool) {
		var woken struct{}
		c.Receive(ctx, &woken)
	})
	if a := o.act; a != nil {
		sel.AddFuture(a.future, func(f workflow.Future) {
			o.act = nil
			a.done(ctx, f)
			if o.release {
				// DOCUMENTS entered while this activity ran (a payin webhook during the
				// wallet lookup) could not settle then: it settles now.
				o.documentsSettled()
			}
		})
	}
}

// end stops what is in flight, lets running update handlers answer, records webhooks that
// arrived too late, and returns the outcome.
func (o *onboarding) end(ctx workflow.Context) (Result, error) {
	o.stopWork()
	if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
		return Result{}, err
	}
	o.applyBuffered(false) // webhooks held for an initiation the end interrupted: recorded as ended
	o.drainWebhooks()
	o.handOffEvents(ctx)
	o.drainWebhooks() // webhooks that arrived while the delivery workflow started
	o.publish(ctx)
	o.logger.Info("Onboarding ended", "state", string(o.st.State), "attempts", o.st.Attempt)
	res := o.result()
	if res.State == StateFailed && o.release { // changeFailedRunFails
		return Result{}, failedRunError(res)
	}
	return res, nil
}
