package workflows

import (
	"slices"
	"strings"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// registerUpdates registers the identification-url update and the operator actions.
// An operator action's validator refuses it, with ErrTypeNotApplicable and the current
// state, where it means nothing: the refusal is never written to the history. An
// accepted action changes the state at once and answers the state it led to.
//
// From releaseFollowUp on, an action acts on the state after everything its workflow task
// delivered before it (webhooks, an activity's answer, the deadline): the validator
// cannot see those applied (the SDK runs it before the main loop), so where it would
// refuse while they wait it accepts, and the handler, once the main loop has applied
// them, applies the action or refuses it (ErrTypeNotApplicable, then in the history).
func (o *onboarding) registerUpdates(ctx workflow.Context) error {
	if err := o.registerIdentificationURL(ctx); err != nil {
		return err
	}
	if err := registerAction(ctx, o, UpdateRestart, "starts the next attempt where the onboarding waits for one",
		o.restartRefusal, o.applyRestart); err != nil {
		return err
	}
	if err := registerAction(ctx, o, UpdateCancel, "ends a running onboarding",
		o.cancelRefusal, o.applyCancel); err != nil {
		return err
	}
	return registerAction(ctx, o, UpdateComplianceDecision, "clears or rejects a fraud suspicion under compliance review",
		o.complianceRefusal, o.applyComplianceDecision)
}

// registerAction registers one operator action: refusal says why it does not apply (""
// when it does), apply changes the state.
func registerAction[Req any](ctx workflow.Context, o *onboarding, name, description string,
	refusal func(Req) string, apply func(Req)) error {
	return workflow.SetUpdateHandlerWithOptions(ctx, name,
		func(ctx workflow.Context, req Req) (ActionResult, error) {
			if o.followUp { // changeActionAfterDelivered
				// What the task delivered before the action (a webhook, an activity's
				// answer, the deadline) is applied first: the action acts on that state.
				if err := yieldToMainLoop(ctx); err != nil {
					return ActionResult{}, err
				}
			}
			// Reachable only when the validator deferred its decision (followUp).
			if why := refusal(req); why != "" {
				return ActionResult{}, o.notApplicable(name, why)
			}
			apply(req)
			o.acted = true
			o.wake.SendAsync(struct{}{})
			return o.actionResult(name), nil
		},
		workflow.UpdateHandlerOptions{
			Validator: func(_ workflow.Context, req Req) error {
				why := refusal(req)
				if why == "" || (o.followUp && o.mainLoopBehind()) { // changeActionAfterDelivered
					// A refusal read on a state the task has not caught up with yet is
					// decided by the handler, once the main loop has applied it.
					return nil
				}
				return o.notApplicable(name, why)
			},
			Description: description,
		})
}

// mainLoopBehind reports whether the current workflow task delivered something the main
// loop has not applied yet: a webhook not yet received, the running activity's answer, the
// deadline timer. The SDK runs an update's validator before the main loop in a task, so
// the state it reads is then behind what the server ordered before the update.
func (o *onboarding) mainLoopBehind() bool {
	return o.webhooks.Len() > 0 ||
		(o.act != nil && o.act.future.IsReady()) ||
		(o.timer != nil && o.timer.future.IsReady())
}

// notApplicable is the refusal of an action, with the current state in its details.
func (o *onboarding) notApplicable(action, why string) error {
	return temporal.NewApplicationError(action+" does not apply: "+why, ErrTypeNotApplicable, o.actionResult(action))
}

func (o *onboarding) actionResult(action string) ActionResult {
	return ActionResult{UserID: o.in.UserID, Action: action, State: o.st.State, Attempt: o.st.Attempt, User: o.userStatus()}
}

// restartRefusal: a restart applies where the onboarding waits for one:
// USER_DATA_INCOMPLETE and USER_UNKNOWN (same attempt: no identification was created),
// WAITING_FOR_USER and RETRY_SCHEDULED (the next attempt, at once).
func (o *onboarding) restartRefusal(RestartRequest) string {
	switch o.st.State {
	case StateUserDataIncomplete, StateUserUnknown, StateWaitingForUser, StateRetryScheduled:
		return ""
	}
	return "the onboarding does not wait for a restart in state " + string(o.st.State)
}

func (o *onboarding) applyRestart(req RestartRequest) {
	note := "restart"
	if r := strings.TrimSpace(req.Reason); r != "" {
		note += ": " + r
	}
	o.recordAction(UpdateRestart, note)
	switch o.st.State {
	case StateUserDataIncomplete, StateUserUnknown:
		o.beginInitiation("restart after the user data was completed (same attempt)")
	default:
		o.newAttempt("restart: new attempt")
	}
}

// cancelRefusal: a cancel applies to any onboarding that has not ended.
func (o *onboarding) cancelRefusal(CancelRequest) string {
	if o.st.State.Terminal() {
		return "the onboarding has ended in state " + string(o.st.State)
	}
	return ""
}

func (o *onboarding) applyCancel(req CancelRequest) {
	o.recordAction(UpdateCancel, "cancel")
	note := "cancelled by an operator"
	if r := strings.TrimSpace(req.Reason); r != "" {
		note += ": " + r
	}
	o.finish(StateOperatorCancelled, note)
}

// complianceRefusal: a decision applies under compliance review only, and must be
// "clear" or "reject".
func (o *onboarding) complianceRefusal(d ComplianceDecision) string {
	switch {
	case o.st.State != StateComplianceReview:
		return "the onboarding is not under compliance review (state " + string(o.st.State) + ")"
	case normalizeDecision(d.Decision) != DecisionClear && normalizeDecision(d.Decision) != DecisionReject:
		return `the decision must be "clear" or "reject"`
	}
	return ""
}

// applyComplianceDecision applies compliance's verdict on a fraud suspicion. "clear"
// grants a new attempt that does not count against MaxAttempts; "reject" ends the
// onboarding.
func (o *onboarding) applyComplianceDecision(d ComplianceDecision) {
	decision := normalizeDecision(d.Decision)
	o.recordDecision(decision, d)
	o.st.ComplianceNote, o.st.Escalated, o.st.Escalations = d.Note, false, 0
	for _, id := range append(slices.Clone(o.st.Identifications), o.st.IdentificationID) {
		if id != "" && !slices.Contains(o.st.Decided, id) {
			o.st.Decided = append(o.st.Decided, id)
		}
	}
	if decision == DecisionClear {
		o.st.BonusAttempts++
		o.newAttempt("compliance cleared the suspicion: new attempt")
		return
	}
	o.finish(StateRejected, "rejected by compliance")
}

func normalizeDecision(d string) string { return strings.ToLower(strings.TrimSpace(d)) }
