package starter

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/qesflow/qesflow/workflows"
)

// Page sizes of List.
const (
	DefaultListPageSize = 20
	MaxListPageSize     = 100
)

// ListFilter selects the onboardings List returns. Every field is optional; the values
// are checked by List (a bad one is KindInvalid naming its field) and only checked
// values reach the visibility query.
type ListFilter struct {
	// States are internal states (the compliance view); an onboarding in any of them matches.
	States []workflows.State
	// Statuses are end-user-safe statuses (UserStatus.Status); an onboarding whose state
	// reads as any of them matches.
	Statuses []string
	// Country is an ISO 3166-1 alpha-2 code.
	Country string
	// UpdatedBefore keeps the onboardings whose search attributes last changed before it.
	UpdatedBefore time.Time
	// PageSize is at most MaxListPageSize; 0 is DefaultListPageSize.
	PageSize int
	// PageToken is a ListPage.NextPageToken of the same filter; "" for the first page.
	PageToken string
}

// ListedOnboarding is one onboarding run as visibility sees it.
type ListedOnboarding struct {
	UserID     string
	WorkflowID string
	RunID      string
	State      workflows.State
	Attempt    int
	ReasonCode int
	KYCReview  string
	Country    string
	StartedAt  time.Time
	UpdatedAt  time.Time // the start time when the run predates QESUpdatedAt
	ClosedAt   time.Time // zero while the onboarding runs
}

// ListPage is one page of List; NextPageToken is "" on the last one.
type ListPage struct {
	Onboardings   []ListedOnboarding
	NextPageToken string
}

// List lists onboardings from Temporal visibility, running ones first, then the ended
// ones by close time, newest first. A run that continued as new is left out (its last
// run stands for the onboarding); a user's earlier onboardings are listed too.
func (s *Service) List(ctx context.Context, f ListFilter) (ListPage, error) {
	const op = "list"
	query, err := listQuery(f)
	if err != nil {
		return ListPage{}, err
	}
	size := f.PageSize
	switch {
	case size == 0:
		size = DefaultListPageSize
	case size < 0 || size > MaxListPageSize:
		return ListPage{}, invalid(op, "pageSize", fmt.Sprintf("must be between 1 and %d", MaxListPageSize))
	}
	var token []byte
	if f.PageToken != "" {
		if token, err = openPageToken(f.PageToken, query); err != nil {
			return ListPage{}, invalid(op, "pageToken", err.Error())
		}
	}
	lctx, cancel := context.WithTimeout(ctx, s.callTimeout)
	defer cancel()
	resp, err := s.temporal.ListWorkflow(lctx, &workflowservice.ListWorkflowExecutionsRequest{
		Namespace: s.namespace, PageSize: int32(size), NextPageToken: token, Query: query,
	})
	if err != nil {
		return ListPage{}, s.classify(op, "", "", err)
	}
	page := ListPage{Onboardings: make([]ListedOnboarding, 0, len(resp.GetExecutions()))}
	for _, ex := range resp.GetExecutions() {
		page.Onboardings = append(page.Onboardings, listed(ex.GetExecution(), ex.GetStartTime().AsTime(),
			ex.GetCloseTime(), ex.GetSearchAttributes()))
	}
	if next := resp.GetNextPageToken(); len(next) > 0 {
		page.NextPageToken = sealPageToken(next, query)
	}
	return page, nil
}

