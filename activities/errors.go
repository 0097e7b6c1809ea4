package activities

import (
	"errors"
	"fmt"
	"strconv"

	"go.temporal.io/sdk/temporal"

	"github.com/qesflow/qesflow/treezor"
)

// Application error types returned by the activities (temporal.ApplicationError.Type()).
// Only the types about this user branch the workflow (UserDataIncomplete, TreezorRejected,
// TreezorUserUnknown); a failure that says nothing about the user is TreezorUnavailable,
// retried until the configuration or Treezor is fixed.
const (
	// ErrTypeUserDataIncomplete: Treezor answered 428, required user fields are missing.
	// Non-retryable; details: []string, the missing field names.
	ErrTypeUserDataIncomplete = "UserDataIncomplete"
	// ErrTypeTreezorRejected: Treezor refused the call for this user's data (400, 409, 410,
	// another 4xx with a Treezor error body). Non-retryable; details: RejectionDetails.
	ErrTypeTreezorRejected = "TreezorRejected"
	// ErrTypeTreezorUserUnknown: Treezor answered 404 with its error body for a call about
	// the user (no such user). Non-retryable; details: RejectionDetails. It is about this
	// user, not about the connection to Treezor.
	ErrTypeTreezorUserUnknown = "TreezorUserUnknown"
	// ErrTypeTreezorUnavailable: a failure that is ours or Treezor's, not the user's:
	// Treezor unreachable or answering 5xx/429/408, a refused token request, 401 after a
	// token refresh, 403 (scope or feature not granted), a failed TLS handshake (client
	// certificate), or an answer that is not Treezor's (a misconfigured base URL: an HTML
	// 404, a 2xx that does not decode). Retryable; details: UnavailableDetails.
	ErrTypeTreezorUnavailable = "TreezorUnavailable"
	// ErrTypeDocumentURLExpired: the storage refused the presigned URL (403/410, it lives
	// 30 s). Retryable: the retry fetches a fresh URL.
	ErrTypeDocumentURLExpired = "DocumentURLExpired"
	// ErrTypeDocumentTooLarge: a downloaded document exceeds the size limit. Non-retryable.
	ErrTypeDocumentTooLarge = "DocumentTooLarge"
	// ErrTypeInvalidArgument: the activity input is unusable (empty ids). Non-retryable.
	ErrTypeInvalidArgument = "InvalidArgument"
)

// RejectionDetails are the details of an ErrTypeTreezorRejected or
// ErrTypeTreezorUserUnknown error.
type RejectionDetails struct {
	StatusCode int    `json:"statusCode,omitempty"`
	Code       string `json:"code,omitempty"`
}

// UnavailableDetails are the details of an ErrTypeTreezorUnavailable error.
type UnavailableDetails struct {
	// Reason is one of treezor's Reason* values ("tls", "auth", "forbidden", ...).
	Reason     string `json:"reason"`
	StatusCode int    `json:"statusCode,omitempty"`
}

// treezorError turns an error of the Treezor client into the ApplicationError the
// workflow sees: message "{op} failed", cause err (whose text has no URL or secret).
// op names the call ("initiate QES for user 42").
func treezorError(op string, err error) error {
	if err == nil {
		return nil
	}
	kind, reason := treezor.Classify(err)
	if kind == treezor.FailureCanceled {
		return err
	}
	msg := op + " failed"
	var status int
	var code string
	var apiErr *treezor.APIError
	if errors.As(err, &apiErr) {
		status, code = apiErr.StatusCode, apiErr.Code
	}
	switch {
	case kind == treezor.FailureInfra:
		return temporal.NewApplicationErrorWithCause(msg+": Treezor unavailable ("+reason+")", ErrTypeTreezorUnavailable, err,
			UnavailableDetails{Reason: reason, StatusCode: status})
	case reason == treezor.ReasonUserDataIncomplete:
		return temporal.NewNonRetryableApplicationError(msg, ErrTypeUserDataIncomplete, err, missingFields(apiErr))
	case reason == treezor.ReasonUserUnknown:
		return temporal.NewNonRetryableApplicationError(msg+": user unknown at Treezor", ErrTypeTreezorUserUnknown, err,
			RejectionDetails{StatusCode: status, Code: code})
	case reason == treezor.ReasonInvalidArgument:
		return temporal.NewNonRetryableApplicationError(msg, ErrTypeInvalidArgument, err)
	default:
		return temporal.NewNonRetryableApplicationError(msg, ErrTypeTreezorRejected, err,
			RejectionDetails{StatusCode: status, Code: code})
	}
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
