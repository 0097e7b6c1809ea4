package workflows

import "go.temporal.io/sdk/workflow"

// Changes of the workflow code that change the commands it emits. Each is behind
// workflow.GetVersion, so a run that an earlier worker started replays with the code path
// it was recorded with (testdata/v0 holds such histories; TestReplay replays them).
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
)

// leanTask reports whether this run uses changeLeanTask. It is called once, at the start
// of the run, before any command.
func leanTask(ctx workflow.Context) bool {
	return workflow.GetVersion(ctx, changeLeanTask, workflow.DefaultVersion, versionLeanTask) >= versionLeanTask
}
