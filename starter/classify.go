package starter

import (
	"context"
	"errors"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/qesflow/qesflow/workflows"
)

// healthProbeTimeout bounds the health check that tells a slow Temporal from an absent one.
const healthProbeTimeout = 3 * time.Second

// classify turns an error from Temporal or the workflow into a Service Error.
func (s *Service) classify(op, userID, wid string, err error) *Error {
	e := &Error{Kind: KindInternal, Op: op, UserID: userID, WorkflowID: wid, Err: err}
	var (
		appErr      *temporal.ApplicationError
		unavailable *serviceerror.Unavailable
		deadline    *serviceerror.DeadlineExceeded
		canceled    *serviceerror.Canceled
		updateWait  *client.WorkflowUpdateServiceTimeoutOrCanceledError
		noWorker    *serviceerror.FailedPrecondition
		notReady    *serviceerror.WorkflowNotReady
	)
	switch {
	case errors.As(err, &appErr):
		classifyApplicationError(e, appErr)
	case errIsNotFound(err):
		e.Kind = KindNotFound
		e.Reason = "no onboarding for this user"
	case errors.As(err, &unavailable):
		e.Kind = KindUnavailable
	case errors.As(err, &notReady):
		// Temporal refused the update because the onboarding's last workflow task failed
		// ("unexpected workflow task failure"): the worker retries that task, so the same
		// call succeeds later and nothing was applied.
		e.Kind = KindUnavailable
		e.Reason = "the onboarding cannot take the request right now; repeat the call shortly"
	case errors.As(err, &noWorker):
		// A query while no worker polls the task queue (a worker restarting, say): the
		// onboarding is fine and answers again soon, so the caller repeats the call.
		e.Kind = KindTimeout
		e.Reason = "no worker could answer for the onboarding right now; repeat the call"
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled),
		errors.As(err, &deadline), errors.As(err, &canceled), errors.As(err, &updateWait):
		// Temporal may be down (the SDK retries until the deadline) or the workflow slow.
		e.Kind = KindTimeout
		if !s.temporalHealthy() {
			e.Kind = KindUnavailable
		}
	}
	return e
}

func classifyApplicationError(e *Error, appErr *temporal.ApplicationError) {
	switch appErr.Type() {
	case workflows.ErrTypeUserDataIncomplete:
		e.Kind = KindUserDataIncomplete
		var missing []string
		if appErr.HasDetails() {
			_ = appErr.Details(&missing) // best effort: the kind alone already says what to do
		}
		e.MissingFields = missing
		e.Reason = "Treezor needs more user data before an identification can start"
	case workflows.ErrTypeNotAvailable:
		e.Kind = KindIdentificationNotAvailable
		e.Reason = "the onboarding has just ended; repeat the call to start a new one where allowed"
	case workflows.ErrTypeTreezorRejected:
		e.Kind = KindProviderRejected
		e.Reason = "Treezor refused the identification request"
	case workflows.ErrTypeTreezorUnavailable:
		e.Kind = KindProviderUnavailable
	case workflows.ErrTypeNotApplicable:
		e.Kind = KindNotApplicable
		e.Reason = "the action does not apply to the onboarding's current state"
		var cur workflows.ActionResult
		if appErr.HasDetails() && appErr.Details(&cur) == nil {
			e.Current = &cur
		}
	case workflows.ErrTypeTreezorUserUnknown:
		e.Kind = KindTreezorUserUnknown
		e.Reason = "Treezor does not know the user; restart the onboarding once the user exists"
	case workflows.ErrTypeInvalidInput:
		e.Kind = KindInvalid
		e.Field = "body"
		e.Reason = "the onboarding refused its input"
	}
}

func (s *Service) temporalHealthy() bool {
	ctx, cancel := context.WithTimeout(context.Background(), healthProbeTimeout)
	defer cancel()
	_, err := s.temporal.CheckHealth(ctx, &client.CheckHealthRequest{})
	return err == nil
}
