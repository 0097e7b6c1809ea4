package workflows

import (
	"fmt"
	"net/url"
	"strings"

	"go.temporal.io/sdk/temporal"
)

// MaxUserIDLen bounds the Treezor user id (it is part of the workflow id and access tags).
const MaxUserIDLen = 64

// Validate checks the input a starter sends; the workflow checks it again and fails with
// an ErrTypeInvalidInput error on bad input. Errors never quote the redirect URL.
func (in Input) Validate() error {
	if err := ValidateUserID(in.UserID); err != nil {
		return err
	}
	if in.Country != "" && !isCountryCode(in.Country) {
		return fmt.Errorf("country %q is not an ISO 3166-1 alpha-2 code", in.Country)
	}
	if in.WalletID != "" {
		if err := ValidateUserID(in.WalletID); err != nil {
			return fmt.Errorf("wallet id: %w", err)
		}
	}
	if in.RedirectURL != "" {
		u, err := url.Parse(in.RedirectURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("redirect URL is not an absolute http(s) URL")
		}
	}
	if err := in.Policy.validate(); err != nil {
		return fmt.Errorf("policy: %w", err)
	}
	return nil
}

// ValidateUserID checks a Treezor user (or wallet) id: 1 to MaxUserIDLen characters of
// [A-Za-z0-9_-]. Treezor's ids are integers (userId in
// https://docs.treezor.com/guide/users/modifications.html), so '.' is refused; the id goes into
// the workflow id and access tags, so nothing wider may. The messages never quote the id.
func ValidateUserID(id string) error {
	if id == "" {
		return fmt.Errorf("user id is empty")
	}
	if len(id) > MaxUserIDLen {
		return fmt.Errorf("user id is longer than %d characters", MaxUserIDLen)
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return fmt.Errorf("user id has a character outside [A-Za-z0-9_-]")
		}
	}
	return nil
}

func isCountryCode(c string) bool {
	if len(c) != 2 {
		return false
	}
	for _, r := range c {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return false
		}
	}
	return true
}

// invalidInputError is the workflow's answer to an input that fails Validate.
func invalidInputError(err error) error {
	return temporal.NewNonRetryableApplicationError("invalid onboarding input: "+err.Error(), ErrTypeInvalidInput, nil)
}

// SEPA credit transfer payment methods (Treezor paymentMethodId): 20 SCT, 27 SCT Inst.
const (
	PaymentMethodSCT     = 20
	PaymentMethodSCTInst = 27
)

// sepaValidated reports whether a payin is a validated SEPA credit transfer.
func sepaValidated(method int, status string) bool {
	return (method == PaymentMethodSCT || method == PaymentMethodSCTInst) &&
		strings.EqualFold(strings.TrimSpace(status), "VALIDATED")
}

// countryRequiresSEPA reports whether the country needs a validated SEPA payin before the
// KYC review (seed: Germany).
func countryRequiresSEPA(country string) bool { return strings.EqualFold(country, "DE") }
