package webhookbridge

import (
	"encoding/json"
	"net/http"
)

// answer is the small JSON body of every response: no payload data, no PII.
type answer struct {
	Status    string `json:"status"`
	WebhookID string `json:"webhookId,omitempty"`
	Error     string `json:"error,omitempty"`
}

func writeAnswer(w http.ResponseWriter, d *delivery, o outcome) {
	a := answer{Status: o.label, WebhookID: d.webhookID}
	if o.status >= 400 {
		a.Error = o.reason
	}
	if o.status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", RetryAfterSeconds)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(o.status)
	_ = json.NewEncoder(w).Encode(a)
}
