package starter

import (
	"encoding/json"
	"net/http"

	"github.com/qesflow/qesflow/internal/httpserver"
	"github.com/qesflow/qesflow/workflows"
)

// ProblemTypePrefix prefixes every problem type URI this API answers with (RFC 9457); the
// suffix is a Kind's slug or one of the HTTP-only slugs below.
const ProblemTypePrefix = "urn:qesflow:problem:"

// HTTP-only problem slugs (the rest are Kind.String()).
const (
	problemUnauthorized     = "unauthorized"
	problemForbidden        = "forbidden"
	problemPayloadTooLarge  = "payload-too-large"
	problemMethodNotAllowed = "method-not-allowed"
	problemTooManyFailures  = "too-many-failed-authentications"
)

// problem is an application/problem+json body (RFC 9457) with our extension members.
type problem struct {
	Type      string `json:"type"`
	Title     string `json:"title"`
	Status    int    `json:"status"`
	Detail    string `json:"detail,omitempty"`
	RequestID string `json:"requestId,omitempty"`

	Field         string            `json:"field,omitempty"`
	MissingFields []string          `json:"missingFields,omitempty"`
	UserID        string            `json:"userId,omitempty"`
	WorkflowID    string            `json:"workflowId,omitempty"`
	RunID         string            `json:"runId,omitempty"`
	LastResult    *workflows.Result `json:"lastResult,omitempty"`
	RequiredScope string            `json:"requiredScope,omitempty"`
	// State is the current state of an onboarding that refused an action, as the caller
	// may see it.
	State string `json:"state,omitempty"`
}

// kindProblem is the status and title of each Kind.
var kindProblem = map[Kind]struct {
	status int
	title  string
}{
	KindInternal:                   {http.StatusInternalServerError, "Internal error"},
	KindInvalid:                    {http.StatusBadRequest, "Invalid request"},
	KindNotFound:                   {http.StatusNotFound, "Onboarding not found"},
	KindClosed:                     {http.StatusConflict, "Onboarding has ended"},
	KindAlreadyValidated:           {http.StatusConflict, "Onboarding already validated"},
	KindRejected:                   {http.StatusConflict, "New onboarding not allowed"},
	KindIdentificationNotAvailable: {http.StatusConflict, "Identification not available"},
	KindUserDataIncomplete:         {http.StatusUnprocessableEntity, "User data incomplete"},
	KindProviderRejected:           {http.StatusUnprocessableEntity, "Identification refused by Treezor"},
	KindTimeout:                    {http.StatusGatewayTimeout, "Onboarding did not answer in time"},
	KindUnavailable:                {http.StatusServiceUnavailable, "Service unavailable"},
	KindProviderUnavailable:        {http.StatusServiceUnavailable, "Treezor unavailable"},
	KindNotApplicable:              {http.StatusConflict, "Action does not apply"},
	KindTreezorUserUnknown:         {http.StatusUnprocessableEntity, "User unknown at Treezor"},
}

// StatusOf is the HTTP status the API answers for a Service error.
func StatusOf(err error) int { return kindProblem[KindOf(err)].status }

// problemFromError builds the problem for a Service error, as seen by a caller with scopes:
// the last result of a closed onboarding shows reason codes and notes to compliance only.
func problemFromError(err error, caller Scope) problem {
	kind := KindOf(err)
	kp := kindProblem[kind]
	p := problem{Type: ProblemTypePrefix + kind.String(), Title: kp.title, Status: kp.status}
	var e *Error
	if !asError(err, &e) {
		return p
	}
	p.UserID, p.WorkflowID, p.RunID = e.UserID, e.WorkflowID, e.RunID
	p.Field = e.Field
	p.MissingFields = e.MissingFields
	switch {
	case kind == KindInternal:
		p.Detail = "The request could not be completed; it is safe to retry."
	case e.Field != "":
		p.Detail = e.Field + ": " + e.Reason
	case kind == KindTimeout:
		p.Detail = "The onboarding did not answer in time; repeating the same call is safe."
	case kind == KindUnavailable && e.Reason != "":
		p.Detail = e.Reason + "."
	case kind == KindUnavailable:
		p.Detail = "Temporal cannot be reached; retry later."
	case kind == KindProviderUnavailable:
		p.Detail = "Treezor could not be reached; retry later."
	case kind == KindClosed:
		p.Detail = closedDetail(e.Current, caller)
	default:
		p.Detail = e.Reason
	}
	if e.LastResult != nil {
		p.LastResult = redactResult(*e.LastResult, caller)
	}
	if e.Current != nil {
		p.State = scopedState(*e.Current, caller)
	}
	if kind == KindRejected && !caller.Has(ScopeCompliance) {
		// The onboarding side sees what the end user would: a closed onboarding, no verdict.
		p.Detail = "The user's last onboarding is closed. Starting a new one needs a key with both scopes and \"override\": true."
		p.LastResult = nil
	} else if kind == KindRejected {
		p.Detail = "Compliance rejected the user's last onboarding; repeat the call with \"override\": true to start a new one."
	}
	return p
}

// closedDetail says how an onboarding ended in the caller's words: the internal end state
// for compliance, the end user's view otherwise (a rejection reads as closed).
func closedDetail(end *workflows.ActionResult, caller Scope) string {
	const again = "; start a new one with POST /v1/onboardings."
	if end == nil {
		return "The onboarding has ended" + again
	}
	if caller.Has(ScopeCompliance) {
		switch end.State {
		case workflows.StateCompletedValidated:
			return "The onboarding has ended: the user is verified and the KYC review validated."
		case workflows.StateCompletedRefused:
			return "The onboarding has ended: Treezor refused the KYC review" + again
		case workflows.StateRejected:
			return "The onboarding has ended: compliance rejected the user; a new one needs \"override\": true."
		case workflows.StateDeclined:
			return "The onboarding has ended: the user declined or is not eligible" + again
		case workflows.StateFailed:
			return "The onboarding has failed (see its timeline)" + again
		}
	}
	switch end.User.Status {
	case workflows.UserStatusApproved:
		return "The onboarding has ended: the user's identity is verified."
	case workflows.UserStatusExpired:
		return "The onboarding has expired" + again
	case workflows.UserStatusCancelled:
		return "The onboarding was cancelled" + again
	}
	return "The onboarding is closed; POST /v1/onboardings says whether a new one may start."
}

// scopedState is the state of an action result as the caller may see it: the internal
// state for compliance, the end-user-safe status otherwise.
func scopedState(r workflows.ActionResult, caller Scope) string {
	if caller.Has(ScopeCompliance) {
		return string(r.State)
	}
	return r.User.Status
}

// redactResult keeps reason codes and notes (which may name fraud) for compliance only.
func redactResult(r workflows.Result, caller Scope) *workflows.Result {
	if !caller.Has(ScopeCompliance) {
		r.ReasonCode, r.ReasonMessage, r.Note = 0, "", ""
	}
	return &r
}

func writeProblem(w http.ResponseWriter, r *http.Request, p problem) {
	p.RequestID = httpserver.RequestIDFrom(r.Context())
	writeJSONType(w, "application/problem+json", p.Status, problemWire(p))
}

func simpleProblem(slug, title string, status int, detail string) problem {
	return problem{Type: ProblemTypePrefix + slug, Title: title, Status: status, Detail: detail}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	writeJSONType(w, "application/json", status, v)
}

func writeJSONType(w http.ResponseWriter, contentType string, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Cache-Control", "no-store") // answers carry identification URLs and user status
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}
