package treezor

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// contractFixture is one API answer as Treezor documents it
// (testdata/contract/api/*.json; the simulator is tested against the same files).
type contractFixture struct {
	Source  string `json:"source"`
	Request struct {
		Method string `json:"method"`
		Path   string `json:"path"`
	} `json:"request"`
	Status int             `json:"status"`
	Body   json.RawMessage `json:"body"`
	Expect struct {
		Kind, Reason, Type, Code string
		MissingFields            []string
		IdentificationID         string `json:"identificationId"`
		IdentificationURL        string `json:"identificationURL"`
		UserID, Country, URL     string
		KYCReview                *int `json:"kycReview"`
		KYCLevel                 *int `json:"kycLevel"`
		Wallets                  []string
		Payins                   []struct {
			PayinID         string `json:"payinId"`
			WalletID        string `json:"walletId"`
			Status          string
			PaymentMethodID int `json:"paymentMethodId"`
		}
	} `json:"expect"`
}

func loadContract(t *testing.T) map[string]contractFixture {
	t.Helper()
	files, err := filepath.Glob("testdata/contract/api/*.json")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	out := map[string]contractFixture{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		var fx contractFixture
		require.NoError(t, json.Unmarshal(b, &fx), f)
		require.NotEmpty(t, fx.Source, "%s names the documentation it comes from", f)
		require.NotZero(t, fx.Status, f)
		out[strings.TrimSuffix(filepath.Base(f), ".json")] = fx
	}
	return out
}

// serveFixture answers fx for its request and a valid token for /oauth/token otherwise: a
// raw server, as the fixture's documented bytes are the point of the test.
func serveFixture(t *testing.T, fx contractFixture) *Client {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path == "/oauth/token" && fx.Request.Path != "/oauth/token" {
			_, _ = w.Write([]byte(`{"token_type":"Bearer","expires_in":3600,"access_token":"eyJhbGciOiJSUzI1NiJ9.contract-test-token"}`))
			return
		}
		require.Equal(t, fx.Request.Method, r.Method)
		if _, query, ok := strings.Cut(fx.Request.Path, "?"); ok {
			key, _, _ := strings.Cut(query, "=")
			require.NotEmpty(t, r.URL.Query().Get(key), "the request filters by %s", key)
		}
		w.WriteHeader(fx.Status)
		_, _ = w.Write(fx.Body)
	}))
	t.Cleanup(srv.Close)
	c, err := NewClient(Config{BaseURL: srv.URL, ClientID: "id", ClientSecret: "secret"})
	require.NoError(t, err)
	return c
}

// callFor calls the client method of the fixture's request.
func callFor(t *testing.T, c *Client, fx contractFixture) (any, error) {
	ctx := context.Background()
	switch fx.Request.Method + " " + fx.Request.Path {
	case "POST /oauth/token":
		return c.accessToken(ctx)
	case "POST /v1/users/{userId}/qes":
		return c.InitiateQES(ctx, "1611975", "", "tag")
	case "PUT /v1/users/{userId}/Kycreview":
		return c.RequestKYCReview(ctx, "1611975", "tag")
	case "GET /v1/users/{userId}":
		return c.GetUser(ctx, "100147235")
	case "GET /v1/documents/{documentId}/download":
		return c.DocumentDownloadURL(ctx, "1234567")
	case "GET /v1/wallets?userId={userId}":
		return c.ListWallets(ctx, "100147235")
	case "GET /v1/payins?walletId={walletId}":
		return c.ListPayins(ctx, "3300451")
	}
	t.Fatalf("no client call for %s %s", fx.Request.Method, fx.Request.Path)
	return nil, nil
}

// TestClientDecodesContractFixtures: the client decodes every documented answer, and
// sorts every documented error as the workflow needs it.
func TestClientDecodesContractFixtures(t *testing.T) {
	for name, fx := range loadContract(t) {
		t.Run(name, func(t *testing.T) {
			got, err := callFor(t, serveFixture(t, fx), fx)
			want := fx.Expect
			if fx.Status >= 300 {
				require.Error(t, err)
				kind, reason := Classify(err)
				require.Equal(t, want.Kind, kind)
				require.Equal(t, want.Reason, reason)
				var apiErr *APIError
				require.ErrorAs(t, err, &apiErr)
				require.True(t, apiErr.FromTreezor, "a Treezor error body")
				if want.Code != "" {
					require.Equal(t, want.Code, apiErr.Code)
				}
				if want.Type != "" {
					require.Equal(t, want.Type, apiErr.Type)
				}
				if want.MissingFields != nil {
					require.Equal(t, want.MissingFields, apiErr.MissingFields)
				}
				return
			}
			require.NoError(t, err)
			switch v := got.(type) {
			case string: // a token or a download URL
				if want.URL != "" {
					require.Equal(t, want.URL, v)
				} else {
					var body tokenResponse
					require.NoError(t, json.Unmarshal(fx.Body, &body))
					require.Equal(t, string(body.AccessToken), v)
				}
			case Identification:
				require.Equal(t, Identification{IdentificationID: want.IdentificationID, IdentificationURL: want.IdentificationURL}, v)
			case KYCReviewResult:
				require.Equal(t, KYCReviewResult{UserID: want.UserID, KYCReview: KYCReview(*want.KYCReview), KYCLevel: *want.KYCLevel}, v)
			case User:
				require.Equal(t, User{UserID: want.UserID, Country: want.Country, KYCReview: KYCReview(*want.KYCReview), KYCLevel: *want.KYCLevel}, v)
			case []Wallet:
				ids := make([]string, 0, len(v))
				for _, w := range v {
					require.Equal(t, want.UserID, w.UserID)
					ids = append(ids, w.WalletID)
				}
				require.Equal(t, want.Wallets, ids)
			case []Payin:
				require.Len(t, v, len(want.Payins))
				for i, p := range want.Payins {
					require.Equal(t, Payin{PayinID: p.PayinID, WalletID: p.WalletID, Status: p.Status, PaymentMethodID: p.PaymentMethodID}, v[i])
				}
			default:
				t.Fatalf("unexpected answer %T", got)
			}
		})
	}
}
