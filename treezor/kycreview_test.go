package treezor

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestKYCReviewUnmarshal(t *testing.T) {
	tests := []struct {
		in   string
		want KYCReview
	}{
		{`0`, KYCReviewNone},
		{`1`, KYCReviewPending},
		{`"2"`, KYCReviewValidated},
		{`" 3 "`, KYCReviewRefused},
		{`4`, KYCReviewInvestigating},
		{`5`, KYCReviewClosed},
		{`"6"`, KYCReviewReviewOpen},
		{`7`, KYCReviewReviewPending},
		{`"VALIDATED"`, KYCReviewValidated},
		{`"refused"`, KYCReviewRefused},
		{`"REVIEW_PENDING"`, KYCReviewReviewPending},
		{`null`, KYCReviewNone},
		{`""`, KYCReviewNone},
		{`9`, KYCReview(9)},
	}
	for _, tt := range tests {
		var got KYCReview
		require.NoError(t, json.Unmarshal([]byte(tt.in), &got), tt.in)
		require.Equal(t, tt.want, got, tt.in)
	}
	for _, bad := range []string{`"MAYBE"`, `true`, `{}`, `1.5`, `"2x"`} {
		var got KYCReview
		require.Error(t, json.Unmarshal([]byte(bad), &got), bad)
	}
}

func TestKYCReviewStringAndFinal(t *testing.T) {
	tests := []struct {
		k     KYCReview
		name  string
		final bool
	}{
		{KYCReviewNone, "NONE", false},
		{KYCReviewPending, "PENDING", false},
		{KYCReviewValidated, "VALIDATED", true},
		{KYCReviewRefused, "REFUSED", true},
		{KYCReviewInvestigating, "INVESTIGATING", false},
		{KYCReviewClosed, "CLOSED", false},
		{KYCReviewReviewOpen, "REVIEW_OPEN", false},
		{KYCReviewReviewPending, "REVIEW_PENDING", false},
		{KYCReview(42), "UNKNOWN(42)", false},
	}
	for _, tt := range tests {
		require.Equal(t, tt.name, tt.k.String())
		require.Equal(t, tt.final, tt.k.Final(), tt.name)
	}
}

func TestKYCReviewMarshalsAsNumber(t *testing.T) {
	out, err := json.Marshal(struct {
		K KYCReview `json:"k"`
	}{KYCReviewValidated})
	require.NoError(t, err)
	require.JSONEq(t, `{"k":2}`, string(out))
}
