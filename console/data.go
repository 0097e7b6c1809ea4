package console

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/converter"

	"github.com/qesflow/qesflow/treezor"
	"github.com/qesflow/qesflow/workflows"
)

// maxListed bounds each visibility list the console reads (one page).
const maxListed = 500

// run is one workflow run as visibility lists it: search attributes only, no PII.
type run struct {
	UserID     string
	WorkflowID string
	RunID      string
	State      workflows.State
	Attempt    int64
	ReasonCode int64
	Start      time.Time
	Close      time.Time
}

// listRuns lists the runs matching a visibility query (at most maxListed).
func (c *Console) listRuns(ctx context.Context, query string) ([]run, error) {
	var out []run
	var token []byte
	for len(out) < maxListed {
		resp, err := c.cfg.Temporal.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Namespace: c.cfg.Namespace, Query: query, PageSize: 100, NextPageToken: token,
		})
		if err != nil {
			return nil, fmt.Errorf("list workflows (%s): %w", query, err)
		}
		for _, ex := range resp.GetExecutions() {
			fields := ex.GetSearchAttributes().GetIndexedFields()
			r := run{
				WorkflowID: ex.GetExecution().GetWorkflowId(),
				RunID:      ex.GetExecution().GetRunId(),
				UserID:     keyword(fields, workflows.SATreezorUserID),
				State:      workflows.State(keyword(fields, workflows.SAQESState)),
				Attempt:    integer(fields, workflows.SAQESAttempt),
				ReasonCode: integer(fields, workflows.SAQESReasonCode),
				Start:      ex.GetStartTime().AsTime(),
			}
			if ex.GetCloseTime() != nil {
				r.Close = ex.GetCloseTime().AsTime()
			}
			out = append(out, r)
		}
		token = resp.GetNextPageToken()
		if len(token) == 0 {
			break
		}
	}
	return out, nil
}

// count counts the runs matching a visibility query.
func (c *Console) count(ctx context.Context, query string) (int64, error) {
	resp, err := c.cfg.Temporal.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{Namespace: c.cfg.Namespace, Query: query})
	if err != nil {
		return 0, fmt.Errorf("count workflows (%s): %w", query, err)
	}
	return resp.GetCount(), nil
}

// Search attributes are plain JSON payloads (the codec never encrypts them).
func keyword(fields map[string]*commonpb.Payload, name string) string {
	var s string
	if p, ok := fields[name]; ok {
		_ = converter.GetDefaultDataConverter().FromPayload(p, &s)
	}
	return s
}

func integer(fields map[string]*commonpb.Payload, name string) int64 {
	var n int64
	if p, ok := fields[name]; ok {
		_ = converter.GetDefaultDataConverter().FromPayload(p, &n)
	}
	return n
}

// queueItem is one onboarding that waits for a person.
type queueItem struct {
	run
	Status        workflows.Status
	Since         time.Time // when it entered its current state
	Waiting       time.Duration
	ReasonMessage string
	Escalated     bool
	Unclassified  bool // the provider sent a result the workflow could not classify
	Err           string
}

// loadItems lists the running onboardings in one of states, reads each one's status (a
// query, decrypted by the client's codec) and sorts them oldest wait first.
func (c *Console) loadItems(ctx context.Context, states ...workflows.State) ([]queueItem, error) {
	q := "ExecutionStatus = 'Running' AND " + workflows.SAQESState + " IN ("
	for i, s := range states {
		if i > 0 {
			q += ","
		}
		q += "'" + string(s) + "'"
	}
	runs, err := c.listRuns(ctx, q+")")
	if err != nil {
		return nil, err
	}
	items := make([]queueItem, len(runs))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	now := c.cfg.Now()
	for i, r := range runs {
		items[i] = queueItem{run: r, Since: r.Start}
		wg.Add(1)
		go func(it *queueItem) {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			st, err := c.svc.Details(ctx, it.UserID)
			if err != nil {
				it.Err = "status unavailable"
				return
			}
			it.Status = st
			it.State = st.State
			it.Attempt = int64(st.Attempt)
			it.ReasonCode = int64(st.ReasonCode)
			it.Escalated = st.Escalated
			it.Unclassified = st.ProviderResult != ""
			it.Since = stateSince(st)
		}(&items[i])
	}
	wg.Wait()
	for i := range items {
		it := &items[i]
		it.Waiting = now.Sub(it.Since)
		if it.ReasonCode != 0 {
			it.ReasonMessage = treezor.LookupReason(int(it.ReasonCode)).Message
		}
	}
	sort.SliceStable(items, func(i, j int) bool { return items[i].Since.Before(items[j].Since) })
	return items, nil
}

// stateSince is when the onboarding entered its current state: the earliest timeline entry of
// the latest stretch of entries in that state.
func stateSince(st workflows.Status) time.Time {
	since := st.UpdatedAt
	for i := len(st.Timeline) - 1; i >= 0; i-- {
		e := st.Timeline[i]
		if e.State != "" && e.State != st.State {
			break
		}
		if e.State == st.State {
			since = e.Time
		}
	}
	return since
}

// attempt is one identification attempt as the timeline shows it.
type attempt struct {
	Number           int
	IdentificationID string
	Started          time.Time
	Outcome          string // the last note about it
}

// attemptsOf groups the timeline by identification id, in order of first appearance.
func attemptsOf(st workflows.Status) []attempt {
	var out []attempt
	index := map[string]int{}
	for _, e := range st.Timeline {
		if e.IdentificationID == "" {
			continue
		}
		i, ok := index[e.IdentificationID]
		if !ok {
			i = len(out)
			index[e.IdentificationID] = i
			out = append(out, attempt{Number: i + 1, IdentificationID: e.IdentificationID, Started: e.Time})
		}
		if e.Note != "" {
			out[i].Outcome = string(e.State) + ": " + e.Note
		} else if e.State != "" {
			out[i].Outcome = string(e.State)
		}
	}
	return out
}
