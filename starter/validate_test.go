package starter

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/qesflow/qesflow/workflows"
)

func TestValidUserID(t *testing.T) {
	for _, ok := range []string{"1", "123456", "user_A-9", strings.Repeat("x", 64)} {
		require.NoError(t, ValidUserID(ok), ok)
	}
	for _, bad := range []string{"", strings.Repeat("x", 65), "a b", "a/b", "a.b", "é", "a\n", "../x", "a:b"} {
		require.Error(t, ValidUserID(bad), bad)
	}
}

func TestValidRedirectURL(t *testing.T) {
	tests := []struct {
		url        string
		production bool
		wantErr    string
	}{
		{"https://app.example.com/back?x=1", true, ""},
		{"http://localhost:3000/back", false, ""},
		{"http://app.example.com/back", true, "must use https"},
		{"/relative", false, "absolute"},
		{"example.com/back", false, "absolute"},
		{"https://", false, "absolute"},
		{"ftp://example.com/", false, "http or https"},
		{"javascript://x/%0aalert(1)", false, "http or https"},
		{"https://user:pw@example.com/", false, "credentials"},
		{"https://example.com/" + strings.Repeat("a", 2048), false, "at most"},
		{"https://exa mple.com/", false, "absolute"},
	}
	for _, tt := range tests {
		err := validRedirectURL(tt.url, tt.production)
		if tt.wantErr == "" {
			require.NoError(t, err, tt.url)
			continue
		}
		require.ErrorContains(t, err, tt.wantErr, tt.url)
		require.NotContains(t, err.Error(), "example.com", "messages never repeat the URL")
	}
}

func TestNormalizeCountry(t *testing.T) {
	got, err := normalizeCountry("de")
	require.NoError(t, err)
	require.Equal(t, "DE", got)
	got, err = normalizeCountry("")
	require.NoError(t, err)
	require.Equal(t, "", got)
	for _, bad := range []string{"D", "DEU", "D1", "12", "dé"} {
		_, err := normalizeCountry(bad)
		require.Error(t, err, bad)
	}
}

func TestPublicStateAndMask(t *testing.T) {
	require.Equal(t, "UNDER_REVIEW", publicState(workflows.StateFraudSuspected))
	require.Equal(t, "UNDER_REVIEW", publicState(workflows.StateComplianceReview))
	require.Equal(t, "AWAITING_USER", publicState(workflows.StateAwaitingUser))

	safe := workflows.UserStatus{UserID: "u", Status: "IN_PROGRESS", Message: "Keep going", Attempt: 1}
	got, masked := maskUserStatus(safe)
	require.False(t, masked)
	require.Equal(t, safe, got)

	leaky := workflows.UserStatus{UserID: "u", Status: "UNDER_REVIEW", Message: "Fraud suspicion 3201", Attempt: 2}
	got, masked = maskUserStatus(leaky)
	require.True(t, masked)
	require.Equal(t, "UNDER_REVIEW", got.Status)
	require.NotContains(t, strings.ToUpper(got.Message), "FRAUD")
	require.Equal(t, 2, got.Attempt)
}
