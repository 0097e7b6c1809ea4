package workflows

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/qesflow/qesflow/treezor"
)

// TestContinueAsNewCarriesPendingSignals lets the history reach the threshold while two
// webhooks are delivered in one workflow task: the loop applies one, drains the other,
// and continues as new with both in the carried state. A second run from that input
// finishes the onboarding, deduplicating a redelivery of a carried webhook.
func TestContinueAsNewCarriesPendingSignals(t *testing.T) {
	var ts testsuite.WorkflowTestSuite
	env := newEnv(t, &ts, newFakeAPI())
	first, pending := created("ident-1"), processing("ident-1")
	env.RegisterDelayedCallback(func() {
		env.SetCurrentHistoryLength(50)
		env.SignalWorkflowSkippingWorkflowTask(SignalWebhook, first)
		env.SignalWorkflow(SignalWebhook, pending)
	}, time.Minute)
	in := input(func(in *Input) { policy(in).ContinueAsNewAfter = 40 })
	env.ExecuteWorkflow(QESOnboarding, in)

	require.True(t, env.IsWorkflowCompleted())
	var can *workflow.ContinueAsNewError
	require.True(t, errors.As(env.GetWorkflowError(), &can), "want continue-as-new, got %v", env.GetWorkflowError())
	require.Equal(t, WorkflowName, can.WorkflowType.Name)
	var next Input
	require.NoError(t, converter.GetDefaultDataConverter().FromPayloads(can.Input, &next))

	carry := next.Carry
	require.NotNil(t, carry)
	require.Equal(t, 1, carry.ContinuedAsNew)
	require.Equal(t, StateProviderReview, carry.State, "both webhooks were applied before continuing")
	require.Contains(t, carry.Seen, first.WebhookID)
	require.Contains(t, carry.Seen, pending.WebhookID, "the pending signal was drained into the carried state")
	require.Equal(t, "ident-1", carry.IdentificationID)
	require.Equal(t, urlForIdent(testUser, "ident-1"), carry.IdentificationURL)
	require.False(t, carry.Deadline.IsZero(), "the provider deadline is carried as an absolute time")
	require.Equal(t, 40, next.Policy.ContinueAsNewAfter)
	require.Equal(t, testUser, next.UserID)
	var applied []string
	for _, e := range carry.Timeline {
		if e.WebhookID == pending.WebhookID {
			applied = append(applied, e.Note)
		}
	}
	require.Equal(t, []string{NoteApplied}, applied)

	// The next run resumes from the carried state and finishes.
	var ts2 testsuite.WorkflowTestSuite
	api := newFakeAPI()
	api.review = treezor.KYCReviewValidated
	env2 := newEnv(t, &ts2, api)
	env2.RegisterDelayedCallback(func() { env2.SignalWorkflow(SignalWebhook, pending) }, time.Minute)
	env2.RegisterDelayedCallback(func() { env2.SignalWorkflow(SignalWebhook, success("ident-1")) }, 2*time.Minute)
	env2.RegisterDelayedCallback(func() { env2.SignalWorkflow(SignalWebhook, kycReview(treezor.KYCReviewValidated)) }, 3*time.Minute)
	env2.ExecuteWorkflow(QESOnboarding, next)
	require.True(t, env2.IsWorkflowCompleted())
	require.NoError(t, env2.GetWorkflowError())
	var r Result
	require.NoError(t, env2.GetWorkflowResult(&r))
	require.Equal(t, StateCompletedValidated, r.State)
	require.Empty(t, api.initiations(), "the carried identification is reused")

	v, err := env2.QueryWorkflow(QueryStatus)
	require.NoError(t, err)
	var st Status
	require.NoError(t, v.Get(&st))
	require.Equal(t, 1, st.ContinuedAsNewCnt)
	require.True(t, hasNote(notes(st, pending.WebhookID), NoteDuplicate), "a redelivery after continue-as-new is a duplicate")
}

func TestSeenWebhooksAreBounded(t *testing.T) {
	o := &onboarding{seen: map[string]struct{}{}}
	for i := range MaxSeenWebhooks + 10 {
		o.remember("wh-" + time.Duration(i).String())
	}
	require.Len(t, o.st.Seen, MaxSeenWebhooks)
	require.Len(t, o.seen, MaxSeenWebhooks)
	require.False(t, o.duplicate("wh-"+time.Duration(0).String()), "the oldest ids are forgotten")
	require.True(t, o.duplicate("wh-"+time.Duration(MaxSeenWebhooks+9).String()))
}

func TestTimelineIsBounded(t *testing.T) {
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	o := &onboarding{now: func() time.Time { return now }}
	for range MaxTimeline + 25 {
		o.record(TimelineEntry{Kind: KindState})
	}
	require.Len(t, o.st.Timeline, MaxTimeline)
	require.Equal(t, 25, o.st.TimelineDropped)
}
