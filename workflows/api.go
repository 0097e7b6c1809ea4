package workflows

import (
	"time"

	"go.temporal.io/api/enums/v1"

	"github.com/qesflow/qesflow/activities"
	"github.com/qesflow/qesflow/treezor"
)

// TaskQueue is the task queue of the QESOnboarding workflow and its activities.
const TaskQueue = "qes-onboarding"

// WorkflowName is the registered name of the onboarding workflow.
const WorkflowName = "QESOnboarding"

// WorkflowID is the one workflow id per Treezor user.
func WorkflowID(userID string) string { return "qes-onboarding-" + userID }

// Signal, update and query names: the workflow's public contract. Treezor's webhooks are
// signals; operator actions are updates whose validator refuses an action that does not
// apply to the current state (the refusal is never written to the history).
const (
	SignalWebhook = "treezor-webhook" // payload: treezor.Event

	UpdateIdentificationURL  = "identification-url"  // no args; returns IdentificationURLResult
	UpdateRestart            = "restart"             // arg: RestartRequest; returns ActionResult
	UpdateCancel             = "cancel"              // arg: CancelRequest; returns ActionResult
	UpdateComplianceDecision = "compliance-decision" // arg: ComplianceDecision; returns ActionResult

	QueryStatus     = "status"      // returns Status (internal view, compliance)
	QueryUserStatus = "user-status" // returns UserStatus (end-user safe)
)

// Search attributes upserted on every state change.
const (
	SATreezorUserID       = "TreezorUserId"       // Keyword
	SAQESState            = "QESState"            // Keyword
	SAQESAttempt          = "QESAttempt"          // Int
	SAQESReasonCode       = "QESReasonCode"       // Int
	SAQESIdentificationID = "QESIdentificationId" // Keyword
	SAKYCReview           = "KYCReview"           // Keyword
	// SATreezorWalletID is the user's wallet, once known: payin webhooks are routed by it
	// (Treezor does not guarantee a payin's userId).
	SATreezorWalletID = "TreezorWalletId" // Keyword
	// SATreezorWalletIDs are the user's wallets as Treezor lists them (when the start named
	// none): payin webhooks are routed by any of them.
	SATreezorWalletIDs = "TreezorWalletIds" // KeywordList
	// SAQESIdentificationIDs are every identification id of the run, so that a late QES
	// webhook without userId for an earlier identification still routes.
	SAQESIdentificationIDs = "QESIdentificationIds" // KeywordList
	// SAQESCountry is the user's country (ISO 3166-1 alpha-2), from the start or from Treezor.
	SAQESCountry = "QESCountry" // Keyword
	// SAQESUpdatedAt is when the search attributes last changed: the list API's updatedBefore.
	SAQESUpdatedAt = "QESUpdatedAt" // Datetime
)

// State is the onboarding's state (docs/workflow.md, "Flow").
type State string

const (
	StateInitiating         State = "INITIATING"
	StateAwaitingUser       State = "AWAITING_USER"
	StateInProgress         State = "IN_PROGRESS"
	StateProviderReview     State = "PROVIDER_REVIEW"
	StateSuccess            State = "SUCCESS"
	StateAwaitingSEPA       State = "AWAITING_SEPA"
	StateDocuments          State = "DOCUMENTS"
	StateKYCReviewPending   State = "KYC_REVIEW_PENDING"
	StateKYCReviewOverdue   State = "KYC_REVIEW_OVERDUE" // escalation: still waiting, visible in the UI
	StateCompletedValidated State = "COMPLETED_VALIDATED"
	StateCompletedRefused   State = "COMPLETED_REFUSED"
	StateAborted            State = "ABORTED"
	StateProviderCanceled   State = "CANCELED"
	StateRetryScheduled     State = "RETRY_SCHEDULED"
	StateWaitingForUser     State = "WAITING_FOR_USER"
	StateDeclined           State = "DECLINED"
	StateRejected           State = "REJECTED"
	StateFraudSuspected     State = "FRAUD_SUSPECTED"
	StateComplianceReview   State = "COMPLIANCE_REVIEW"
	StateUserDataIncomplete State = "USER_DATA_INCOMPLETE"
	// StateUserUnknown: Treezor does not know the user (404); a restart tries again once
	// the onboarding system has created or fixed the user.
	StateUserUnknown       State = "USER_UNKNOWN"
	StateExpired           State = "EXPIRED"
	StateOperatorCancelled State = "CANCELLED"
	StateFailed            State = "FAILED" // max attempts reached
)

