package treezor

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestListPayins(t *testing.T) {
	f := newWireServer(t)
	f.answer(http.StatusOK, `{"payins":[`+
		`{"payinId":"811","walletId":"3044","userId":"0","payinStatus":"VALIDATED","paymentMethodId":"20","amount":"10.00"},`+
		`{"payinId":812,"walletId":3044,"payinStatus":"PENDING","paymentMethodId":25}]}`)
	got, err := newTestClient(t, f).ListPayins(context.Background(), "3044")
	require.NoError(t, err)
	require.Equal(t, []Payin{
		{PayinID: "811", WalletID: "3044", Status: "VALIDATED", PaymentMethodID: 20},
		{PayinID: "812", WalletID: "3044", Status: "PENDING", PaymentMethodID: 25},
	}, got)
	req := f.lastRequest(t)
	require.Equal(t, http.MethodGet, req.Method)
	require.Equal(t, "/v1/payins", req.EscapedPath)
}

func TestListPayinsNeedsAWallet(t *testing.T) {
	f := newWireServer(t)
	_, err := newTestClient(t, f).ListPayins(context.Background(), "")
	require.ErrorIs(t, err, ErrInvalidArgument)
}
