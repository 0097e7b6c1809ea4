package workflows

import "go.temporal.io/sdk/workflow"

// Change ids of workflow.GetVersion gates (each a change to the commands the workflow
// issues; the histories recorded before it replay at workflow.DefaultVersion).
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
)

// versions reads the gates once, at the start of the run.
func (o *onboarding) versions(ctx workflow.Context) {
	o.payinWallets = workflow.GetVersion(ctx, changeSEPAPayinWallets, workflow.DefaultVersion, 1) >= 1
	o.identificationIDs = workflow.GetVersion(ctx, changeIdentificationIDs, workflow.DefaultVersion, 1) >= 1
}
