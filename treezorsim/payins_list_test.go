package treezorsim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestListPayins: GET /v1/payins?walletId=… answers the wallet's delivered payins (read
// scope), VALIDATED once payin.update went out, and nothing of other wallets.
func TestListPayins(t *testing.T) {
	h := newHarness(t)
	h.sim.CreateUser(completeUser("9301", "DE"))
	h.sim.CreateUser(completeUser("9302", "DE"))
	payinID, err := h.sim.SEPAPayin("9301", "")
	require.NoError(t, err)
	require.NoError(t, h.sim.Payin("9302"))
	h.waitIdle()
	wallet := h.rec.forUser("9301")[1].event.WalletID
	require.NotEmpty(t, wallet)

	status, body := h.do(http.MethodGet, "/v1/payins?walletId="+wallet, h.token("read_only"), nil)
	require.Equal(t, http.StatusOK, status, string(body))
	var out struct {
		Payins []map[string]any `json:"payins"`
	}
	require.NoError(t, json.Unmarshal(body, &out))
	require.Len(t, out.Payins, 1)
	p := out.Payins[0]
	require.Equal(t, []any{payinID, wallet, "9301", "VALIDATED", "20", "EUR", "10.00"},
		[]any{p["payinId"], p["walletId"], p["userId"], p["payinStatus"], p["paymentMethodId"], p["currency"], p["amount"]})
}

// TestUserWallets: with the other-wallet variant a user owns two wallets, GET /v1/wallets
// lists both (the first with numbers as JSON numbers, the second as strings, as Treezor
// sends both), and the SEPA transfer and its payin listing are on the second one, with
// Treezor's placeholder userId when that variant is on too.
func TestUserWallets(t *testing.T) {
	h := newHarness(t)
	h.sim.SetWebhookVariants(WebhookVariants{PayinOtherWallet: true, PayinPlaceholderUser: true, OtherPayins: true})
	h.sim.CreateUser(completeUser("9401", "DE"))

	status, body := h.do(http.MethodGet, "/v1/wallets?userId=9401", h.token("read_only"), nil)
	require.Equal(t, http.StatusOK, status, string(body))
	var wallets struct {
		Wallets []map[string]any `json:"wallets"`
	}
	require.NoError(t, json.Unmarshal(body, &wallets))
	require.Len(t, wallets.Wallets, 2)
	require.IsType(t, float64(0), wallets.Wallets[0]["walletId"])
	require.IsType(t, "", wallets.Wallets[1]["walletId"])
	main, second := fmt.Sprint(int64(wallets.Wallets[0]["walletId"].(float64))), wallets.Wallets[1]["walletId"].(string)

	_, err := h.sim.SEPAPayin("9401", "")
	require.NoError(t, err)
	h.waitIdle()
	list := func(wallet string) []map[string]any {
		status, body := h.do(http.MethodGet, "/v1/payins?walletId="+wallet, h.token("read_only"), nil)
		require.Equal(t, http.StatusOK, status, string(body))
		var out struct {
			Payins []map[string]any `json:"payins"`
		}
		require.NoError(t, json.Unmarshal(body, &out))
		return out.Payins
	}
	card, sepa := list(main), list(second)
	require.Len(t, card, 1, "the card top-up went to the main wallet")
	require.Equal(t, "25", card[0]["paymentMethodId"])
	require.Len(t, sepa, 1, "the SEPA transfer went to the second wallet")
	require.Equal(t, []any{"20", "VALIDATED", PayinPlaceholderUserID}, []any{sepa[0]["paymentMethodId"], sepa[0]["payinStatus"], sepa[0]["userId"]})

	status, body = h.do(http.MethodGet, "/v1/wallets?userId=9401", h.token(ScopeReadWrite), nil)
	require.Equal(t, http.StatusForbidden, status, "read_write alone cannot read: %s", body)
}

// TestDeliveriesNameTheirPayin: each payin.* delivery reports the payin its webhook
// described (wallet, method, status), the same as the receiver decoded, so a test can tell
// the SEPA transfer that had to reach an onboarding from a card top-up or a PENDING one.
func TestDeliveriesNameTheirPayin(t *testing.T) {
	h := newHarness(t)
	h.sim.SetWebhookVariants(WebhookVariants{PayinOtherWallet: true, PayinPlaceholderUser: true, OtherPayins: true, PHPShapes: true})
	h.sim.CreateUser(completeUser("9501", "DE"))
	payinID, err := h.sim.SEPAPayin("9501", "")
	require.NoError(t, err)
	h.waitIdle()

	wallets := h.sim.Wallets("9501")
	require.Len(t, wallets, 2)
	require.Nil(t, h.sim.Wallets("no-such-user"))
	byWebhook := map[string]received{}
	for _, r := range h.rec.forUser(PayinPlaceholderUserID) { // the payins' userId is Treezor's placeholder
		byWebhook[r.env.WebhookID] = r
	}
	var got []SentPayin
	for _, d := range h.sim.Deliveries("9501") {
		require.NotNil(t, d.Payin, "%s names its payin", d.Webhook)
		r, ok := byWebhook[d.WebhookID]
		require.True(t, ok, "delivery %s was received", d.WebhookID)
		require.Equal(t, []string{r.event.PayinID, r.event.WalletID, fmt.Sprint(r.event.PaymentMethodID), r.event.PayinStatus},
			[]string{d.Payin.PayinID, d.Payin.WalletID, d.Payin.PaymentMethodID, d.Payin.Status}, "what %s said", d.Webhook)
		got = append(got, *d.Payin)
	}
	require.Len(t, got, 3)
	require.Equal(t, SentPayin{PayinID: got[0].PayinID, WalletID: wallets[0], PaymentMethodID: "25", Status: "VALIDATED"}, got[0], "card top-up")
	require.False(t, got[0].SEPACreditTransfer())
	require.Equal(t, SentPayin{PayinID: payinID, WalletID: wallets[1], PaymentMethodID: "20", Status: "PENDING"}, got[1])
	require.Equal(t, SentPayin{PayinID: payinID, WalletID: wallets[1], PaymentMethodID: "20", Status: "VALIDATED"}, got[2])
	require.True(t, got[2].SEPACreditTransfer())
}
