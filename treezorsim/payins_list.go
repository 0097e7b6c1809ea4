package treezorsim

import (
	"net/http"

	"github.com/qesflow/qesflow/treezor"
)

// handleListPayins is GET /v1/payins?walletId=…: the payins received into the wallet. The
// simulator's payins are SEPA credit transfers (paymentMethodId 20); one whose
// payin.update was sent is VALIDATED, one with only its payin.create PENDING.
func (s *Simulator) handleListPayins(w http.ResponseWriter, r *http.Request) {
	walletID := r.URL.Query().Get("walletId")
	s.mu.Lock()
	defer s.mu.Unlock()
	payins := []map[string]string{}
	for _, id := range s.userOrder {
		u := s.users[id]
		if walletID == "" || u.walletID != walletID {
			continue
		}
		status := map[string]string{}
		var order []string
		for _, d := range s.deliveries[id] {
			switch d.Webhook {
			case treezor.EventPayinCreate:
				if _, seen := status[d.ObjectID]; !seen {
					order = append(order, d.ObjectID)
					status[d.ObjectID] = "PENDING"
				}
			case treezor.EventPayinUpdate:
				if _, seen := status[d.ObjectID]; !seen {
					order = append(order, d.ObjectID)
				}
				status[d.ObjectID] = "VALIDATED"
			}
		}
		for _, payinID := range order {
			payins = append(payins, map[string]string{
				"payinId": payinID, "walletId": u.walletID, "userId": u.UserID,
				"payinStatus": status[payinID], "paymentMethodId": "20", "currency": "EUR",
			})
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"payins": payins})
}
