package treezor

import "strings"

// ResultClass is the coarse meaning of a QES `result` value.
type ResultClass string

// Result classes.
const (
	ResultClassSuccess  ResultClass = "SUCCESS"
	ResultClassPending  ResultClass = "PENDING"
	ResultClassFraud    ResultClass = "FRAUD"
	ResultClassCanceled ResultClass = "CANCELED"
	ResultClassAborted  ResultClass = "ABORTED"
	ResultClassUnknown  ResultClass = "UNKNOWN"
)

// ClassifyResult maps a QES result (case-insensitive, trimmed) to its class. Any result
// that mentions FRAUD is fraud.
func ClassifyResult(result string) ResultClass {
	r := strings.ToUpper(strings.TrimSpace(result))
	switch {
	case r == ResultSuccess || r == ResultSuccessDataChanged:
		return ResultClassSuccess
	case r == ResultReviewPending || r == ResultCheckPending:
		return ResultClassPending
	case strings.Contains(r, "FRAUD"):
		return ResultClassFraud
	case r == ResultCanceled || r == "CANCELLED":
		return ResultClassCanceled
	case r == ResultAborted:
		return ResultClassAborted
	default:
		return ResultClassUnknown
	}
}
