package activities

import (
	"context"
	"strings"

	"go.temporal.io/sdk/activity"
)

// InitiateQESInput is the input of InitiateQES.
type InitiateQESInput struct {
	UserID      string `json:"userId"`
	RedirectURL string `json:"redirectUrl,omitempty"`
	Attempt     int    `json:"attempt"`
	// AccessTag makes the call idempotent at Treezor (see AccessTag).
	AccessTag string `json:"accessTag"`
}

// InitiateQESOutput is Treezor's identification. IdentificationURL is PII-grade: it is
// handed to the user and never logged.
type InitiateQESOutput struct {
	IdentificationID  string `json:"identificationId"`
	IdentificationURL string `json:"identificationURL"`
}

// InitiateQES starts a QES identification for the user (POST /v1/users/{userId}/qes).
// Errors: ErrTypeUserDataIncomplete (428, details: missing fields), ErrTypeTreezorRejected
// (other refusals), ErrTypeTreezorUnavailable (retryable).
func (a *Activities) InitiateQES(ctx context.Context, in InitiateQESInput) (InitiateQESOutput, error) {
	if strings.TrimSpace(in.UserID) == "" || strings.TrimSpace(in.AccessTag) == "" {
		return InitiateQESOutput{}, invalidInput("initiate QES: user id and access tag are required")
	}
	logger := activity.GetLogger(ctx)
	ident, err := a.Treezor.InitiateQES(ctx, in.UserID, in.RedirectURL, in.AccessTag)
	if err != nil {
		logger.Warn("QES initiation failed", "userId", in.UserID, "attempt", in.Attempt, "error", err)
		return InitiateQESOutput{}, treezorError("initiate QES for user "+in.UserID, err)
	}
	logger.Info("QES initiated", "userId", in.UserID, "attempt", in.Attempt, "identificationId", ident.IdentificationID)
	return InitiateQESOutput{IdentificationID: ident.IdentificationID, IdentificationURL: ident.IdentificationURL}, nil
}
