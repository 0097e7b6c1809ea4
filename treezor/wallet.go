package treezor

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
)

// Wallet is what qesflow reads of a Treezor wallet: its id, owner, type (9 electronic
// money, 10 payment account) and status. A user may own several.
type Wallet struct {
	WalletID     string
	UserID       string
	WalletTypeID int
	Status       string
}

type walletItem struct {
	WalletID     flexString `json:"walletId"`
	UserID       flexString `json:"userId"`
	WalletTypeID flexInt    `json:"walletTypeId"`
	WalletStatus flexString `json:"walletStatus"`
}

// ListWallets reads the wallets of a user (GET /v1/wallets?userId=…; scope read_only), so
// that payins, whose userId Treezor does not guarantee, are matched by wallet. Wallets of
// another owner in the answer are dropped.
func (c *Client) ListWallets(ctx context.Context, userID string) ([]Wallet, error) {
	const op = "list wallets"
	if err := requireID("user id", userID); err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	var out struct {
		Wallets []walletItem `json:"wallets"`
	}
	path := "/v1/wallets?userId=" + url.QueryEscape(userID)
	if err := c.call(ctx, op, http.MethodGet, path, nil, &out); err != nil {
		return nil, fmt.Errorf("%s of user %s: %w", op, userID, err)
	}
	wallets := make([]Wallet, 0, len(out.Wallets))
	for _, w := range out.Wallets {
		if w.WalletID == "" || (w.UserID != "" && string(w.UserID) != userID) {
			continue
		}
		wallets = append(wallets, Wallet{WalletID: string(w.WalletID), UserID: string(w.UserID),
			WalletTypeID: int(w.WalletTypeID), Status: string(w.WalletStatus)})
	}
	return wallets, nil
}
