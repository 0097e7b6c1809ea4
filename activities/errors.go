package activities

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"go.temporal.io/sdk/temporal"

	"github.com/qesflow/qesflow/treezor"
)

// Application error types returned by the activities (temporal.ApplicationError.Type()).
// The workflow branches on them; workflows re-exports the first three under the same names.
const (
	// ErrTypeUserDataIncomplete: Treezor answered 428, required user fields are missing.
	// Non-retryable; details: []string, the missing field names.
	ErrTypeUserDataIncomplete = "UserDataIncomplete"
	// ErrTypeTreezorRejected: Treezor refused the call for good (400, 403, 404, 410, other
	// 4xx, or a malformed answer). Non-retryable; details: RejectionDetails.
	ErrTypeTreezorRejected = "TreezorRejected"
	// ErrTypeTreezorUserUnknown: Treezor answered 404 for the user itself (no such user).
	// Non-retryable; it is about this user, not about the connection to Treezor.
	ErrTypeTreezorUserUnknown = "TreezorUserUnknown"
	// ErrTypeTreezorUnavailable: Treezor could not be reached or answered 5xx/429. Retryable.
	ErrTypeTreezorUnavailable = "TreezorUnavailable"
	// ErrTypeDocumentURLExpired: the storage refused the presigned URL (403/410, it lives
	// 30 s). Retryable: the retry fetches a fresh URL.
	ErrTypeDocumentURLExpired = "DocumentURLExpired"
	// ErrTypeDocumentTooLarge: a downloaded document exceeds the size limit. Non-retryable.
	ErrTypeDocumentTooLarge = "DocumentTooLarge"
	// ErrTypeInvalidArgument: the activity input is unusable (empty ids). Non-retryable.
	ErrTypeInvalidArgument = "InvalidArgument"
)

// RejectionDetails are the details of an ErrTypeTreezorRejected error.
type RejectionDetails struct {
	StatusCode int    `json:"statusCode,omitempty"`
	Code       string `json:"code,omitempty"`
}

// treezorError turns an error of the Treezor client into the ApplicationError the
// workflow sees: message "{op} failed", cause err (whose text has no URL or secret).
// op names the call ("initiate QES for user 42").
func treezorError(op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) {
		return err
	}
	msg := op + " failed"
	var apiErr *treezor.APIError
	if errors.As(err, &apiErr) {
		switch {
		case apiErr.UserDataIncomplete():
			return temporal.NewNonRetryableApplicationError(msg, ErrTypeUserDataIncomplete, err, missingFields(apiErr))
		case !apiErr.Retryable():
			return temporal.NewNonRetryableApplicationError(msg, ErrTypeTreezorRejected, err,
				RejectionDetails{StatusCode: apiErr.StatusCode, Code: apiErr.Code})
		}
	}
	if treezor.IsRetryable(err) {
		return temporal.NewApplicationError(msg, ErrTypeTreezorUnavailable, err)
	}
	if errors.Is(err, treezor.ErrInvalidArgument) {
		return temporal.NewNonRetryableApplicationError(msg, ErrTypeInvalidArgument, err)
	}
	return temporal.NewNonRetryableApplicationError(msg, ErrTypeTreezorRejected, err, RejectionDetails{})
}

// missingFields is the list of user fields a 428 asks for (all required ones when the
// answer named none).
func missingFields(e *treezor.APIError) []string {
	if len(e.MissingFields) > 0 {
		return append([]string(nil), e.MissingFields...)
	}
	return append([]string(nil), treezor.RequiredUserFields...)
}

// invalidInput is the error of an activity called with unusable input.
func invalidInput(format string, args ...any) error {
	return temporal.NewNonRetryableApplicationError(fmt.Sprintf(format, args...), ErrTypeInvalidArgument, nil)
}

// sizeError reports a document larger than the limit.
func sizeError(documentID string, limit int64) error {
	return temporal.NewNonRetryableApplicationError(
		"document "+documentID+" exceeds "+strconv.FormatInt(limit, 10)+" bytes", ErrTypeDocumentTooLarge, nil)
}
