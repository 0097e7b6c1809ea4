package treezorsim

import (
	"net/http"
	"strconv"

	"github.com/qesflow/qesflow/treezor"
)

// handleListPayins is GET /v1/payins?walletId=…: the payins received into the wallet, in
// the fields of the contract fixture (treezor/testdata/contract/api/payins.json). A SEPA
// transfer whose payin.update was sent is VALIDATED, one with only its payin.create
// PENDING; a card top-up (other-payins) has paymentMethodId 25.
func (s *Simulator) handleListPayins(w http.ResponseWriter, r *http.Request) {
	walletID := r.URL.Query().Get("walletId")
	s.mu.Lock()
	defer s.mu.Unlock()
	payins := []map[string]any{}
	for _, id := range s.userOrder {
		u := s.users[id]
		for _, p := range s.payinsLocked(u) {
			if walletID == "" || p.WalletID != walletID {
				continue
			}
			userID := u.UserID
			if s.variants.PayinPlaceholderUser {
				userID = PayinPlaceholderUserID
			}
			code := "140001"
			if p.Status == "VALIDATED" {
				code = "140005"
			}
			payins = append(payins, map[string]any{
				"payinId": p.PayinID, "payinTag": nil, "walletId": p.WalletID, "userId": userID,
				"payinStatus": p.Status, "paymentMethodId": p.Method, "messageToUser": "",
				"amount": p.Amount, "currency": "EUR", "createdDate": "", "codeStatus": code,
				"informationStatus": "", "refundAmount": nil, "DbtrIBAN": "", "payinDate": nil, "mandateId": nil,
			})
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"payins": payins})
}

// payinsLocked are the user's payins with their status: the recorded ones, then any whose
// webhooks were sent without a record (a state file from before payins were recorded),
// as SEPA transfers into the main wallet. Caller holds s.mu.
func (s *Simulator) payinsLocked(u *user) []payinRecord {
	sent := map[string]string{}
	var order []string
	for _, d := range s.deliveries[u.UserID] {
		switch d.Webhook {
		case treezor.EventPayinCreate:
			if _, seen := sent[d.ObjectID]; !seen {
				order = append(order, d.ObjectID)
				sent[d.ObjectID] = "PENDING"
			}
		case treezor.EventPayinUpdate:
			if _, seen := sent[d.ObjectID]; !seen {
				order = append(order, d.ObjectID)
			}
			sent[d.ObjectID] = "VALIDATED"
		}
	}
	out := make([]payinRecord, 0, len(order))
	recorded := map[string]bool{}
	for _, p := range u.payins {
		recorded[p.PayinID] = true
		if p.Status == "" {
			p.Status = "PENDING" // created at Treezor, its webhooks not sent yet
			if status, ok := sent[p.PayinID]; ok {
				p.Status = status
			}
		}
		out = append(out, p)
	}
	for _, id := range order {
		if !recorded[id] {
			out = append(out, payinRecord{PayinID: id, WalletID: u.walletID, Method: paymentMethodSCT, Amount: DefaultPayinAmount, Status: sent[id]})
		}
	}
	return out
}

// handleListWallets is GET /v1/wallets?userId=…: the user's wallets (Treezor users may own
// several), in the fields of the contract fixture (treezor/testdata/contract/api/wallets.json),
// the main wallet's numbers as JSON numbers and the others' as strings (Treezor sends both).
func (s *Simulator) handleListWallets(w http.ResponseWriter, r *http.Request) {
	userID := r.URL.Query().Get("userId")
	s.mu.Lock()
	defer s.mu.Unlock()
	wallets := []map[string]any{}
	u, ok := s.users[userID]
	if ok {
		for i, id := range u.wallets() {
			var walletID, owner, typeID, code, joint, tariff any = id, u.UserID, "10", "120005", "0", "396"
			if i == 0 {
				typeID, code, joint, tariff = 10, 120005, 0, 396
				if n, err := strconv.ParseInt(id, 10, 64); err == nil {
					walletID = n
				}
				if n, err := strconv.ParseInt(u.UserID, 10, 64); err == nil {
					owner = n
				}
			}
			wallets = append(wallets, map[string]any{
				"walletId": walletID, "walletTypeId": typeID, "walletStatus": "VALIDATED", "codeStatus": code,
				"informationStatus": "", "walletTag": "", "userId": owner, "jointUserId": joint, "tariffId": tariff,
				"eventName": "Wallet " + strconv.Itoa(i+1), "currency": "EUR", "iban": "", "bic": "",
			})
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"wallets": wallets})
}
