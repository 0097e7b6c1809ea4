package starter

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/qesflow/qesflow/workflows"
)

// listParams are the query parameters of GET /v1/onboardings; any other is refused.
var listParams = []string{"state", "status", "country", "updatedBefore", "pageSize", "pageToken"}

// listItem is one onboarding in the answer to GET /v1/onboardings. State, KYCReview and
// ReasonCode are the compliance view; the onboarding scope sees Status only.
type listItem struct {
	UserID     string     `json:"userId"`
	WorkflowID string     `json:"workflowId"`
	RunID      string     `json:"runId"`
	Status     string     `json:"status"`
	State      string     `json:"state,omitempty"`
	KYCReview  string     `json:"kycReview,omitempty"`
	ReasonCode int        `json:"reasonCode,omitempty"`
	Attempt    int        `json:"attempt"`
	Country    string     `json:"country,omitempty"`
	Final      bool       `json:"final"`
	StartedAt  time.Time  `json:"startedAt"`
	UpdatedAt  time.Time  `json:"updatedAt"`
	ClosedAt   *time.Time `json:"closedAt,omitempty"`
}

// listResponse is the body of 200 answers to GET /v1/onboardings.
type listResponse struct {
	Onboardings   []listItem `json:"onboardings"`
	NextPageToken string     `json:"nextPageToken,omitempty"`
}

func (a *api) listOnboardings(w http.ResponseWriter, r *http.Request, caller Scope) {
	const op = "list"
	f, err := listFilterFrom(r)
	if err != nil {
		a.fail(w, r, op, caller, err)
		return
	}
	if len(f.States) > 0 && !caller.Has(ScopeCompliance) {
		// Internal states name fraud and compliance cases: the onboarding scope filters by status.
		a.forbidden(w, r, ScopeCompliance, `"state" needs a key with the compliance scope; filter by "status"`)
		return
	}
	page, err := a.svc.List(r.Context(), f)
	if err != nil {
		a.fail(w, r, op, caller, err)
		return
	}
	out := listResponse{Onboardings: make([]listItem, 0, len(page.Onboardings)), NextPageToken: page.NextPageToken}
	for _, o := range page.Onboardings {
		out.Onboardings = append(out.Onboardings, listItemOf(o, caller))
	}
	writeJSON(w, http.StatusOK, out)
}

// listItemOf is o as the caller may see it.
func listItemOf(o ListedOnboarding, caller Scope) listItem {
	it := listItem{
		UserID: o.UserID, WorkflowID: o.WorkflowID, RunID: o.RunID,
		Status: workflows.UserStatusOf(o.State), Attempt: o.Attempt, Country: o.Country,
		Final: o.State.Terminal(), StartedAt: o.StartedAt, UpdatedAt: o.UpdatedAt,
	}
	if !o.ClosedAt.IsZero() {
		closed := o.ClosedAt
		it.ClosedAt = &closed
	}
	if caller.Has(ScopeCompliance) {
		it.State, it.KYCReview, it.ReasonCode = string(o.State), o.KYCReview, o.ReasonCode
	}
	return it
}

// listFilterFrom reads the query string: repeated or comma-separated values for state and
// status, one value for the others; an unknown parameter is refused so that a misspelt
// filter never lists everything.
func listFilterFrom(r *http.Request) (ListFilter, error) {
	const op = "list"
	q := r.URL.Query()
	var f ListFilter
	for name, values := range q {
		known := false
		for _, p := range listParams {
			known = known || p == name
		}
		if !known {
			return f, invalid(op, clip(name), "unknown query parameter (known: "+strings.Join(listParams, ", ")+")")
		}
		if len(values) > 1 && name != "state" && name != "status" {
			return f, invalid(op, name, "give it once")
		}
	}
	list := func(name string) ([]string, error) {
		var out []string
		for _, v := range q[name] {
			for _, part := range strings.Split(v, ",") {
				if part = strings.TrimSpace(part); part == "" {
					return nil, invalid(op, name, "empty value")
				}
				out = append(out, strings.ToUpper(part))
			}
		}
		return out, nil
	}
	states, err := list("state")
	if err != nil {
		return f, err
	}
	for _, s := range states {
		f.States = append(f.States, workflows.State(s))
	}
	if f.Statuses, err = list("status"); err != nil {
		return f, err
	}
	if q.Has("country") {
		if f.Country = q.Get("country"); f.Country == "" {
			return f, invalid(op, "country", "empty value")
		}
	}
	if q.Has("updatedBefore") {
		t, err := time.Parse(time.RFC3339Nano, q.Get("updatedBefore"))
		if err != nil {
			return f, invalid(op, "updatedBefore", "not an RFC 3339 date-time (e.g. 2026-12-01T00:00:00Z)")
		}
		f.UpdatedBefore = t
	}
	if q.Has("pageSize") {
		n, err := strconv.Atoi(q.Get("pageSize"))
		if err != nil || n < 1 || n > MaxListPageSize {
			return f, invalid(op, "pageSize", fmt.Sprintf("must be an integer between 1 and %d", MaxListPageSize))
		}
		f.PageSize = n
	}
	if q.Has("pageToken") {
		if f.PageToken = q.Get("pageToken"); f.PageToken == "" {
			return f, invalid(op, "pageToken", "empty value")
		}
	}
	return f, nil // the values themselves are checked by List, where the query is built
}
