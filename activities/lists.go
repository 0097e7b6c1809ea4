package activities

import (
	"context"
	"strings"

	"go.temporal.io/sdk/temporal"

	"github.com/qesflow/qesflow/treezor"
)

// Names under which the list activities are registered.
const (
	ListUserWalletsName  = "ListUserWallets"
	ListWalletPayinsName = "ListWalletPayins"
)

// WalletLister lists a user's wallets; *treezor.Client implements it.
type WalletLister interface {
	ListWallets(ctx context.Context, userID string) ([]treezor.Wallet, error)
}

// PayinLister lists a wallet's payins; *treezor.Client implements it.
type PayinLister interface {
	ListPayins(ctx context.Context, walletID string) ([]treezor.Payin, error)
}

var (
	_ WalletLister = (*treezor.Client)(nil)
	_ PayinLister  = (*treezor.Client)(nil)
)

// treezorAs returns the Treezor client as the lister L that op needs; a client without it
// is a wiring error, not a Treezor failure.
func treezorAs[L any](a *Activities, op string) (L, error) {
	l, ok := a.Treezor.(L)
	if !ok {
		return l, temporal.NewNonRetryableApplicationError(op+": the Treezor client cannot "+op, ErrTypeInvalidArgument, nil)
	}
	return l, nil
}

// ListUserWalletsInput is the input of ListUserWallets.
type ListUserWalletsInput struct {
	UserID string `json:"userId"`
}

// ListUserWallets reads the ids of the user's wallets at Treezor (GET /v1/wallets), the
// wallets a SEPA transfer for the onboarding may arrive in.
func (a *Activities) ListUserWallets(ctx context.Context, in ListUserWalletsInput) ([]string, error) {
	if strings.TrimSpace(in.UserID) == "" {
		return nil, invalidInput("list wallets: user id is required")
	}
	l, err := treezorAs[WalletLister](a, "list wallets")
	if err != nil {
		return nil, err
	}
	wallets, err := l.ListWallets(ctx, in.UserID)
	if err != nil {
		return nil, treezorError("list wallets of user "+in.UserID, err)
	}
	ids := make([]string, 0, len(wallets))
	for _, w := range wallets {
		ids = append(ids, w.WalletID)
	}
	return ids, nil
}

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
	l, err := treezorAs[PayinLister](a, "list payins")
	if err != nil {
		return nil, err
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