// Terminal reports whether the workflow ends in this state.
func (s State) Terminal() bool {
	switch s {
	case StateCompletedValidated, StateCompletedRefused, StateDeclined, StateRejected,
		StateExpired, StateOperatorCancelled, StateFailed:
		return true
	}
	return false
}

// PolicyOverride changes the default timing and attempt policy of one onboarding.
// Zero values keep the defaults.
type PolicyOverride struct {
	MaxAttempts        int           `json:"maxAttempts,omitempty"`
	RetryBackoff       time.Duration `json:"retryBackoff,omitempty"`       // first backoff between attempts, doubled each time
	UserTimeout        time.Duration `json:"userTimeout,omitempty"`        // AWAITING_USER / WAITING_FOR_USER / USER_DATA_INCOMPLETE → EXPIRED (default 7 days)
	ProviderTimeout    time.Duration `json:"providerTimeout,omitempty"`    // IN_PROGRESS / PROVIDER_REVIEW → EXPIRED
	SEPATimeout        time.Duration `json:"sepaTimeout,omitempty"`        // AWAITING_SEPA → EXPIRED
	KYCReviewTimeout   time.Duration `json:"kycReviewTimeout,omitempty"`   // KYC_REVIEW_PENDING → KYC_REVIEW_OVERDUE (default 10 days), keeps waiting
	ComplianceTimeout  time.Duration `json:"complianceTimeout,omitempty"`  // COMPLIANCE_REVIEW escalation, keeps waiting
	DownloadDocuments  *bool         `json:"downloadDocuments,omitempty"`  // default false
	DocumentWaitWindow time.Duration `json:"documentWaitWindow,omitempty"` // how long to wait for document.create after success

	// ReasonPolicies overrides the catalog's policy of single reason codes (from
	// configuration, see treezor.ParsePolicyOverrides). Fraud codes (32xx) always go to
	// compliance: an override cannot make a fraud suspicion retry automatically.
	ReasonPolicies map[int]treezor.Policy `json:"reasonPolicies,omitempty"`
	// TreezorRetryWindow bounds how long a Treezor call (initiate QES, KYC review request)
	// is retried while Treezor is unavailable before the workflow fails (default 24 h).
	TreezorRetryWindow time.Duration `json:"treezorRetryWindow,omitempty"`
	// ContinueAsNewAfter is the history length (events) after which the workflow continues
	// as new, carrying its state (default 5,000; the server's suggestion is honoured too).
	ContinueAsNewAfter int `json:"continueAsNewAfter,omitempty"`
	// EventRetryWindow bounds how long one outbound event is retried while its receiver
	// fails (default 3 days); the next events wait behind it, in order.
	EventRetryWindow time.Duration `json:"eventRetryWindow,omitempty"`
}

// Input starts one onboarding.
type Input struct {
	UserID      string `json:"userId"`
	RedirectURL string `json:"redirectUrl,omitempty"`
	Country     string `json:"country,omitempty"` // ISO 3166-1 alpha-2; "DE" requires the SEPA step
	// WalletID is the user's Treezor wallet that receives the SEPA transfer (optional): a
	// payin counts only when it credits this wallet.
	WalletID string          `json:"walletId,omitempty"`
	Policy   *PolicyOverride `json:"policy,omitempty"`

	// PriorWebhooks are the payload hashes of webhooks the user's previous onboarding
	// applied (its Result.AppliedHashes): a payload replayed into this onboarding is a
	// duplicate. Starters copy them; at most MaxPriorWebhooks are kept.
	PriorWebhooks []string `json:"priorWebhooks,omitempty"`

	// Carry is set by the workflow itself when it continues as new: the state of the
	// previous run. Starters leave it nil.
	Carry *Snapshot `json:"carry,omitempty"`
}

// RestartRequest asks for a new attempt after the user fixed their data or wants another try.
type RestartRequest struct {
	Reason string `json:"reason,omitempty"`
}

// CancelRequest stops the onboarding (operator action).
type CancelRequest struct {
	Reason string `json:"reason,omitempty"`
}

// Compliance decisions.
const (
	DecisionClear  = "clear"
	DecisionReject = "reject"
)

