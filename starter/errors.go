package starter

import (
	"errors"
	"fmt"
	"strings"

	"github.com/qesflow/qesflow/workflows"
)

// Kind classifies a Service error; the HTTP layer maps each kind to one status and problem type.
type Kind int

// Error kinds.
const (
	KindInternal                   Kind = iota // 500: anything unexpected
	KindInvalid                                // 400: bad input; Field names the input
	KindNotFound                               // 404: no onboarding for this user
	KindClosed                                 // 409: the onboarding has ended, a signal cannot reach it
	KindAlreadyValidated                       // 409: the last onboarding ended COMPLETED_VALIDATED
	KindRejected                               // 409: the last onboarding was REJECTED; only an override (compliance) starts again
	KindIdentificationNotAvailable             // 409: the onboarding cannot hand out an identification URL now
	KindUserDataIncomplete                     // 422: Treezor answered 428; MissingFields lists the user fields
	KindProviderRejected                       // 422: Treezor refused the identification request
	KindTimeout                                // 504: Temporal or the workflow did not answer in time
	KindUnavailable                            // 503: Temporal cannot be reached
	KindProviderUnavailable                    // 503: Treezor stayed unreachable for the workflow's retry window
	KindNotApplicable                          // 409: the operator action does not apply to the current state; Current says which
	KindTreezorUserUnknown                     // 422: Treezor does not know the user; the onboarding waits for a restart
)

var kindNames = map[Kind]string{
	KindInternal:                   "internal",
	KindInvalid:                    "invalid-request",
	KindNotFound:                   "not-found",
	KindClosed:                     "onboarding-closed",
	KindAlreadyValidated:           "already-validated",
	KindRejected:                   "override-required", // neutral: the onboarding scope must not learn of a rejection
	KindIdentificationNotAvailable: "identification-not-available",
	KindUserDataIncomplete:         "user-data-incomplete",
	KindProviderRejected:           "provider-rejected",
	KindTimeout:                    "timeout",
	KindUnavailable:                "temporal-unavailable",
	KindProviderUnavailable:        "treezor-unavailable",
	KindNotApplicable:              "action-not-applicable",
	KindTreezorUserUnknown:         "treezor-user-unknown",
}

// String is the kind's stable slug, used in problem types, logs and metrics.
func (k Kind) String() string {
	if n, ok := kindNames[k]; ok {
		return n
	}
	return fmt.Sprintf("kind(%d)", int(k))
}

// Error is what every Service method returns on failure. Its message carries ids and codes
// only (user id, workflow id, field names), never URLs, keys or personal data.
type Error struct {
	Kind       Kind
	Op         string // "start", "status", "details", "restart", "cancel", "compliance-decision"
	UserID     string
	WorkflowID string
	RunID      string

	Field  string // KindInvalid: the offending input ("userId", "redirectUrl", ...)
	Reason string // KindInvalid and others: what is wrong, safe to show

	MissingFields []string          // KindUserDataIncomplete
	LastResult    *workflows.Result // KindAlreadyValidated, KindRejected
	// Current is the onboarding's state when an action was refused (KindNotApplicable) or
	// the state it ended in (KindClosed, when its result is readable), in both views; the
	// HTTP layer shows each caller its own.
	Current *workflows.ActionResult

	Err error // the underlying cause, if any
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Op)
	if e.UserID != "" {
		fmt.Fprintf(&b, " onboarding for user %s", e.UserID)
	}
	b.WriteString(": ")
	b.WriteString(e.Kind.String())
	switch {
	case e.Field != "":
		fmt.Fprintf(&b, ": %s: %s", e.Field, e.Reason)
	case e.Reason != "":
		fmt.Fprintf(&b, ": %s", e.Reason)
	}
	if len(e.MissingFields) > 0 {
		fmt.Fprintf(&b, " (missing %s)", strings.Join(e.MissingFields, ", "))
	}
	if e.Err != nil {
		fmt.Fprintf(&b, ": %v", e.Err)
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// KindOf returns the kind of a Service error, KindInternal for any other error.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return KindInternal
}

func invalid(op, field, reason string) *Error {
	return &Error{Kind: KindInvalid, Op: op, Field: field, Reason: reason}
}

func asError(err error, target **Error) bool { return errors.As(err, target) }
