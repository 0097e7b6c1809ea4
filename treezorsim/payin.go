package treezorsim

import (
	"fmt"
	"net/http"
	"regexp"
	"strconv"

	"github.com/qesflow/qesflow/treezor"
	"go.uber.org/zap"
)

// DefaultPayinAmount is the amount of a simulated SEPA payin when none is given.
const DefaultPayinAmount = "10.00"

var validAmount = regexp.MustCompile(`^[0-9]{1,9}(\.[0-9]{1,2})?$`)

// Payin simulates a SEPA transfer of DefaultPayinAmount into a DE user's wallet.
func (s *Simulator) Payin(userID string) error {
	_, err := s.SEPAPayin(userID, "")
	return err
}

// SEPAPayin simulates a SEPA transfer of amount (e.g. "25.50"; empty: DefaultPayinAmount)
// into a DE user's wallet: payin.create (PENDING) then payin.update (VALIDATED).
func (s *Simulator) SEPAPayin(userID, amount string) (payinID string, err error) {
	if amount == "" {
		amount = DefaultPayinAmount
	}
	value, err := strconv.ParseFloat(amount, 64)
	if !validAmount.MatchString(amount) || err != nil || value <= 0 {
		return "", fmt.Errorf("payin for user %s: %w: want a positive decimal such as 10.00", userID, ErrInvalidAmount)
	}
	amount = strconv.FormatFloat(value, 'f', 2, 64)
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[userID]
	if !ok {
		return "", fmt.Errorf("payin for user %s: %w", userID, ErrUnknownUser)
	}
	if !u.isDE() {
		return "", fmt.Errorf("payin for user %s: %w", userID, ErrNotDE)
	}
	var specs []webhookSpec
	if s.variants.OtherPayins {
		// A card top-up into the same wallet first: a payin that is not a SEPA transfer.
		cardID := s.newNumericID()
		u.payins = append(u.payins, payinRecord{PayinID: cardID, WalletID: u.walletID, Method: paymentMethodCard, Amount: amount, Status: "VALIDATED"})
		card := payinSpec(treezor.EventPayinCreate, u, cardID, amount, "VALIDATED")
		card.payload.(map[string]any)["payins"].([]map[string]string)[0]["paymentMethodId"] = paymentMethodCard
		specs = append(specs, card)
	}
	payinID = s.newNumericID()
	u.payins = append(u.payins, payinRecord{PayinID: payinID, WalletID: u.sepaWallet(), Method: paymentMethodSCT, Amount: amount})
	specs = append(specs,
		payinSpec(treezor.EventPayinCreate, u, payinID, amount, "PENDING"),
		payinSpec(treezor.EventPayinUpdate, u, payinID, amount, "VALIDATED"),
	)
	if err := s.emitLocked(userID, specs); err != nil {
		return "", fmt.Errorf("payin for user %s: %w", userID, err)
	}
	s.log.Info("sepa payin simulated", zap.String("user_id", userID), zap.String("payin_id", payinID))
	return payinID, nil
}

// Treezor's payin methods (docs.treezor.com/guide/transfers/credit-transfer.html,
// credit-transfer-inst.html, cheques/events.html).
const (
	paymentMethodSCT     = "20"
	paymentMethodCard    = "25"
	paymentMethodSCTInst = "27"
)

func payinSpec(event string, u *user, payinID, amount, status string) webhookSpec {
	return webhookSpec{
		event: event, object: objectPayin, objectID: payinID,
		payload: map[string]any{"payins": []map[string]string{{
			"payinId": payinID, "userId": u.UserID, "walletId": u.payinWallet(payinID), "payinStatus": status,
			"paymentMethodId": paymentMethodSCT, "amount": amount, "currency": "EUR",
		}}},
	}
}

// sepaWallet is the wallet a new SEPA transfer goes to: the user's last wallet.
func (u *user) sepaWallet() string {
	if n := len(u.otherWallets); n > 0 {
		return u.otherWallets[n-1]
	}
	return u.walletID
}

// payinRecord is one payin the simulator made. An empty Status is read from the webhooks
// sent: VALIDATED once its payin.update was, PENDING before.
type payinRecord struct {
	PayinID  string `json:"payinId"`
	WalletID string `json:"walletId"`
	Method   string `json:"paymentMethodId"`
	Amount   string `json:"amount"`
	Status   string `json:"status,omitempty"`
}

// payinWallet is the wallet payinID went to (the main wallet for a payin not recorded).
func (u *user) payinWallet(payinID string) string {
	for _, p := range u.payins {
		if p.PayinID == payinID {
			return p.WalletID
		}
	}
	return u.walletID
}

// wallets are every wallet of the user, main wallet first.
func (u *user) wallets() []string { return append([]string{u.walletID}, u.otherWallets...) }

// Wallets returns the user's wallets, main wallet first (nil for an unknown user).
func (s *Simulator) Wallets(userID string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[userID]
	if !ok {
		return nil
	}
	return u.wallets()
}

type payinBody struct {
	Amount flexString `json:"amount"`
}

// handleSimPayin is POST /sim/users/{userId}/payins.
func (s *Simulator) handleSimPayin(w http.ResponseWriter, r *http.Request) {
	var body payinBody
	if err := decodeJSON(w, r, &body); err != nil {
		writeSimError(w, fmt.Errorf("%w: %v", ErrInvalidAmount, err))
		return
	}
	userID := r.PathValue("userId")
	payinID, err := s.SEPAPayin(userID, string(body.Amount))
	if err != nil {
		writeSimError(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]string{"payinId": payinID, "userId": userID, "payinStatus": "VALIDATED"})
}
