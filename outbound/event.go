// Package outbound sends qesflow's events to the onboarding backend as Standard Webhooks
// (https://www.standardwebhooks.com): the event model, the signature and the HTTP delivery
// to the configured endpoints. The workflow decides what to send and when; this package
// only says it and signs it.
package outbound

import "time"

// Event types. Each tells the onboarding backend something it can act on, in the
// onboarding scope's vocabulary (the user-safe status): never fraud, compliance or the
// reason of a rejection.
const (
	// TypeStarted: the first identification URL of the onboarding was issued.
	TypeStarted = "onboarding.started"
	// TypeActionRequired: the user must act (a new identification with its URL, personal
	// data to complete or correct, the SEPA transfer).
	TypeActionRequired = "onboarding.action_required"
	// TypeUnderReview: nothing to do for the user; the onboarding is being reviewed.
	TypeUnderReview = "onboarding.under_review"
	// TypeCompleted: the KYC review decided (status APPROVED, or CLOSED when refused).
	TypeCompleted = "onboarding.completed"
	// TypeEnded: the onboarding ended otherwise (status EXPIRED, CANCELLED or CLOSED).
	TypeEnded = "onboarding.ended"
)

// TypeInternalChanged: an internal change the user-safe view does not show (a fraud
// suspicion, a compliance decision, an escalation). Compliance endpoints only.
const TypeInternalChanged = "onboarding.internal_changed"

// Types lists every event type, in the order of an onboarding.
var Types = []string{TypeStarted, TypeActionRequired, TypeUnderReview, TypeCompleted, TypeEnded}

// Event is the JSON body of one delivery, in the Standard Webhooks payload shape: type,
// timestamp (when it happened) and data.
type Event struct {
	Type      string    `json:"type"`
	Timestamp time.Time `json:"timestamp"`
	Data      Data      `json:"data"`
}

// Data is the user-safe view of the onboarding when the event happened (the same fields
// as GET /v1/onboardings/{userId}/status, plus the URL and missing fields to act on).
type Data struct {
	UserID string `json:"userId"`
	// Sequence numbers the onboarding's events from 1, in delivery order.
	Sequence int `json:"sequence"`
	// Status is the user-safe status (workflows.UserStatus*).
	Status  string `json:"status"`
	Message string `json:"message"`
	Attempt int    `json:"attempt"`
	// ActionRequired is what the user must do (workflows.Action*); empty when nothing.
	ActionRequired string `json:"actionRequired,omitempty"`
	// IdentificationURL is the link to show the user (started, and action_required when a
	// new identification was issued).
	IdentificationURL string `json:"identificationUrl,omitempty"`
	// MissingFields are the personal data fields to complete (COMPLETE_PERSONAL_DATA).
	MissingFields []string `json:"missingFields,omitempty"`
	Final         bool     `json:"final"`
}

// Message is one event to deliver with its webhook id, the same on every retry so that
// receivers deduplicate.
type Message struct {
	ID    string `json:"id"`
	Event Event  `json:"event"`
	// Internal is the compliance view at the event; only compliance endpoints receive it
	// (as data.internal). Nil on events queued before it existed.
	Internal *Internal `json:"internal,omitempty"`
	// ComplianceOnly events tell an internal change the user-safe view does not show (a
	// fraud suspicion under an ordinary review): compliance endpoints only.
	ComplianceOnly bool `json:"complianceOnly,omitempty"`
}

// Internal is the compliance view of the onboarding: the internal state, its reason and
// Treezor's KYC review. It names fraud and compliance cases.
type Internal struct {
	State         string `json:"state"`
	Sequence      int    `json:"sequence"` // numbers the compliance endpoint's events from 1
	ReasonCode    int    `json:"reasonCode,omitempty"`
	ReasonMessage string `json:"reasonMessage,omitempty"`
	KYCReview     string `json:"kycReview,omitempty"`
	Escalated     bool   `json:"escalated,omitempty"`
}
