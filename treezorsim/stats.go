package treezorsim

import (
	"maps"
	"net/http"
)

// Stats are the simulator's counters (GET /sim/stats answers them as JSON).
type Stats struct {
	// IdentificationsCreated counts distinct identifications per user (accessTag replays
	// and faulted calls that did not process are not counted).
	IdentificationsCreated map[string]int `json:"identificationsCreated"`
	// KYCReviewRequests counts distinct KYC review requests per user.
	KYCReviewRequests map[string]int `json:"kycReviewRequests"`
	// AccessTagReplays counts answers replayed for a known accessTag.
	AccessTagReplays int `json:"accessTagReplays"`
	// TokensIssued counts access tokens issued.
	TokensIssued int `json:"tokensIssued"`
	// WebhooksEmitted counts distinct webhooks (distinct webhook_id).
	WebhooksEmitted int `json:"webhooksEmitted"`
	// WebhooksDelivered counts deliveries answered 2xx (duplicates included).
	WebhooksDelivered int `json:"webhooksDelivered"`
	// WebhooksFailed counts deliveries given up after the last attempt.
	WebhooksFailed int `json:"webhooksFailed"`
	// WebhooksRetried counts delivery attempts after the first.
	WebhooksRetried int `json:"webhooksRetried"`
	// DuplicatesSent counts the extra deliveries added by the duplicate chaos.
	DuplicatesSent int `json:"duplicatesSent"`
	// WebhooksHeld counts webhooks held back behind a later action's (WebhookVariants.HoldRate).
	WebhooksHeld int `json:"webhooksHeld"`
	// Pending counts queued deliveries and scheduled automatic KYC decisions.
	Pending int `json:"pending"`
	// APIErrors counts API calls faulted with a 5xx before any processing.
	APIErrors int `json:"apiErrors"`
	// APIHangs counts API calls processed and then hung past the client's timeout.
	APIHangs int `json:"apiHangs"`
}

type counters struct {
	identificationsByUser map[string]int
	reviewsByUser         map[string]int
	accessTagReplays      int
	tokensIssued          int
	webhooksEmitted       int
	delivered             int
	failed                int
	retried               int
	duplicates            int
	held                  int
	apiErrors             int
	apiHangs              int
}

func newCounters() counters {
	return counters{identificationsByUser: map[string]int{}, reviewsByUser: map[string]int{}}
}

// Stats returns a snapshot of the counters.
func (s *Simulator) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.counters
	return Stats{
		IdentificationsCreated: maps.Clone(c.identificationsByUser),
		KYCReviewRequests:      maps.Clone(c.reviewsByUser),
		AccessTagReplays:       c.accessTagReplays,
		TokensIssued:           c.tokensIssued,
		WebhooksEmitted:        c.webhooksEmitted,
		WebhooksDelivered:      c.delivered,
		WebhooksFailed:         c.failed,
		WebhooksRetried:        c.retried,
		DuplicatesSent:         c.duplicates,
		WebhooksHeld:           c.held,
		Pending:                s.busy.pending(),
		APIErrors:              c.apiErrors,
		APIHangs:               c.apiHangs,
	}
}

func (s *Simulator) handleStats(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.Stats())
}
