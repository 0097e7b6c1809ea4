package workflows

// Change ids of workflow.GetVersion gates. Each names a change to the commands the
// workflow issues; runs recorded before it replay with workflow.DefaultVersion.
const (
	// changeStateBeforeUpdates: the update handlers are registered after the state is
	// set up, so an operator action delivered with a run's first task (one that reached a
	// run as it continued as new, sent again to the next) is not overwritten by the
	// carried state.
	changeStateBeforeUpdates = "state-before-updates"
	// changeNoContinueAfterAction: a run does not continue as new in the workflow task
	// that applied an operator action.
	changeNoContinueAfterAction = "no-continue-after-action"
)
