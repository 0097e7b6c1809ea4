package treezor

import "time"

// Webhook event types that qesflow routes to an onboarding workflow.
const (
	EventQESCreated     = "qes.created"
	EventQESProcessing  = "qes.processing"
	EventQESAborted     = "qes.aborted"
	EventQESFinalized   = "qes.finalized"
	EventUserKYCReview  = "user.kycreview"
	EventUserKYCRequest = "user.kycrequest"
	EventDocumentCreate = "document.create"
	EventPayinCreate    = "payin.create"
	EventPayinUpdate    = "payin.update"
)

// QES results as sent in the `result` attribute of QES webhooks (IDnow's values).
const (
	ResultSuccess                 = "SUCCESS"
	ResultSuccessDataChanged      = "SUCCESS_DATA_CHANGED"
	ResultReviewPending           = "REVIEW_PENDING"
	ResultCheckPending            = "CHECK_PENDING"
	ResultFraudSuspicionPending   = "FRAUD_SUSPICION_PENDING"
	ResultFraudSuspicionConfirmed = "FRAUD_SUSPICION_CONFIRMED"
	ResultCanceled                = "CANCELED"
	ResultAborted                 = "ABORTED"
)

// Event is the normalised form of one Treezor webhook: what the bridge signals to the
// workflow. It carries identifiers and codes only, never names, e-mails, phone numbers
// or URLs, so it is safe in workflow history and logs.
type Event struct {
	WebhookID string `json:"webhookId"`
	// PayloadHash is the hex SHA-256 of the signed object_payload bytes: the key that
	// deduplicates deliveries (webhookId is unsigned, so only a hint).
	PayloadHash string    `json:"payloadHash,omitempty"`
	Type        string    `json:"type"`
	CreatedAt   time.Time `json:"createdAt"`
	// Known is false for webhook types qesflow does not handle (decoded generically).
	Known bool `json:"known"`

	UserID string `json:"userId,omitempty"`

	// qes.*
	IdentificationID string `json:"identificationId,omitempty"`
	Result           string `json:"result,omitempty"`
	ReasonCode       int    `json:"reasonCode,omitempty"`
	ReasonMessage    string `json:"reasonMessage,omitempty"`

	// user.kycreview
	KYCReview        KYCReview `json:"kycReview,omitempty"`
	KYCLevel         int       `json:"kycLevel,omitempty"`
	KYCReviewComment string    `json:"kycReviewComment,omitempty"`

	// document.create
	DocumentID     string `json:"documentId,omitempty"`
	DocumentTypeID int    `json:"documentTypeId,omitempty"`
	DocumentStatus string `json:"documentStatus,omitempty"`

	// payin.create / payin.update
	PayinID     string `json:"payinId,omitempty"`
	PayinStatus string `json:"payinStatus,omitempty"`
	WalletID    string `json:"walletId,omitempty"`
	// PaymentMethodID is Treezor's payin method (20 SEPA credit transfer, 27 SCT Inst).
	PaymentMethodID int `json:"paymentMethodId,omitempty"`
}
