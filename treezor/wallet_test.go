package treezor

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestListWallets(t *testing.T) {
	tests := []struct {
		name, body string
		want       []Wallet
	}{
		{
			name: "ids as numbers and strings",
			body: `{"wallets":[{"walletId":3044,"userId":77,"walletTypeId":10,"walletStatus":"VALIDATED"},` +
				`{"walletId":"3045","userId":"77","walletTypeId":"9","walletStatus":"PENDING"}]}`,
			want: []Wallet{{WalletID: "3044", UserID: "77", WalletTypeID: 10, Status: "VALIDATED"},
				{WalletID: "3045", UserID: "77", WalletTypeID: 9, Status: "PENDING"}},
		},
		{
			name: "another owner's wallet and a wallet without id are dropped",
			body: `{"wallets":[{"walletId":"3046","userId":"78"},{"walletId":null,"userId":"77"},{"walletId":"3047"}]}`,
			want: []Wallet{{WalletID: "3047"}},
		},
		{name: "no wallet", body: `{"wallets":[]}`, want: []Wallet{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newWireServer(t)
			f.answer(http.StatusOK, tt.body)
			got, err := newTestClient(t, f).ListWallets(context.Background(), "77")
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
			req := f.lastRequest(t)
			require.Equal(t, http.MethodGet, req.Method)
			require.Equal(t, "/v1/wallets", req.EscapedPath)
		})
	}
}

func TestListWalletsNeedsAUser(t *testing.T) {
	f := newWireServer(t)
	_, err := newTestClient(t, f).ListWallets(context.Background(), " ")
	require.ErrorIs(t, err, ErrInvalidArgument)
}
