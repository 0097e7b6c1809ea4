package activities

import (
	"context"
	"strings"

	"go.temporal.io/sdk/activity"

	"github.com/qesflow/qesflow/treezor"
)

// RequestKYCReviewInput is the input of RequestKYCReview.
type RequestKYCReviewInput struct {
	UserID    string `json:"userId"`
	AccessTag string `json:"accessTag"`
}

// RequestKYCReviewOutput is the user's review state right after the request.
type RequestKYCReviewOutput struct {
	KYCReview treezor.KYCReview `json:"kycReview"`
	KYCLevel  int               `json:"kycLevel"`
}

// RequestKYCReview asks Treezor to review the user's KYC (PUT /v1/users/{userId}/Kycreview).
func (a *Activities) RequestKYCReview(ctx context.Context, in RequestKYCReviewInput) (RequestKYCReviewOutput, error) {
	if strings.TrimSpace(in.UserID) == "" || strings.TrimSpace(in.AccessTag) == "" {
		return RequestKYCReviewOutput{}, invalidInput("request KYC review: user id and access tag are required")
	}
	logger := activity.GetLogger(ctx)
	res, err := a.Treezor.RequestKYCReview(ctx, in.UserID, in.AccessTag)
	if err != nil {
		logger.Warn("KYC review request failed", "userId", in.UserID, "error", err)
		return RequestKYCReviewOutput{}, treezorError("request KYC review for user "+in.UserID, err)
	}
	logger.Info("KYC review requested", "userId", in.UserID, "kycReview", res.KYCReview.String())
	return RequestKYCReviewOutput{KYCReview: res.KYCReview, KYCLevel: res.KYCLevel}, nil
}