// ComplianceDecision is the compliance officer's verdict on a fraud suspicion.
type ComplianceDecision struct {
	Decision string `json:"decision"` // DecisionClear or DecisionReject
	Note     string `json:"note,omitempty"`
	// Operator names who decided (the console's signed-in operator), for the audit trail in
	// the history and on the timeline; empty for decisions made without a name.
	Operator string `json:"operator,omitempty"`
}

// IdentificationURLResult answers the identification-url update.
type IdentificationURLResult struct {
	UserID            string `json:"userId"`
	IdentificationID  string `json:"identificationId"`
	IdentificationURL string `json:"identificationURL"`
	Attempt           int    `json:"attempt"`
	State             State  `json:"state"`
}

// Application error types the update (and activities) return, for callers to branch on.
const (
	ErrTypeUserDataIncomplete = activities.ErrTypeUserDataIncomplete // details: []string missing fields
	ErrTypeNotAvailable       = "IdentificationNotAvailable"         // the update was rejected: the onboarding has ended
	ErrTypeTreezorRejected    = activities.ErrTypeTreezorRejected    // details: activities.RejectionDetails
	ErrTypeTreezorUnavailable = activities.ErrTypeTreezorUnavailable // Treezor stayed unreachable for TreezorRetryWindow
	ErrTypeTreezorUserUnknown = activities.ErrTypeTreezorUserUnknown // Treezor does not know the user (USER_UNKNOWN)
	ErrTypeInvalidInput       = "InvalidInput"                       // the workflow input is unusable
	// ErrTypeOnboardingFailed ends a run whose onboarding ended FAILED (a technical failure
	// or every attempt used) as a failed execution, so Temporal counts it as failed;
	// details: the Result (read it with FailedResult).
	ErrTypeOnboardingFailed = "OnboardingFailed"
	// ErrTypeNotApplicable rejects an operator action (restart, cancel, compliance
	// decision) that means nothing in the current state; details: ActionResult, the
	// current state.
	ErrTypeNotApplicable = "ActionNotApplicable"
)

// ActionResult answers an operator action: the state the onboarding is in after it (or,
// in the details of an ErrTypeNotApplicable rejection, the state that refused it), in
// both views, so that a caller answers each audience with the view it may see.
type ActionResult struct {
	UserID  string `json:"userId"`
	Action  string `json:"action"`
	State   State  `json:"state"` // internal view (compliance)
	Attempt int    `json:"attempt"`
	// User is the end-user-safe view (onboarding scope): no fraud or compliance hint.
	User UserStatus `json:"user"`
}

// TimelineEntry is one line of the onboarding's history as shown to operators.
type TimelineEntry struct {
	Time             time.Time `json:"time"`
	Kind             string    `json:"kind"` // "webhook", "state", "signal", "activity"
	WebhookID        string    `json:"webhookId,omitempty"`
	EventType        string    `json:"eventType,omitempty"`
	IdentificationID string    `json:"identificationId,omitempty"`
	State            State     `json:"state,omitempty"`
	Note             string    `json:"note,omitempty"`     // e.g. "duplicate", "stale identification", "out of order"
	Operator         string    `json:"operator,omitempty"` // who took an operator action, when named
}

// Status is the internal view (query "status"), for operators and compliance.
type Status struct {
	UserID            string            `json:"userId"`
	State             State             `json:"state"`
	Attempt           int               `json:"attempt"`
	MaxAttempts       int               `json:"maxAttempts"`
	Country           string            `json:"country,omitempty"`
	IdentificationID  string            `json:"identificationId,omitempty"`
	ReasonCode        int               `json:"reasonCode,omitempty"`
	ReasonMessage     string            `json:"reasonMessage,omitempty"`
	ReasonCategory    string            `json:"reasonCategory,omitempty"`
	ReasonPolicy      string            `json:"reasonPolicy,omitempty"`
	KYCReview         treezor.KYCReview `json:"kycReview"`
	KYCLevel          int               `json:"kycLevel,omitempty"`
	ComplianceNote    string            `json:"complianceNote,omitempty"`
	Documents         []string          `json:"documents,omitempty"` // document ids
	SEPAValidated     bool              `json:"sepaValidated,omitempty"`
	WalletID          string            `json:"walletId,omitempty"`
	Timeline          []TimelineEntry   `json:"timeline"`
	UpdatedAt         time.Time         `json:"updatedAt"`
	ContinuedAsNewCnt int               `json:"continuedAsNew,omitempty"`

	// MissingFields are the user fields Treezor asked for (USER_DATA_INCOMPLETE).
	MissingFields []string `json:"missingFields,omitempty"`
	// Deadline is when the current wait times out (nil: no timer running).
	Deadline *time.Time `json:"deadline,omitempty"`
	// Escalated is set when a compliance decision is overdue (ComplianceTimeout);
	// Escalations counts the overdue periods (one more each ComplianceTimeout).
	Escalated   bool `json:"escalated,omitempty"`
	Escalations int  `json:"escalations,omitempty"`
	// ProviderResult is the raw result value of an identification outcome qesflow does not
	// know, sent to compliance instead of being retried.
	ProviderResult string `json:"providerResult,omitempty"`
	// DocumentDownloads describes the QES documents downloaded (or that failed to).
	DocumentDownloads []DocumentDownload `json:"documentDownloads,omitempty"`
	// TimelineDropped counts the oldest timeline entries dropped to keep it bounded.
	TimelineDropped int `json:"timelineDropped,omitempty"`
	// Events is the delivery state of the outbound events (absent when none are sent).
	Events *EventDelivery `json:"events,omitempty"`
}

