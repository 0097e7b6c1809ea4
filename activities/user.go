package activities

import (
	"context"
	"strings"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/qesflow/qesflow/treezor"
)

// GetTreezorUserName is the registered name of GetTreezorUser.
const GetTreezorUserName = "GetTreezorUser"

// UserReader reads a Treezor user; *treezor.Client implements it.
type UserReader interface {
	GetUser(ctx context.Context, userID string) (treezor.User, error)
}

var _ UserReader = (*treezor.Client)(nil)

// GetTreezorUserInput is the input of GetTreezorUser.
type GetTreezorUserInput struct {
	UserID string `json:"userId"`
}

// GetTreezorUserOutput is what the workflow needs of the user: the country (the SEPA step)
// and the KYC review as Treezor holds it (to confirm a decision a webhook announced).
type GetTreezorUserOutput struct {
	Country   string            `json:"country,omitempty"`
	KYCReview treezor.KYCReview `json:"kycReview"`
	KYCLevel  int               `json:"kycLevel,omitempty"`
}

// GetTreezorUser reads the user at Treezor (GET /v1/users/{userId}). Errors: as every
// Treezor call (ErrTypeTreezorUnavailable is retryable).
func (a *Activities) GetTreezorUser(ctx context.Context, in GetTreezorUserInput) (GetTreezorUserOutput, error) {
	if strings.TrimSpace(in.UserID) == "" {
		return GetTreezorUserOutput{}, invalidInput("get Treezor user: user id is required")
	}
	r, ok := a.Treezor.(UserReader)
	if !ok {
		return GetTreezorUserOutput{}, temporal.NewNonRetryableApplicationError(
			"get Treezor user: the Treezor client cannot read users", ErrTypeInvalidArgument, nil)
	}
	u, err := r.GetUser(ctx, in.UserID)
	if err != nil {
		activity.GetLogger(ctx).Warn("Treezor user lookup failed", "userId", in.UserID, "error", err)
		return GetTreezorUserOutput{}, treezorError("get Treezor user "+in.UserID, err)
	}
	return GetTreezorUserOutput{Country: strings.ToUpper(strings.TrimSpace(u.Country)), KYCReview: u.KYCReview, KYCLevel: u.KYCLevel}, nil
}