// listQuery is the visibility query of f, built from checked values only: states and
// statuses from the known sets, the country as two letters, the time as we format it.
func listQuery(f ListFilter) (string, error) {
	const op = "list"
	clauses := []string{
		fmt.Sprintf("WorkflowType = '%s'", workflows.WorkflowName),
		fmt.Sprintf("ExecutionStatus != '%s'", enumspb.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW),
	}
	known := workflows.States()
	var states []workflows.State
	for _, st := range f.States {
		if !slices.Contains(known, st) {
			return "", invalid(op, "state", fmt.Sprintf("unknown state %q", clip(string(st))))
		}
		states = append(states, st)
	}
	if len(f.Statuses) > 0 {
		var byStatus []workflows.State
		for _, us := range f.Statuses {
			if !slices.Contains(workflows.UserStatuses(), us) {
				return "", invalid(op, "status", fmt.Sprintf("unknown status %q (want one of %s)",
					clip(us), strings.Join(workflows.UserStatuses(), ", ")))
			}
			for _, st := range known {
				if workflows.UserStatusOf(st) == us {
					byStatus = append(byStatus, st)
				}
			}
		}
		if len(states) > 0 {
			// Both filters: the states that pass each.
			states = slices.DeleteFunc(states, func(st workflows.State) bool { return !slices.Contains(byStatus, st) })
			if len(states) == 0 {
				return "", invalid(op, "status", "no state passes both the state and the status filters")
			}
		} else {
			states = byStatus
		}
	}
	if len(states) > 0 {
		slices.Sort(states)
		states = slices.Compact(states)
		quoted := make([]string, len(states))
		for i, st := range states {
			quoted[i] = "'" + string(st) + "'"
		}
		clauses = append(clauses, fmt.Sprintf("%s IN (%s)", workflows.SAQESState, strings.Join(quoted, ", ")))
	}
	if f.Country != "" {
		c := strings.ToUpper(f.Country)
		if !isAlpha2(c) {
			return "", invalid(op, "country", fmt.Sprintf("%q is not an ISO 3166-1 alpha-2 code", clip(f.Country)))
		}
		clauses = append(clauses, fmt.Sprintf("%s = '%s'", workflows.SAQESCountry, c))
	}
	if !f.UpdatedBefore.IsZero() {
		t := f.UpdatedBefore.UTC().Format(time.RFC3339Nano)
		// Runs started before QESUpdatedAt existed are judged by their start time.
		clauses = append(clauses, fmt.Sprintf("(%[1]s < '%[2]s' OR (%[1]s IS NULL AND StartTime < '%[2]s'))",
			workflows.SAQESUpdatedAt, t))
	}
	return strings.Join(clauses, " AND "), nil
}

func isAlpha2(c string) bool {
	return len(c) == 2 && c[0] >= 'A' && c[0] <= 'Z' && c[1] >= 'A' && c[1] <= 'Z'
}

// clip shortens a caller's value quoted back in an error.
func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// pageTokenVersion prefixes the tokens List hands out.
const pageTokenVersion = 1

// sealPageToken wraps Temporal's page token with a digest of the query it continues, so
// that a token is opaque to callers and cannot continue another filter's listing.
func sealPageToken(next []byte, query string) string {
	sum := sha256.Sum256([]byte(query))
	b := append([]byte{pageTokenVersion}, sum[:8]...)
	return base64.RawURLEncoding.EncodeToString(append(b, next...))
}

// openPageToken returns Temporal's page token inside token, checking it continues query.
func openPageToken(token, query string) ([]byte, error) {
	b, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(b) < 10 || b[0] != pageTokenVersion {
		return nil, fmt.Errorf("not a page token of this API")
	}
	sum := sha256.Sum256([]byte(query))
	if !bytes.Equal(b[1:9], sum[:8]) {
		return nil, fmt.Errorf("the token continues a listing with other filters")
	}
	return b[9:], nil
}

// listed reads one execution's search attributes (a missing or undecodable one stays zero).
func listed(ex *commonpb.WorkflowExecution, started time.Time, closed *timestamppb.Timestamp,
	sa *commonpb.SearchAttributes) ListedOnboarding {
	fields := sa.GetIndexedFields()
	dc := converter.GetDefaultDataConverter()
	get := func(name string, v any) {
		if p, ok := fields[name]; ok {
			_ = dc.FromPayload(p, v)
		}
	}
	o := ListedOnboarding{WorkflowID: ex.GetWorkflowId(), RunID: ex.GetRunId(), StartedAt: started.UTC()}
	var state, kyc string
	var attempt, reason int64
	get(workflows.SATreezorUserID, &o.UserID)
	get(workflows.SAQESState, &state)
	get(workflows.SAQESAttempt, &attempt)
	get(workflows.SAQESReasonCode, &reason)
	get(workflows.SAKYCReview, &kyc)
	get(workflows.SAQESCountry, &o.Country)
	get(workflows.SAQESUpdatedAt, &o.UpdatedAt)
	o.State, o.Attempt, o.ReasonCode, o.KYCReview = workflows.State(state), int(attempt), int(reason), kyc
	if o.UserID == "" {
		o.UserID = strings.TrimPrefix(o.WorkflowID, workflows.WorkflowID(""))
	}
	if o.UpdatedAt.IsZero() {
		o.UpdatedAt = o.StartedAt
	}
	o.UpdatedAt = o.UpdatedAt.UTC()
	if closed != nil && closed.GetSeconds() > 0 {
		o.ClosedAt = closed.AsTime().UTC()
	}
	return o
}
