package treezor

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strconv"
	"strings"
)

// RequiredUserFields are the user attributes Treezor requires before a QES can be
// initiated (seed: otherwise the call answers HTTP 428).
var RequiredUserFields = []string{"firstname", "lastname", "email", "country", "phone"}

// ErrMalformed marks input that is not what Treezor sends: broken JSON, a webhook
// envelope without a type, a payload of the wrong shape, invalid UTF-8.
var ErrMalformed = errors.New("malformed")

// ErrInvalidArgument marks a call rejected before anything was sent (an empty id, a bad URL).
var ErrInvalidArgument = errors.New("invalid argument")

// APIError is an error answer (non-2xx) of the Treezor API, its OAuth token endpoint, or
// a document download. It never carries secrets, tokens or URLs.
type APIError struct {
	// StatusCode is the HTTP status of the answer.
	StatusCode int
	// Type, Code and Message are Treezor's error details when the body had them.
	Type, Code, Message string
	// Op names the call: "oauth token", "initiate QES", "request KYC review", ...
	Op string
	// MissingFields lists the user attributes to set when StatusCode is 428.
	MissingFields []string
	// FromTreezor reports that the body was one of Treezor's JSON error documents. An error
	// answer without one (an HTML page, an empty body) comes from something else at the base
	// URL: a proxy, a load balancer, or a misconfigured URL.
	FromTreezor bool
}

// Error describes the failure: operation, status, Treezor's type, code and message.
func (e *APIError) Error() string {
	var b strings.Builder
	b.WriteString("treezor ")
	b.WriteString(e.Op)
	b.WriteString(": HTTP ")
	b.WriteString(strconv.Itoa(e.StatusCode))
	if text := http.StatusText(e.StatusCode); text != "" {
		b.WriteString(" ")
		b.WriteString(text)
	}
	if e.Type != "" {
		b.WriteString(", type ")
		b.WriteString(e.Type)
	}
	if e.Code != "" {
		b.WriteString(", code ")
		b.WriteString(e.Code)
	}
	if e.UserDataIncomplete() {
		b.WriteString(": user data incomplete, these user fields must be set: ")
		b.WriteString(strings.Join(e.missingFields(), ", "))
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	return b.String()
}

func (e *APIError) missingFields() []string {
	if len(e.MissingFields) > 0 {
		return e.MissingFields
	}
	return RequiredUserFields
}

// Retryable reports whether the same call may succeed later without anyone changing
// anything: 5xx (502, 504, 522 ...), 429 and 408 are retryable; 400, 401 (after a token
// refresh), 403, 404, 410, 428 and other 4xx are not. Whose failure it is (a 401 or 403
// is ours to fix, not the user's) is Classify's answer.
func (e *APIError) Retryable() bool {
	switch {
	case e.StatusCode >= 500:
		return true
	case e.StatusCode == http.StatusTooManyRequests, e.StatusCode == http.StatusRequestTimeout:
		return true
	default:
		return false
	}
}

// UserDataIncomplete reports whether Treezor refused because required user fields are
// missing (HTTP 428 Precondition Required).
func (e *APIError) UserDataIncomplete() bool { return e.StatusCode == http.StatusPreconditionRequired }

// NetworkError is a call that got no HTTP answer: connection refused or reset, DNS
// failure, or the per-call timeout. It never carries the request URL.
type NetworkError struct {
	Op  string
	Err error
}

// Error describes the failure without the request URL.
func (e *NetworkError) Error() string {
	if isTLSError(e.Err) {
		return "treezor " + e.Op + ": TLS handshake failed (client certificate, CA or server name): " + e.Err.Error()
	}
	if e.Timeout() {
		return "treezor " + e.Op + ": timed out: " + e.Err.Error()
	}
	return "treezor " + e.Op + ": network error: " + e.Err.Error()
}

// Unwrap returns the transport error.
func (e *NetworkError) Unwrap() error { return e.Err }

// Timeout reports whether the call ran out of time.
func (e *NetworkError) Timeout() bool {
	var ne net.Error
	return errors.Is(e.Err, context.DeadlineExceeded) || (errors.As(e.Err, &ne) && ne.Timeout())
}

// IsRetryable reports whether a call that failed with err may succeed when tried again
// unchanged (transient failures; see Classify for whose failure it is):
// APIError.Retryable for API answers; network errors and timeouts are retryable; a
// cancelled context, invalid arguments and malformed answers are not.
func IsRetryable(err error) bool {
	if err == nil {
		return false
	}
	var apiErr *APIError
	if errors.As(err, &apiErr) {
		return apiErr.Retryable()
	}
	if errors.Is(err, context.Canceled) {
		return false
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var netErr *NetworkError
	if errors.As(err, &netErr) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne)
}

// missingFieldsFrom finds the required user field names mentioned in a 428 message, or
// returns all of them when the message names none.
func missingFieldsFrom(message string) []string {
	lower := strings.ToLower(message)
	words := strings.FieldsFunc(lower, func(r rune) bool {
		return !(r >= 'a' && r <= 'z')
	})
	mentioned := map[string]bool{}
	for _, w := range words {
		mentioned[w] = true
	}
	// Treezor may spell them "first name", "firstName", "phone number", "phoneNumber".
	aliases := map[string][]string{
		"firstname": {"firstname"},
		"lastname":  {"lastname"},
		"email":     {"email", "mail"},
		"country":   {"country"},
		"phone":     {"phone", "phonenumber", "mobile"},
	}
	compact := strings.Join(words, "")
	var out []string
	for _, field := range RequiredUserFields {
		for _, alias := range aliases[field] {
			if mentioned[alias] || (len(alias) > 6 && strings.Contains(compact, alias)) {
				out = append(out, field)
				break
			}
		}
	}
	if len(out) == 0 {
		return append([]string(nil), RequiredUserFields...)
	}
	return out
}
