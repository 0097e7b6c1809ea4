package workflows

import (
	"fmt"

	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// ChangeRelease is the version gate of the changes made together in this release to the
// commands the workflow issues: state-before-updates, no-continue-after-action,
// sepa-payin-wallets, identification-ids-attribute, failed-run-fails and outbound-events
// below. One marker at the start of each run reads them all; the histories recorded before
// it replay at workflow.DefaultVersion, with none of them.
const ChangeRelease = "release-2026-12"

// The changes ChangeRelease gates.
const (
	// changeStateBeforeUpdates: the update handlers are registered after the state is
	// set up, so an operator action delivered with a run's first task (one that reached a
	// run as it continued as new, sent again to the next) is not overwritten by the
	// carried state.
	changeStateBeforeUpdates = "state-before-updates"
	// changeNoContinueAfterAction: a run does not continue as new in the workflow task
	// that applied an operator action.
	changeNoContinueAfterAction = "no-continue-after-action"
	// changeSEPAPayinWallets: without a wallet in the input, the SEPA step reads the user's
	// wallets at Treezor (ListUserWallets), publishes them (TreezorWalletIds) and matches
	// payins by any of them; a payin without paymentMethodId no longer counts.
	changeSEPAPayinWallets = "sepa-payin-wallets"
	// changeIdentificationIDs: every identification id of the run is published
	// (QESIdentificationIds), so a late QES webhook without userId still routes.
	changeIdentificationIDs = "identification-ids-attribute"
	// changeFailedRunFails: an onboarding that ends FAILED fails the execution, with its
	// Result in the error's details (FailedResult).
	changeFailedRunFails = "failed-run-fails"
	// changeOutboundEvents: the run delivers outbound events (outbound.go) when its worker
	// has an endpoint.
	changeOutboundEvents = "outbound-events"
)

// followUpChanges: the changes of releaseFollowUp (o.followUp). Each change to the commands a run issues from
// here on is named here and gated on o.followUp.
const (
	// changeActionAfterDelivered: an operator action applies after the webhooks, activity
	// answer and timer its workflow task delivered before it (actions.go); the main loop
	// waits in Await, so a delivered webhook stays countable in the signal channel.
	changeActionAfterDelivered = "action-after-delivered"
	// changeListAttributes: the published search attributes carry the country (QESCountry)
	// and the time of the change (QESUpdatedAt), for the list API's filters.
	changeListAttributes = "list-attributes"
	// changeComplianceEvents: the event configuration is read whole in the one side effect,
	// and with a compliance endpoint every event carries the internal view, and internal
	// changes the user-safe view does not show are queued for compliance endpoints only.
	changeComplianceEvents = "compliance-events"
	// changeDrainEventsAtEnd: an ended onboarding waits up to EventDrainWait for its
	// pending events before it hands the rest to a QESEventDelivery workflow.
	changeDrainEventsAtEnd = "drain-events-at-end"
	// changeStartedOnce: the view the started event told is not told again as
	// action_required when a later task settles with nothing changed for the user.
	changeStartedOnce = "started-once"
)

// localCallsChanges: the changes of releaseLocalCalls (o.localCalls).
const (
	// changeLocalTreezorCalls: the short Treezor calls (InitiateQES, GetTreezorUser,
	// RequestKYCReview, ListUserWallets, ListWalletPayins) run first as local activities, in
	// the workflow task that needs them; one that fails in a way a retry may fix is made
	// again as a regular activity, whose attempts the Temporal UI shows (activitycalls.go).
	changeLocalTreezorCalls = "local-treezor-calls"
	// changeHoldUnknownIdentifications: a QES event for an identification the run has not
	// issued is held, in any state, until the next identification is issued (then applied
	// if it is that one, else stale) or the run ends. A local activity's call reaches
	// Treezor before its result is in the history: a worker that dies in that task leaves the
	// identification's webhooks ahead of the initiation that the next task makes again.
	changeHoldUnknownIdentifications = "hold-unknown-identifications"
	// changeEarlyKYCDecisionChecked: a final user.kycreview that arrives before the review
	// was requested (the request's result not yet in the history, for the same reason) is
	// confirmed with Treezor once the review is requested, instead of recorded only.
	changeEarlyKYCDecisionChecked = "early-kyc-decision-checked"
)

// The versions of ChangeRelease. A later set of changes raises the maximum instead of adding
// a marker: a run records one version, and every change up to it is on.
const (
	// releaseDecember is the first set of changes, listed above.
	releaseDecember workflow.Version = 1
	// releaseFollowUp is the second set: the changes listed in followUpChanges.
	releaseFollowUp workflow.Version = 2
	// releaseLocalCalls is the third set: the changes listed in localCallsChanges.
	releaseLocalCalls workflow.Version = 3
)

// LatestRelease is the newest version of ChangeRelease this code knows: the one the runs a
// worker starts record unless it is told otherwise (ReleasePreference).
const LatestRelease = int(releaseLocalCalls)

// ReleasePreference is the worker option that makes the runs the worker starts (and the runs
// they continue as) record release of ChangeRelease instead of LatestRelease. During a
// rolling upgrade, workers of the new code run at the release of the old one until every
// worker runs the new code, so that no worker ever gets a run recorded at a release its code
// does not know. 0 means LatestRelease (nil: the SDK's default, the newest). A run keeps the
// release it recorded first.
func ReleasePreference(release int) (sdkworker.PreferredVersionProvider, error) {
	switch {
	case release == 0 || release == LatestRelease:
		return nil, nil
	case release < 1 || release > LatestRelease:
		return nil, fmt.Errorf("workflow release %d: this code knows releases 1 to %d", release, LatestRelease)
	}
	return func(in sdkworker.PreferredVersionProviderInput) *sdkworker.VersionPreference {
		if in.ChangeID != ChangeRelease {
			return nil
		}
		return &sdkworker.VersionPreference{Version: workflow.Version(release)}
	}, nil
}

// readRelease reads ChangeRelease, once, before anything that depends on it (the update
// handlers' registration does).
func (o *onboarding) readRelease(ctx workflow.Context) {
	v := workflow.GetVersion(ctx, ChangeRelease, workflow.DefaultVersion, releaseLocalCalls)
	o.release, o.followUp, o.localCalls = v >= releaseDecember, v >= releaseFollowUp, v >= releaseLocalCalls
	o.payinWallets, o.identificationIDs = o.release, o.release
}
