package workflows

import (
	"time"

	"github.com/qesflow/qesflow/treezor"
)

// Snapshot is the whole state of one onboarding. The workflow keeps it in memory, the
// queries read it, and continue-as-new carries it to the next run (Input.Carry), so
// nothing is lost across runs. IdentificationURL is PII-grade: it lives here (workflow
// history is encrypted by the data converter) but never in logs, search attributes or
// the timeline.
type Snapshot struct {
	State State `json:"state"`
	// Attempt numbers identifications (1, 2, ...); MaxAttempts bounds it.
	Attempt int `json:"attempt"`
	// BonusAttempts are attempts granted by compliance clearing a fraud suspicion.
	BonusAttempts int `json:"bonusAttempts,omitempty"`
	// Initiations counts InitiateQES calls (one per attempt, plus one per restart after
	// USER_DATA_INCOMPLETE): it numbers the QES access tags.
	Initiations int `json:"initiations"`
	// KYCRequests counts KYC review requests: it numbers their access tags.
	KYCRequests int `json:"kycRequests,omitempty"`

	IdentificationID  string `json:"identificationId,omitempty"`
	IdentificationURL string `json:"identificationURL,omitempty"`
	// Identifications are every identification id issued to this onboarding, oldest first
	// (at most one per initiation): a fraud verdict on any of them goes to compliance.
	Identifications []string `json:"identifications,omitempty"`
	// Decided are the identifications whose fraud suspicion compliance decided: a verdict
	// on one of them that arrives later (a redelivery, another event of the same
	// identification) is recorded on the timeline, and the decision stands.
	Decided []string `json:"decided,omitempty"`
	// Step is how far the current identification got (stepIssued ... stepOutcome): a
	// webhook for a step at or below it changes nothing.
	Step int `json:"step,omitempty"`

	// InitError is why the last initiation produced no identification.
	InitError *InitError `json:"initError,omitempty"`
	// Reason is the reason of the last identification outcome that was not a success (none
	// for a fraud verdict without a reason code: a reason belongs to its outcome).
	Reason *ReasonInfo `json:"reason,omitempty"`
	// ProviderResult is an outcome's raw result value qesflow did not know (sent to
	// compliance).
	ProviderResult string `json:"providerResult,omitempty"`

	KYCReview    treezor.KYCReview `json:"kycReview"`
	KYCLevel     int               `json:"kycLevel,omitempty"`
	KYCRequested bool              `json:"kycRequested,omitempty"`
	// KYCCheckDue asks for a read of the user's review at Treezor (GET user): when the
	// review is overdue, or to confirm a decision a webhook announced.
	KYCCheckDue bool `json:"kycCheckDue,omitempty"`
	// KYCAnnounced: a final user.kycreview arrived before the review was requested; the
	// review is read at Treezor once requested (changeEarlyKYCDecisionChecked).
	KYCAnnounced bool `json:"kycAnnounced,omitempty"`

	ComplianceNote string `json:"complianceNote,omitempty"`
	Escalated      bool   `json:"escalated,omitempty"`
	Escalations    int    `json:"escalations,omitempty"`

	Documents     []DocumentDownload `json:"documents,omitempty"`
	DocumentsDone bool               `json:"documentsDone,omitempty"`
	// WindowOver is set when the DOCUMENTS wait window has ended.
	WindowOver bool `json:"windowOver,omitempty"`

	// Country is the user's country at Treezor (read after the success); it decides the
	// SEPA step, the starter's country being the fallback.
	Country     string `json:"country,omitempty"`
	UserChecked bool   `json:"userChecked,omitempty"`

	// PayinCheckDue asks Treezor for the wallet's payins already received (on entering
	// AWAITING_SEPA: a transfer made before counts).
	PayinCheckDue bool `json:"payinCheckDue,omitempty"`
	// Wallets are the user's wallets as Treezor lists them (read on entering AWAITING_SEPA
	// when the input names none); WalletsChecked says they were read.
	Wallets        []string `json:"wallets,omitempty"`
	WalletsChecked bool     `json:"walletsChecked,omitempty"`

	SEPAValidated bool   `json:"sepaValidated,omitempty"`
	SEPAPayinID   string `json:"sepaPayinId,omitempty"`

	// TreezorDown is set while a Treezor call has failed for a whole retry window; the
	// call keeps being retried.
	TreezorDown bool `json:"treezorDown,omitempty"`

	// Deadline is when the current wait times out (zero: no timer).
	Deadline time.Time `json:"deadline"`

	// Buffered holds QES webhooks received while the identification id was not known yet
	// (INITIATING): they are applied once InitiateQES answered.
	Buffered []treezor.Event `json:"buffered,omitempty"`
	// Seen are the dedupe keys (payload hashes, or webhook ids) of the last
	// MaxSeenWebhooks webhooks, oldest first.
	Seen []string `json:"seen,omitempty"`

	Timeline        []TimelineEntry `json:"timeline,omitempty"`
	TimelineDropped int             `json:"timelineDropped,omitempty"`

	// Outbound is the delivery state of the outbound events (nil or Off: the run sends none).
	Outbound *OutboundState `json:"outbound,omitempty"`

	// Note explains a terminal state (Result.Note).
	Note           string    `json:"note,omitempty"`
	ContinuedAsNew int       `json:"continuedAsNew,omitempty"`
	UpdatedAt      time.Time `json:"updatedAt"`
}

// InitError is an initiation failure the identification-url update reports.
type InitError struct {
	Type          string   `json:"type"`
	Message       string   `json:"message"`
	MissingFields []string `json:"missingFields,omitempty"`
}

// ReasonInfo is a reason code with its catalog entry and the policy applied.
type ReasonInfo struct {
	Code     int              `json:"code"`
	Message  string           `json:"message,omitempty"`
	Category treezor.Category `json:"category,omitempty"`
	Policy   treezor.Policy   `json:"policy,omitempty"`
}

// Bounds of the carried state.
const (
	// MaxSeenWebhooks is how many webhook ids are remembered for deduplication. Treezor
	// redelivers a webhook for about 30 minutes; thousands of ids cover that many times.
	MaxSeenWebhooks = 4096
	// MaxTimeline is how many timeline entries are kept (the oldest are dropped first).
	MaxTimeline = 500
	// MaxBuffered is how many webhooks are held while the identification id is unknown.
	MaxBuffered = 100
	// MaxDocuments is how many announced documents are tracked.
	MaxDocuments = 20
	// MaxPriorWebhooks is how many payload hashes pass from one onboarding of a user to
	// the next.
	MaxPriorWebhooks = 512
)
