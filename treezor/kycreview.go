package treezor

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
)

// KYCReview is a user's kycReview status (Treezor OpenAPI UserObject).
type KYCReview int

const (
	KYCReviewNone          KYCReview = 0
	KYCReviewPending       KYCReview = 1
	KYCReviewValidated     KYCReview = 2
	KYCReviewRefused       KYCReview = 3
	KYCReviewInvestigating KYCReview = 4 // deprecated by Treezor
	KYCReviewClosed        KYCReview = 5 // deprecated by Treezor
	KYCReviewReviewOpen    KYCReview = 6
	KYCReviewReviewPending KYCReview = 7
)

var kycReviewNames = map[KYCReview]string{
	KYCReviewNone:          "NONE",
	KYCReviewPending:       "PENDING",
	KYCReviewValidated:     "VALIDATED",
	KYCReviewRefused:       "REFUSED",
	KYCReviewInvestigating: "INVESTIGATING",
	KYCReviewClosed:        "CLOSED",
	KYCReviewReviewOpen:    "REVIEW_OPEN",
	KYCReviewReviewPending: "REVIEW_PENDING",
}

// String returns Treezor's name of the value, or UNKNOWN(n).
func (k KYCReview) String() string {
	if s, ok := kycReviewNames[k]; ok {
		return s
	}
	return "UNKNOWN(" + strconv.Itoa(int(k)) + ")"
}

// Final reports whether the review reached a decision (validated or refused).
func (k KYCReview) Final() bool { return k == KYCReviewValidated || k == KYCReviewRefused }

// UnmarshalJSON accepts a number, a numeric string, or a name ("VALIDATED").
func (k *KYCReview) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if string(b) == "null" || string(b) == `""` {
		*k = KYCReviewNone
		return nil
	}
	if len(b) == 0 || b[0] != '"' {
		return k.setNumber(string(b))
	}
	str, err := unquote(b)
	if err != nil {
		return fmt.Errorf("kycReview: %w", err)
	}
	s := strings.TrimSpace(str)
	// No name is a number, so trying the number first (what Treezor sends) changes nothing.
	if n, err := strconv.Atoi(s); err == nil {
		*k = KYCReview(n)
		return nil
	}
	for v, name := range kycReviewNames {
		if strings.EqualFold(name, s) {
			*k = v
			return nil
		}
	}
	return fmt.Errorf("kycReview: %q is neither a number nor a known name", s)
}

func (k *KYCReview) setNumber(s string) error {
	n, err := strconv.Atoi(s)
	if err != nil {
		return fmt.Errorf("kycReview: %q is neither a number nor a known name", s)
	}
	*k = KYCReview(n)
	return nil
}
