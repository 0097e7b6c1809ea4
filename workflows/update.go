package workflows

import (
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// registerIdentificationURL registers the identification-url update.
//
// The update first lets the main loop apply the signals delivered with it (a restart
// signal and the update can arrive in the same workflow task), then waits while the
// onboarding is INITIATING (InitiateQES has not answered), then answers:
//   - AWAITING_USER, IN_PROGRESS, PROVIDER_REVIEW: the current identification's URL (a
//     qes.created webhook can race InitiateQES's answer: the URL is still the current one);
//   - USER_DATA_INCOMPLETE: an ErrTypeUserDataIncomplete error, details: missing fields;
//   - the initiation was refused (FAILED): an ErrTypeTreezorRejected error;
//   - an ended onboarding, whatever its end state (REJECTED, CANCELLED, EXPIRED, ...): an
//     ErrTypeNotAvailable error, so that no answer of the onboarding scope reveals how it
//     ended (a compliance rejection applied in the same task must not leak);
//   - any other non-terminal state (RETRY_SCHEDULED, WAITING_FOR_USER, COMPLIANCE_REVIEW,
//     AWAITING_SEPA, KYC_REVIEW_PENDING, ...): the state and attempt with an empty URL and
//     no error: the user has no identification to open right now.
//
// The validator rejects the update with ErrTypeNotAvailable once the onboarding has
// ended, so a caller never waits on a finished run.
func (o *onboarding) registerIdentificationURL(ctx workflow.Context) error {
	return workflow.SetUpdateHandlerWithOptions(ctx, UpdateIdentificationURL,
		func(ctx workflow.Context) (IdentificationURLResult, error) {
			if err := yieldToMainLoop(ctx); err != nil {
				return IdentificationURLResult{}, err
			}
			if err := workflow.Await(ctx, o.identificationSettled); err != nil {
				return IdentificationURLResult{}, err
			}
			return o.identificationURL()
		},
		workflow.UpdateHandlerOptions{
			Validator:   o.validateIdentificationURL,
			Description: "returns the identification URL of the current attempt (waits while initiating)",
		})
}

// yieldToMainLoop lets the main loop run once before the update looks at the state. An
// update handler runs before the workflow's main coroutine in a workflow task, so a
// restart signal sent just before the update, delivered in the same task, would otherwise
// not be applied yet. The first check of the condition fails; the dispatcher runs the main
// loop and then checks again (a new coroutine always gets a second pass).
func yieldToMainLoop(ctx workflow.Context) error {
	first := true
	return workflow.Await(ctx, func() bool {
		if first {
			first = false
			return false
		}
		return true
	})
}

// identificationSettled reports whether the update can answer: the initiation is over.
func (o *onboarding) identificationSettled() bool {
	return o.st.State != StateInitiating
}

// validateIdentificationURL rejects the update when the onboarding has ended.
func (o *onboarding) validateIdentificationURL(ctx workflow.Context) error {
	if o.st.State.Terminal() {
		return o.endedError()
	}
	return nil
}

// endedError answers the identification-url update of an ended onboarding. It does not
// name the end state: the onboarding scope must not learn of a rejection.
func (o *onboarding) endedError() error {
	return temporal.NewApplicationError("the onboarding has ended", ErrTypeNotAvailable)
}

// identificationURL answers the update in the current state.
func (o *onboarding) identificationURL() (IdentificationURLResult, error) {
	if o.st.State.Terminal() && !(o.st.State == StateFailed && o.st.InitError != nil) {
		return IdentificationURLResult{}, o.endedError()
	}
	res := IdentificationURLResult{UserID: o.in.UserID, Attempt: o.st.Attempt, State: o.st.State}
	if o.st.IdentificationURL != "" && o.st.Step < stepOutcome {
		res.IdentificationID, res.IdentificationURL = o.st.IdentificationID, o.st.IdentificationURL
		return res, nil
	}
	if e := o.st.InitError; e != nil && (o.st.State == StateUserDataIncomplete || o.st.State == StateUserUnknown || o.st.State == StateFailed) {
		if e.Type == ErrTypeUserDataIncomplete {
			return IdentificationURLResult{}, temporal.NewApplicationError(e.Message, e.Type, e.MissingFields)
		}
		return IdentificationURLResult{}, temporal.NewApplicationError(e.Message, e.Type)
	}
	return res, nil
}
