package starter

import (
	"fmt"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/qesflow/qesflow/workflows"
)

// Input limits.
const (
	maxRedirectURLLen = 2048
	maxReasonLen      = 500  // restart and cancel reasons
	maxNoteLen        = 2000 // compliance notes
)

// ValidUserID reports whether id is a Treezor user id qesflow accepts
// (workflows.ValidateUserID: the one rule, shared with the workflow).
func ValidUserID(id string) error { return workflows.ValidateUserID(id) }

// validRedirectURL checks that u is an absolute http(s) URL with a host; https only in
// production. The messages never repeat the URL.
func validRedirectURL(u string, production bool) error {
	if len(u) > maxRedirectURLLen {
		return fmt.Errorf("at most %d characters", maxRedirectURLLen)
	}
	parsed, err := url.Parse(u)
	if err != nil || !parsed.IsAbs() || parsed.Host == "" {
		return fmt.Errorf("must be an absolute URL")
	}
	switch strings.ToLower(parsed.Scheme) {
	case "https":
	case "http":
		if production {
			return fmt.Errorf("must use https")
		}
	default:
		return fmt.Errorf("must be an http or https URL")
	}
	if parsed.User != nil {
		return fmt.Errorf("must not carry credentials")
	}
	return nil
}

// normalizeCountry upper-cases an ISO 3166-1 alpha-2 code; "" stays "".
func normalizeCountry(c string) (string, error) {
	if c == "" {
		return "", nil
	}
	if len(c) != 2 || !isLetter(c[0]) || !isLetter(c[1]) {
		return "", fmt.Errorf("must be an ISO 3166-1 alpha-2 code of two letters")
	}
	return strings.ToUpper(c), nil
}

func isLetter(b byte) bool { return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' }

func validText(s string, maxRunes int) error {
	if !utf8.ValidString(s) {
		return fmt.Errorf("must be valid UTF-8")
	}
	if utf8.RuneCountInString(s) > maxRunes {
		return fmt.Errorf("at most %d characters", maxRunes)
	}
	return nil
}
