package workflows

import "go.temporal.io/sdk/workflow"

// Changes of the workflow code that change the commands it emits. Each is behind
// workflow.GetVersion, so a run that an earlier worker started replays with the code path
// it was recorded with (testdata/v0 and testdata/v1 hold such histories; TestReplay replays them).
const (
	// changeLeanTask makes every workflow task cheaper for the server:
	//   - the search attributes are upserted once per workflow task, just before the
	//     workflow blocks, and only where they differ from the attributes the run already
	//     has (the starter sets the initial ones, see StartSearchAttributes). Before, every
	//     event applied upserted, so a task that applied three webhooks upserted three
	//     times; each upsert is one write of the visibility row (with its indexes) while the
	//     run is open.
	//   - the deadline timer is set just before the workflow blocks too, for the state the
	//     task ends in, and replaced only when that deadline is earlier than the running
	//     timer. A deadline that moves later (or goes away) keeps the running timer; when
	//     that fires before the deadline, the workflow sets a timer for the rest. Before,
	//     every state change cancelled the timer and started a new one, each start being a
	//     timer task written to the store.
	//
	// The state, its deadlines and the search attribute values are the same in both
	// versions; only the number of upserts and timers differs.
	changeLeanTask  = "lean-task"
	versionLeanTask = workflow.Version(1)
	// versionQuietActivity (version 2 of changeLeanTask) also holds the upsert back while
	// one of the workflow's own activities is in flight (a Treezor API call: initiate the
	// identification, request the KYC review, download documents). The attributes are
	// published at the next point where the workflow waits for the outside world (a
	// webhook, the user, a deadline), with the state the activity's answer led to. The
	// state a task passes through on its way to an activity is not worth a visibility
	// write of its own: the activity usually answers within a second, and while it does
	// not (Treezor down, retries), the Temporal UI shows it as a pending activity with
	// its attempt count and last failure, and the state query answers with the exact
	// state. A happy-path onboarding upserts once less (KYC_REVIEW_PENDING and the
	// review's PENDING status go out together). It also leaves the deadline timer alone
	// when the run closes (ends or continues as new) instead of cancelling it: closing
	// discards it anyway. Being version 2 of the same change ID costs no second marker or
	// TemporalChangeVersion upsert.
	versionQuietActivity = workflow.Version(2)
)

// leanVersion is the version of changeLeanTask this run uses. It is called once, at the
// start of the run, before any command.
func leanVersion(ctx workflow.Context) workflow.Version {
	return workflow.GetVersion(ctx, changeLeanTask, workflow.DefaultVersion, versionQuietActivity)
}
