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
}

// WalletPayin is one payin of the wallet, as the workflow sees it.
type WalletPayin struct {
	PayinID         string `json:"payinId"`
	WalletID        string `json:"walletId"`
	Status          string `json:"status"`
	PaymentMethodID int    `json:"paymentMethodId"`
}

// ListWalletPayins reads the payins already received into the wallet (GET /v1/payins).
func (a *Activities) ListWalletPayins(ctx context.Context, in ListWalletPayinsInput) ([]WalletPayin, error) {
	if strings.TrimSpace(in.WalletID) == "" {
		return nil, invalidInput("list payins: wallet id is required")
	}
	l, ok := a.Treezor.(PayinLister)
	if !ok {
		return nil, temporal.NewNonRetryableApplicationError("list payins: the Treezor client cannot list payins", ErrTypeInvalidArgument, nil)
	}
	payins, err := l.ListPayins(ctx, in.WalletID)
	if err != nil {
		return nil, treezorError("list payins of wallet "+in.WalletID, err)
	}
	out := make([]WalletPayin, 0, len(payins))
	for _, p := range payins {
		out = append(out, WalletPayin{PayinID: p.PayinID, WalletID: p.WalletID, Status: p.Status, PaymentMethodID: p.PaymentMethodID})
	}
	return out, nil
}
