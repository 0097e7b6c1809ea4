package treezorsim

import (
	"encoding/json"
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
		Payins []map[string]string `json:"payins"`
	}
	require.NoError(t, json.Unmarshal(body, &out))
	require.Equal(t, []map[string]string{{
		"payinId": payinID, "walletId": wallet, "userId": "9301", "payinStatus": "VALIDATED",
		"paymentMethodId": "20", "currency": "EUR",
	}}, out.Payins)
}
