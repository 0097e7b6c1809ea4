// Package workflows holds the QESOnboarding workflow: one workflow per Treezor user, from the
// Qualified eSignature identification to the KYC review. What it does, state by state, and
// why is described once, in docs/workflow.md.
//
// Map of the package:
//
//   - api.go: the workflow's public contract (name, task queue, signal, update and query
//     names, search attributes, Input and Result).
//   - input.go: validation of the Input.
//   - onboarding.go: the workflow function and its event loop.
//   - state.go: moving between states, deadlines and attempts.
//   - snapshot.go: the Snapshot carried across continue-as-new.
//   - signals.go, events.go: webhook signals received, deduplicated and applied.
//   - activitycalls.go: the activities the states start and how their answers apply.
//   - actions.go, update.go: operator actions and the identification-url update.
//   - timers.go: the deadline timer.
//   - policy.go: the reason-code policy and its overrides.
//   - queries.go, userstatus.go, timeline.go, searchattrs.go: what the workflow shows.
//   - continueasnew.go: when and how a run continues as new.
//   - testdata/: the recorded histories the replay tests keep (append-only, MANIFEST).
package workflows
