package treezorsim

import (
	"encoding/json"
	"errors"
	"net/http"
)

// Errors of the Go API; the JSON endpoints map them to HTTP statuses (see statusOf).
var (
	ErrUnknownUser           = errors.New("unknown user")
	ErrUnknownIdentification = errors.New("unknown identification")
	ErrInvalidAction         = errors.New("invalid action")
	ErrIdentificationClosed  = errors.New("identification already ended")
	ErrNoPendingReview       = errors.New("no pending KYC review")
	ErrInvalidDecision       = errors.New("invalid KYC decision")
	ErrNotDE                 = errors.New("SEPA payin simulation is for users of country DE only")
	ErrInvalidAmount         = errors.New("invalid amount")
	ErrUserExists            = errors.New("user already exists")
	ErrInvalidUser           = errors.New("invalid user")
	ErrClosed                = errors.New("simulator closed")
)

// statusOf maps an error of the Go API to the HTTP status of the JSON endpoints.
func statusOf(err error) int {
	switch {
	case errors.Is(err, ErrUnknownUser), errors.Is(err, ErrUnknownIdentification):
		return http.StatusNotFound
	case errors.Is(err, ErrIdentificationClosed), errors.Is(err, ErrNoPendingReview),
		errors.Is(err, ErrNotDE), errors.Is(err, ErrUserExists):
		return http.StatusConflict
	case errors.Is(err, ErrInvalidAction), errors.Is(err, ErrInvalidDecision),
		errors.Is(err, ErrInvalidAmount), errors.Is(err, ErrInvalidUser):
		return http.StatusBadRequest
	case errors.Is(err, ErrClosed):
		return http.StatusServiceUnavailable
	default:
		return http.StatusInternalServerError
	}
}

// apiError is one entry of Treezor's error body {"errors":[…]}.
type apiError struct {
	Type    string `json:"type"`
	Code    string `json:"code"`
	Message string `json:"message"`
	DocURL  string `json:"docUrl,omitempty"`
}

const docURL = "https://docs.treezor.com/guide/api-basics/response-codes.html"

// writeTreezorError answers status with Treezor's error body.
func writeTreezorError(w http.ResponseWriter, status int, typ, code, message string) {
	writeJSON(w, status, map[string][]apiError{"errors": {{Type: typ, Code: code, Message: message, DocURL: docURL}}})
}

// writeSimError answers an error of the Go API on the /sim JSON endpoints.
func writeSimError(w http.ResponseWriter, err error) {
	status := statusOf(err)
	writeTreezorError(w, status, "invalid_request", codeOf(status), err.Error())
}

func codeOf(status int) string {
	switch status {
	case http.StatusNotFound:
		return "resource_not_found"
	case http.StatusConflict:
		return "conflict"
	case http.StatusBadRequest:
		return "input_validation_error"
	default:
		return "unexpected_error"
	}
}

// writeJSON answers status with v as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "encode response", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}
