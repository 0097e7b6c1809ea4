package starter

import (
	"context"
	"errors"
	"net/http"

	"go.uber.org/zap"

	"github.com/qesflow/qesflow/treezor"
	"github.com/qesflow/qesflow/workflows"
)

// TreezorUsers reads a Treezor user (GET /v1/users/{userId}); *treezor.Client satisfies it.
type TreezorUsers interface {
	GetUser(ctx context.Context, userID string) (treezor.User, error)
}

// checkTreezorKYC applies the already-validated rule from Treezor's own record when Temporal
// has no run to tell: no run is visible for the user (never started, or retention deleted
// it), or the last run's history is gone. A user whose kycReview is VALIDATED gets
// KindAlreadyValidated, whatever retention did. A REFUSED review lets a new onboarding start,
// as a run that ended COMPLETED_REFUSED does. A user Treezor does not know is left to the
// workflow (its first Treezor call reports it); Treezor unreachable is KindProviderUnavailable,
// so that no validated user is onboarded twice while Treezor cannot be asked.
func (s *Service) checkTreezorKYC(ctx context.Context, op, userID, wid string) error {
	if s.treezor == nil {
		return nil
	}
	user, err := s.treezor.GetUser(ctx, userID)
	if err != nil {
		var apiErr *treezor.APIError
		if errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusNotFound {
			return nil
		}
		s.log.Warn("cannot read the user's KYC review at Treezor before starting", zap.String("userId", userID), zap.Error(err))
		return &Error{Kind: KindProviderUnavailable, Op: op, UserID: userID, WorkflowID: wid,
			Reason: "Treezor could not be asked for the user's KYC review", Err: err}
	}
	if user.KYCReview == treezor.KYCReviewValidated {
		return &Error{Kind: KindAlreadyValidated, Op: op, UserID: userID, WorkflowID: wid,
			LastResult: &workflows.Result{UserID: userID, State: workflows.StateCompletedValidated, KYCReview: user.KYCReview},
			Reason:     "Treezor reports the user's KYC review validated"}
	}
	return nil
}
