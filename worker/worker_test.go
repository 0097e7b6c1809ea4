package worker

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.uber.org/zap"

	"github.com/qesflow/qesflow/internal/testenv"
	"github.com/qesflow/qesflow/treezor"
	"github.com/qesflow/qesflow/treezorsim"
	"github.com/qesflow/qesflow/treezorsim/simtest"
	"github.com/qesflow/qesflow/workflows"
)

func TestNewValidates(t *testing.T) {
	_, err := New(nil, Options{})
	require.ErrorContains(t, err, "no Temporal client")
	ts := testenv.NewTemporal(t)
	_, err = New(ts.GetDefaultClient(), Options{})
	require.ErrorIs(t, err, ErrNoTreezor)
}

// TestWorkerCompletesOnboarding runs the worker built by New against a real in-process
// Temporal and takes one onboarding from start to COMPLETED_VALIDATED.
func TestWorkerCompletesOnboarding(t *testing.T) {
	ts := testenv.NewTemporal(t)
	c := ts.GetDefaultClient()
	tz := simtest.Start(t, treezorsim.Config{})
	const user = "worker-user-1"
	tz.User(user)
	w, err := New(c, Options{
		Treezor:                                tz.Client(t),
		DocumentDir:                            t.TempDir(),
		MaxConcurrentActivityExecutionSize:     4,
		MaxConcurrentWorkflowTaskExecutionSize: 4,
		StickyCacheSize:                        100,
	})
	require.NoError(t, err)
	require.NoError(t, w.Start())
	defer w.Stop()

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: workflows.WorkflowID(user), TaskQueue: workflows.TaskQueue},
		workflows.WorkflowName, workflows.Input{UserID: user})
	require.NoError(t, err)
	awaiting := waitFor(t, c, user, func(s workflows.Status) bool { return s.State == workflows.StateAwaitingUser })
	ident, _, _ := tz.LastIdentification(user)
	require.Equal(t, ident, awaiting.IdentificationID)

	signal := func(ev treezor.Event) {
		ev.Known, ev.UserID, ev.CreatedAt = true, user, time.Now()
		require.NoError(t, c.SignalWorkflow(ctx, run.GetID(), "", workflows.SignalWebhook, ev))
	}
	require.NoError(t, tz.Act(ident, treezorsim.Success()))
	signed, _ := tz.Identification(ident)
	signal(treezor.Event{WebhookID: "w1", Type: treezor.EventQESFinalized, IdentificationID: awaiting.IdentificationID, Result: treezor.ResultSuccess})
	signal(treezor.Event{WebhookID: "w1-doc", Type: treezor.EventDocumentCreate, DocumentID: signed.Documents[0]})
	waitFor(t, c, user, func(s workflows.Status) bool { return s.State == workflows.StateKYCReviewPending })
	// The state changes when the review is requested; the call to Treezor follows.
	require.Eventually(t, func() bool { return tz.Stats().KYCReviewRequests[user] == 1 }, 60*time.Second, 20*time.Millisecond)

	require.NoError(t, tz.DecideKYC(user, treezorsim.KYCValidate, "")) // the decision is confirmed with Treezor
	signal(treezor.Event{WebhookID: "w2", Type: treezor.EventUserKYCReview, KYCReview: treezor.KYCReviewValidated, KYCLevel: 3})
	var result workflows.Result
	require.NoError(t, run.Get(ctx, &result))
	require.Equal(t, workflows.StateCompletedValidated, result.State)
	require.Equal(t, treezor.KYCReviewValidated, result.KYCReview)
	require.Equal(t, 1, tz.Stats().IdentificationsCreated[user])
	require.NotZero(t, stickySize, "the sticky cache size was set")
}

func waitFor(t *testing.T, c client.Client, user string, cond func(workflows.Status) bool) workflows.Status {
	t.Helper()
	var last workflows.Status
	require.Eventually(t, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		v, err := c.QueryWorkflow(ctx, workflows.WorkflowID(user), "", workflows.QueryStatus)
		if err != nil || v.Get(&last) != nil {
			return false
		}
		return cond(last)
	}, 60*time.Second, 50*time.Millisecond, "onboarding of %s never reached the expected status (last %s)", user, last.State)
	return last
}

