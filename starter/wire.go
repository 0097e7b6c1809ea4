package starter

import (
	"strings"

	"github.com/qesflow/qesflow/workflows"
)

// The wire forms below speak the API's vocabulary where the workflow's types carry
// Treezor's: kycReview is a name (NONE, PENDING, VALIDATED, ...), never Treezor's integer.

// statusBody is GET /v1/onboardings/{userId}/details.
type statusBody struct {
	workflows.Status
	KYCReview string `json:"kycReview"`
}

func statusWire(st workflows.Status) statusBody {
	return statusBody{Status: st, KYCReview: st.KYCReview.String()}
}

// resultBody is a problem's lastResult.
type resultBody struct {
	workflows.Result
	KYCReview string `json:"kycReview"`
}

// problemBody is a problem as sent: code is the type's slug, for clients that switch on
// it without parsing the URI.
type problemBody struct {
	problem
	Code       string      `json:"code"`
	LastResult *resultBody `json:"lastResult,omitempty"`
}

func problemWire(p problem) problemBody {
	b := problemBody{problem: p, Code: strings.TrimPrefix(p.Type, ProblemTypePrefix)}
	if p.LastResult != nil {
		b.LastResult = &resultBody{Result: *p.LastResult, KYCReview: p.LastResult.KYCReview.String()}
	}
	return b
}
