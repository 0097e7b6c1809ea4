package workflows

import "go.temporal.io/sdk/workflow"

// continueAsNewDue reports whether the history is long enough to start a fresh run: the
// server suggests it, or the history reached ContinueAsNewAfter events.
func (o *onboarding) continueAsNewDue(ctx workflow.Context) bool {
	info := workflow.GetInfo(ctx)
	return info.GetContinueAsNewSuggested() || info.GetCurrentHistoryLength() >= o.policy.ContinueAsNewAfter
}

// actedInThisTask reports whether an operator action was applied in this workflow task;
// the run then continues as new in a later task. If the server refused to close the run
// (a signal arrived meanwhile), it would fail the task and drop the action with it, after
// the caller's action was applied in memory.
func (o *onboarding) actedInThisTask(ctx workflow.Context) bool {
	return o.acted && o.release // changeNoContinueAfterAction
}

// continueAsNew ends this run and starts the next with the whole state in Input.Carry.
// The caller has drained the pending signals and checked that no activity and no update
// handler is in flight.
func (o *onboarding) continueAsNew(ctx workflow.Context) error {
	carry := o.st
	carry.ContinuedAsNew++
	next := o.in
	next.Carry = &carry
	o.logger.Info("Continuing as new", "attempt", o.st.Attempt, "state", string(o.st.State),
		"historyLength", workflow.GetInfo(ctx).GetCurrentHistoryLength())
	return workflow.NewContinueAsNewError(ctx, WorkflowName, next)
}
