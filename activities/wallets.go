package activities

import (
	"context"
	"strings"

	"go.temporal.io/sdk/temporal"

	"github.com/qesflow/qesflow/treezor"
)

// ListUserWalletsName is the registered name of ListUserWallets.
const ListUserWalletsName = "ListUserWallets"

// WalletLister lists a user's wallets; *treezor.Client implements it.
type WalletLister interface {
	ListWallets(ctx context.Context, userID string) ([]treezor.Wallet, error)
}

var _ WalletLister = (*treezor.Client)(nil)

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
	l, ok := a.Treezor.(WalletLister)
	if !ok {
		return nil, temporal.NewNonRetryableApplicationError("list wallets: the Treezor client cannot list wallets", ErrTypeInvalidArgument, nil)
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