// DocumentDownload is one QES document announced by document.create.
type DocumentDownload struct {
	DocumentID string `json:"documentId"`
	SHA256     string `json:"sha256,omitempty"`
	Size       int64  `json:"size,omitempty"`
	StoredAs   string `json:"storedAs,omitempty"`
	// Error tells why the download failed (no URL in it); empty on success or while pending.
	Error string `json:"error,omitempty"`
	Done  bool   `json:"done"`
}

// UserStatus is the end-user-safe view (query "user-status"): fraud never shows.
type UserStatus struct {
	UserID  string `json:"userId"`
	Status  string `json:"status"`  // neutral, e.g. "UNDER_REVIEW" for any fraud or compliance state
	Message string `json:"message"` // human sentence safe for the end user
	Attempt int    `json:"attempt"`
	// ActionRequired tells the user what to do, e.g. "COMPLETE_IDENTIFICATION", "BRING_OTHER_DOCUMENT".
	ActionRequired string `json:"actionRequired,omitempty"`
	// IdentificationURL is the link the user opens while the identification is theirs to
	// complete (after an automatic retry, the new attempt's link); empty otherwise.
	IdentificationURL string `json:"identificationURL,omitempty"`
	Final             bool   `json:"final"`
}

// Result is what the workflow returns when it ends: business outcomes are results, not errors.
type Result struct {
	UserID        string            `json:"userId"`
	State         State             `json:"state"`
	Attempts      int               `json:"attempts"`
	ReasonCode    int               `json:"reasonCode,omitempty"`
	ReasonMessage string            `json:"reasonMessage,omitempty"`
	KYCReview     treezor.KYCReview `json:"kycReview"`
	Note          string            `json:"note,omitempty"`
	// AppliedHashes are the payload hashes of the last webhooks this onboarding took in
	// (at most MaxPriorWebhooks), for the user's next onboarding (Input.PriorWebhooks).
	AppliedHashes []string `json:"appliedHashes,omitempty"`
}

// SearchAttributeTypes lists the custom search attributes the namespace must have registered.
func SearchAttributeTypes() map[string]enums.IndexedValueType {
	return map[string]enums.IndexedValueType{
		SATreezorUserID:        enums.INDEXED_VALUE_TYPE_KEYWORD,
		SAQESState:             enums.INDEXED_VALUE_TYPE_KEYWORD,
		SAQESAttempt:           enums.INDEXED_VALUE_TYPE_INT,
		SAQESReasonCode:        enums.INDEXED_VALUE_TYPE_INT,
		SAQESIdentificationID:  enums.INDEXED_VALUE_TYPE_KEYWORD,
		SAKYCReview:            enums.INDEXED_VALUE_TYPE_KEYWORD,
		SATreezorWalletID:      enums.INDEXED_VALUE_TYPE_KEYWORD,
		SATreezorWalletIDs:     enums.INDEXED_VALUE_TYPE_KEYWORD_LIST,
		SAQESIdentificationIDs: enums.INDEXED_VALUE_TYPE_KEYWORD_LIST,
		SAQESCountry:           enums.INDEXED_VALUE_TYPE_KEYWORD,
		SAQESUpdatedAt:         enums.INDEXED_VALUE_TYPE_DATETIME,
	}
}
