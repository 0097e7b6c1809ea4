package activities

import (
	"context"
	"strings"

	"go.temporal.io/sdk/temporal"

	"github.com/qesflow/qesflow/treezor"
)

// ListWalletPayinsName is the registered name of ListWalletPayins.
const ListWalletPayinsName = "ListWalletPayins"

// PayinLister lists a wallet's payins; *treezor.Client implements it.
type PayinLister interface {
	ListPayins(ctx context.Context, walletID string) ([]treezor.Payin, error)
}

var _ PayinLister = (*treezor.Client)(nil)

// ListWalletPayinsInput is the input of ListWalletPayins.
type ListWalletPayinsInput struct {
	WalletID string `json:"walletId"`
	// WalletIDs are further wallets to list, for a user who owns several.
	WalletIDs []string `json:"walletIds,omitempty"`
}

// WalletPayin is one payin of the wallet, as the workflow sees it.
type WalletPayin struct {
	PayinID         string `json:"payinId"`
	WalletID        string `json:"walletId"`
	Status          string `json:"status"`
	PaymentMethodID int    `json:"paymentMethodId"`
}

// ListWalletPayins reads the payins already received into the wallet, and into each of
// WalletIDs (GET /v1/payins).
func (a *Activities) ListWalletPayins(ctx context.Context, in ListWalletPayinsInput) ([]WalletPayin, error) {
	wallets := append([]string{in.WalletID}, in.WalletIDs...)
	if in.WalletID == "" && len(in.WalletIDs) > 0 {
		wallets = in.WalletIDs
	}
	for _, w := range wallets {
		if strings.TrimSpace(w) == "" {
			return nil, invalidInput("list payins: wallet id is required")
		}
	}
	l, ok := a.Treezor.(PayinLister)
	if !ok {
		return nil, temporal.NewNonRetryableApplicationError("list payins: the Treezor client cannot list payins", ErrTypeInvalidArgument, nil)
	}
	out := []WalletPayin{}
	for _, w := range wallets {
		payins, err := l.ListPayins(ctx, w)
		if err != nil {
			return nil, treezorError("list payins of wallet "+w, err)
		}
		for _, p := range payins {
			out = append(out, WalletPayin{PayinID: p.PayinID, WalletID: p.WalletID, Status: p.Status, PaymentMethodID: p.PaymentMethodID})
		}
	}
	return out, nil
}