func TestStickyCacheSizeIsProcessGlobal(t *testing.T) {
	setStickyCacheSize(0, nil) // zero keeps whatever is set
	before := stickySize
	setStickyCacheSize(1234, zapNop())
	if before == 0 {
		require.Equal(t, 1234, stickySize)
	}
	setStickyCacheSize(99, zapNop()) // ignored: already set
	require.NotEqual(t, 99, stickySize)
}

func zapNop() *zap.Logger { return zap.NewNop() }

func TestStickyCacheSizeDefaultsToBounded(t *testing.T) {
	require.Equal(t, DefaultStickyCacheSize, withDefaults(Options{}).StickyCacheSize)
	require.Equal(t, 100, withDefaults(Options{StickyCacheSize: 100}).StickyCacheSize)
}

// TestWorkflowReleasePinsNewRuns: a worker at an older release starts runs that record it
// and issue its commands (release 2: InitiateQES as an activity), a worker at the default
// records the newest (release 3: InitiateQES as a local activity).
func TestWorkflowReleasePinsNewRuns(t *testing.T) {
	ts := testenv.NewTemporal(t)
	c := ts.GetDefaultClient()
	tz := simtest.Start(t, treezorsim.Config{})
	for _, tc := range []struct {
		release       int
		wantVersion   string
		wantLocalCall bool
	}{
		{release: 2, wantVersion: workflows.ChangeRelease + "-2", wantLocalCall: false},
		{release: 0, wantVersion: workflows.ChangeRelease + "-" + strconv.Itoa(workflows.LatestRelease), wantLocalCall: true},
	} {
		t.Run("release "+strconv.Itoa(tc.release), func(t *testing.T) {
			queue := "release-" + strconv.Itoa(tc.release)
			user := "release-user-" + strconv.Itoa(tc.release)
			tz.User(user)
			w, err := New(c, Options{TaskQueue: queue, Treezor: tz.Client(t), DocumentDir: t.TempDir(), WorkflowRelease: tc.release})
			require.NoError(t, err)
			require.NoError(t, w.Start())
			defer w.Stop()
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: workflows.WorkflowID(user), TaskQueue: queue},
				workflows.WorkflowName, workflows.Input{UserID: user})
			require.NoError(t, err)
			waitFor(t, c, user, func(s workflows.Status) bool { return s.State == workflows.StateAwaitingUser })
			var versions, localCalls, initiateActivities int
			iter := c.GetWorkflowHistory(ctx, run.GetID(), run.GetRunID(), false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
			for iter.HasNext() {
				ev, err := iter.Next()
				require.NoError(t, err)
				if sa := ev.GetUpsertWorkflowSearchAttributesEventAttributes(); sa != nil {
					if p, ok := sa.GetSearchAttributes().GetIndexedFields()["TemporalChangeVersion"]; ok {
						require.Contains(t, string(p.GetData()), tc.wantVersion)
						versions++
					}
				}
				if ev.GetMarkerRecordedEventAttributes().GetMarkerName() == "LocalActivity" {
					localCalls++
				}
				if ev.GetActivityTaskScheduledEventAttributes().GetActivityType().GetName() == "InitiateQES" {
					initiateActivities++
				}
			}
			require.Equal(t, 1, versions, "one release recorded")
			if tc.wantLocalCall {
				require.Equal(t, 1, localCalls)
				require.Zero(t, initiateActivities)
			} else {
				require.Zero(t, localCalls)
				require.Equal(t, 1, initiateActivities)
			}
			require.NoError(t, c.TerminateWorkflow(ctx, run.GetID(), "", "test over"))
		})
	}
	_, err := New(c, Options{Treezor: tz.Client(t), WorkflowRelease: workflows.LatestRelease + 1})
	require.ErrorContains(t, err, "this code knows releases 1 to")
}
