package treezor

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestGetUser(t *testing.T) {
	tests := []struct {
		name, answer string
		want         User
	}{
		{"strings", `{"users":[{"userId":"100200","country":"DE","kycReview":"1","kycLevel":"0","firstname":"Émilie"}]}`,
			User{UserID: "100200", Country: "DE", KYCReview: KYCReviewPending}},
		{"numbers", `{"users":[{"userId":100200,"country":"FR","kycReview":2,"kycLevel":3}]}`,
			User{UserID: "100200", Country: "FR", KYCReview: KYCReviewValidated, KYCLevel: 3}},
		{"country missing", `{"users":[{"userId":"100200","kycReview":"0"}]}`,
			User{UserID: "100200", KYCReview: KYCReviewNone}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newWireServer(t)
			f.answer(http.StatusOK, tt.answer)
			c := newTestClient(t, f)
			got, err := c.GetUser(context.Background(), "100200")
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
			req := f.lastRequest(t)
			require.Equal(t, http.MethodGet, req.Method)
			require.Equal(t, "/v1/users/100200", req.EscapedPath)
			require.Empty(t, req.Body)
		})
	}
}

func TestGetUserUnknown(t *testing.T) {
	f := newWireServer(t)
	f.answer(http.StatusNotFound, `{"errors":[{"type":"invalid_request","code":"resource_not_found","message":"user not found"}]}`)
	_, err := newTestClient(t, f).GetUser(context.Background(), "100200")
	var apiErr *APIError
	require.ErrorAs(t, err, &apiErr)
	require.Equal(t, http.StatusNotFound, apiErr.StatusCode)
}
