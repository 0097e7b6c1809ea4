package treezor

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
)

// Payin is what qesflow reads of a Treezor payin: ids, status and payment method (20 SEPA
// credit transfer, 27 SCT Inst). Its userId is not relied on (Treezor may set a
// placeholder at first); the wallet is.
type Payin struct {
	PayinID         string
	WalletID        string
	Status          string
	PaymentMethodID int
}

type payinListItem struct {
	PayinID         flexString `json:"payinId"`
	WalletID        flexString `json:"walletId"`
	PayinStatus     flexString `json:"payinStatus"`
	PaymentMethodID flexInt    `json:"paymentMethodId"`
}

// ListPayins reads the payins received into a wallet (GET /v1/payins?walletId=…; scope
// read_only), so that a transfer made before the workflow waited for it still counts.
func (c *Client) ListPayins(ctx context.Context, walletID string) ([]Payin, error) {
	const op = "list payins"
	if err := requireID("wallet id", walletID); err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	var out struct {
		Payins []payinListItem `json:"payins"`
	}
	path := "/v1/payins?walletId=" + url.QueryEscape(walletID)
	if err := c.call(ctx, op, http.MethodGet, path, nil, &out); err != nil {
		return nil, fmt.Errorf("%s of wallet %s: %w", op, walletID, err)
	}
	payins := make([]Payin, 0, len(out.Payins))
	for _, p := range out.Payins {
		payins = append(payins, Payin{PayinID: string(p.PayinID), WalletID: string(p.WalletID),
			Status: string(p.PayinStatus), PaymentMethodID: int(p.PaymentMethodID)})
	}
	return payins, nil
}
