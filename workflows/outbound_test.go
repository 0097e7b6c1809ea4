package workflows

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/qesflow/qesflow/activities"
	"github.com/qesflow/qesflow/outbound"
	"github.com/qesflow/qesflow/outbound/outboundtest"
	"github.com/qesflow/qesflow/treezor"
)

// eventEnv is the test environment with the real DeliverEvent activity posting to a
// loopback receiver that verifies with the Standard Webhooks library.
func eventEnv(t *testing.T, api *fakeAPI) (*testsuite.TestWorkflowEnvironment, *outboundtest.Receiver) {
	t.Helper()
	secret := outboundtest.Secret("workflow-events")
	rcv := outboundtest.NewReceiver(t, secret)
	secrets, err := outbound.ParseSecrets(secret)
	require.NoError(t, err)
	sender, err := outbound.NewSender(outbound.Config{Endpoints: []outbound.Endpoint{{Name: "backend", URL: rcv.URL}}, Secrets: secrets})
	require.NoError(t, err)
	var ts testsuite.WorkflowTestSuite
	ts.SetLogger(testLogger())
	env := ts.NewTestWorkflowEnvironment()
	env.RegisterWorkflowWithOptions(NewOnboarding(Config{Events: true}), workflow.RegisterOptions{Name: WorkflowName})
	env.RegisterWorkflowWithOptions(QESEventDelivery, workflow.RegisterOptions{Name: EventDeliveryWorkflowName})
	env.RegisterActivity(&activities.Activities{Treezor: api, Store: activities.FSDocumentStore{Dir: t.TempDir()}, Events: sender})
	env.SetTestTimeout(20 * time.Second)
	// The deadlock detector measures wall time; a loaded machine can take over a second.
	env.SetWorkerOptions(worker.Options{DeadlockDetectionTimeout: time.Minute})
	return env, rcv
}

// eventRun runs one onboarding to its end: events are signals (or updates) at the given
// offsets. It returns the events the receiver accepted, in order, and the final status.
func eventRun(t *testing.T, in Input, steps func(env *testsuite.TestWorkflowEnvironment, api *fakeAPI)) ([]outboundtest.Delivery, Status) {
	api := newFakeAPI()
	env, rcv := eventEnv(t, api)
	steps(env, api)
	env.ExecuteWorkflow(WorkflowName, in)
	require.True(t, env.IsWorkflowCompleted())
	if err := env.GetWorkflowError(); err != nil {
		_, failed := FailedResult(err) // an onboarding that ended FAILED fails the execution
		require.True(t, failed, "%v", err)
	}
	v, err := env.QueryWorkflow(QueryStatus)
	require.NoError(t, err)
	var st Status
	require.NoError(t, v.Get(&st))
	require.Empty(t, rcv.Failures())
	return rcv.Accepted(), st
}

func eventTypes(ds []outboundtest.Delivery) []string {
	var out []string
	for _, d := range ds {
		out = append(out, d.Event.Type+" "+d.Event.Data.Status)
	}
	return out
}

// requireSequence checks the events are numbered 1, 2, ... with distinct webhook ids.
func requireSequence(t *testing.T, ds []outboundtest.Delivery) {
	t.Helper()
	ids := map[string]bool{}
	for i, d := range ds {
		require.Equal(t, i+1, d.Event.Data.Sequence)
		require.False(t, ids[d.ID], "webhook id %s used twice", d.ID)
		ids[d.ID] = true
		require.True(t, strings.HasPrefix(d.ID, "msg_"))
		require.NotContains(t, d.ID, WorkflowID(testUser))
	}
}

func signalAt(env *testsuite.TestWorkflowEnvironment, d time.Duration, evs ...treezor.Event) {
	env.RegisterDelayedCallback(func() {
		for _, ev := range evs {
			env.SignalWorkflow(SignalWebhook, ev)
		}
	}, d)
}

// TestEventsOfASuccessfulOnboarding: started with the URL, under review, completed
// APPROVED; the status view counts them.
func TestEventsOfASuccessfulOnboarding(t *testing.T) {
	got, st := eventRun(t, input(), func(env *testsuite.TestWorkflowEnvironment, api *fakeAPI) {
		signalAt(env, time.Minute, created("ident-1"))
		signalAt(env, 2*time.Minute, success("ident-1"), documentCreated("doc-ident-1"))
		env.RegisterDelayedCallback(func() { api.sawReview(treezor.KYCReviewValidated) }, time.Hour-time.Second)
		signalAt(env, time.Hour, kycReview(treezor.KYCReviewValidated))
	})
	require.Equal(t, []string{
		outbound.TypeStarted + " " + UserStatusActionRequired,
		outbound.TypeUnderReview + " " + UserStatusUnderReview,
		outbound.TypeCompleted + " " + UserStatusApproved,
	}, eventTypes(got))
	requireSequence(t, got)
	require.Equal(t, urlForIdent(testUser, "ident-1"), got[0].Event.Data.IdentificationURL)
	require.Equal(t, ActionCompleteIdentification, got[0].Event.Data.ActionRequired)
	require.True(t, got[2].Event.Data.Final)
	// The last event was queued as the run ended, and delivered within EventDrainWait: no
	// delivery workflow was needed.
	require.Equal(t, &EventDelivery{Queued: 3, Delivered: 3, LastDelivered: "3 onboarding.completed"}, st.Events)
}

// TestEndedOnboardingHandsOffWhatItCannotDeliver: when the last event still fails after
// EventDrainWait, the run ends and its QESEventDelivery workflow delivers it, with the same
// webhook id.
func TestEndedOnboardingHandsOffWhatItCannotDeliver(t *testing.T) {
	api := newFakeAPI()
	env, rcv := eventEnv(t, api)
	refusals := 0
	rcv.SetAnswer(func(d outboundtest.Delivery) int {
		if d.Event.Type == outbound.TypeCompleted && refusals < 4 {
			refusals++
			return http.StatusServiceUnavailable
		}
		return http.StatusNoContent
	})
	signalAt(env, time.Minute, created("ident-1"))
	signalAt(env, 2*time.Minute, success("ident-1"), documentCreated("doc-ident-1"))
	env.RegisterDelayedCallback(func() { api.sawReview(treezor.KYCReviewValidated) }, time.Hour-time.Second)
	signalAt(env, time.Hour, kycReview(treezor.KYCReviewValidated))
	env.ExecuteWorkflow(WorkflowName, input())
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	v, err := env.QueryWorkflow(QueryStatus)
	require.NoError(t, err)
	var st Status
	require.NoError(t, v.Get(&st))
	require.Equal(t, 1, st.Events.HandedOff, "%+v", st.Events)
	require.Equal(t, 2, st.Events.Delivered)

	var completed []string
	for _, d := range rcv.All() {
		if d.Event.Type == outbound.TypeCompleted {
			completed = append(completed, d.ID)
		}
	}
	require.Greater(t, len(completed), 1)
	require.Len(t, slices.Compact(completed), 1, "one webhook id on every try, the delivery workflow's included")
}

// TestEventsOfEveryEnd: each way an onboarding ends reads as completed or ended with the
// user-safe status, and the user's actions carry what the backend needs (URL, fields).
func TestEventsOfEveryEnd(t *testing.T) {
	for _, tc := range []struct {
		name  string
		in    Input
		steps func(env *testsuite.TestWorkflowEnvironment, api *fakeAPI)
		want  []string
	}{
		{"refused by the KYC review", input(), func(env *testsuite.TestWorkflowEnvironment, api *fakeAPI) {
			signalAt(env, time.Minute, success("ident-1"), documentCreated("doc-ident-1"))
			env.RegisterDelayedCallback(func() { api.sawReview(treezor.KYCReviewRefused) }, time.Hour-time.Second)
			signalAt(env, time.Hour, kycReview(treezor.KYCReviewRefused))
		}, []string{"onboarding.started ACTION_REQUIRED", "onboarding.under_review UNDER_REVIEW", "onboarding.completed CLOSED"}},
		{"expired", input(), func(*testsuite.TestWorkflowEnvironment, *fakeAPI) {},
			[]string{"onboarding.started ACTION_REQUIRED", "onboarding.ended EXPIRED"}},
		{"cancelled", input(), func(env *testsuite.TestWorkflowEnvironment, _ *fakeAPI) {
			env.RegisterDelayedCallback(func() { sendAction(t, env, UpdateCancel, CancelRequest{Reason: "user"}, nil) }, time.Hour)
		}, []string{"onboarding.started ACTION_REQUIRED", "onboarding.ended CANCELLED"}},
		{"declined", input(), func(env *testsuite.TestWorkflowEnvironment, _ *fakeAPI) {
			signalAt(env, time.Minute, aborted("ident-1", 3005))
		}, []string{"onboarding.started ACTION_REQUIRED", "onboarding.ended CLOSED"}},
		{"retried with a new document, then failed", input(func(in *Input) { policy(in).MaxAttempts = 2 }),
			func(env *testsuite.TestWorkflowEnvironment, _ *fakeAPI) {
				signalAt(env, time.Minute, aborted("ident-1", 3001))
				signalAt(env, time.Hour, aborted("ident-2", 3001))
			}, []string{"onboarding.started ACTION_REQUIRED", "onboarding.action_required ACTION_REQUIRED", "onboarding.ended CLOSED"}},
		{"SEPA transfer awaited (DE)", input(func(in *Input) { in.Country, in.WalletID = "DE", "w-1" }),
			func(env *testsuite.TestWorkflowEnvironment, _ *fakeAPI) {
				signalAt(env, time.Minute, success("ident-1"), documentCreated("doc-ident-1"))
				env.RegisterDelayedCallback(func() { sendAction(t, env, UpdateCancel, CancelRequest{Reason: "user"}, nil) }, time.Hour)
			}, []string{"onboarding.started ACTION_REQUIRED", "onboarding.action_required ACTION_REQUIRED", "onboarding.ended CANCELLED"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, _ := eventRun(t, tc.in, tc.steps)
			require.Equal(t, tc.want, eventTypes(got))
			requireSequence(t, got)
			if tc.name == "retried with a new document, then failed" {
				require.Equal(t, ActionBringOtherDocument, got[1].Event.Data.ActionRequired)
				require.Equal(t, urlForIdent(testUser, "ident-2"), got[1].Event.Data.IdentificationURL)
			}
			if strings.HasPrefix(tc.name, "SEPA") {
				require.Equal(t, ActionSEPATransfer, got[1].Event.Data.ActionRequired)
				require.Empty(t, got[1].Event.Data.IdentificationURL)
			}
		})
	}
}

// TestEventsNeverShowFraud: for every fraud code, rejected by compliance or cleared, the
// events say nothing of fraud, compliance or the reason, and read like an ordinary review.
func TestEventsNeverShowFraud(t *testing.T) {
	for code := 3201; code <= 3215; code++ {
		r := treezor.LookupReason(code)
		require.Equal(t, treezor.CategoryFraud, r.Category, "code %d", code)
		for _, decision := range []string{DecisionReject, DecisionClear} {
			t.Run(strconv.Itoa(code)+"-"+decision, func(t *testing.T) {
				got, _ := eventRun(t, input(), func(env *testsuite.TestWorkflowEnvironment, _ *fakeAPI) {
					signalAt(env, time.Minute, aborted("ident-1", code))
					env.RegisterDelayedCallback(func() {
						sendAction(t, env, UpdateComplianceDecision, ComplianceDecision{Decision: decision, Note: "fraud ring 3201"}, nil)
					}, time.Hour)
					env.RegisterDelayedCallback(func() { sendAction(t, env, UpdateCancel, CancelRequest{Reason: "done"}, nil) }, 2*time.Hour)
				})
				want := []string{"onboarding.started ACTION_REQUIRED", "onboarding.under_review UNDER_REVIEW", "onboarding.ended CLOSED"}
				if decision == DecisionClear {
					want = []string{"onboarding.started ACTION_REQUIRED", "onboarding.under_review UNDER_REVIEW",
						"onboarding.action_required ACTION_REQUIRED", "onboarding.ended CANCELLED"}
				}
				require.Equal(t, want, eventTypes(got))
				for _, d := range got {
					// The type and data, not the timestamp: its digits may spell the reason code.
					b, err := json.Marshal(struct {
						Type string
						Data outbound.Data
					}{d.Event.Type, d.Event.Data})
					require.NoError(t, err)
					body := strings.ToLower(string(b))
					for _, word := range []string{"fraud", "complian", "reject", "suspic", strconv.Itoa(code), strings.ToLower(r.Message)} {
						require.NotContains(t, body, word, "event %s", b)
					}
				}
			})
		}
	}
}

// TestEndpointGoneStopsDeliveries: a backend answering 410 Gone gets no further event; the
// error shows on the timeline and in the status view, and the onboarding goes on.
func TestEndpointGoneStopsDeliveries(t *testing.T) {
	api := newFakeAPI()
	env, rcv := eventEnv(t, api)
	rcv.SetStatus(http.StatusGone)
	signalAt(env, time.Minute, created("ident-1"))
	env.RegisterDelayedCallback(func() { sendAction(t, env, UpdateCancel, CancelRequest{Reason: "user"}, nil) }, time.Hour)
	env.ExecuteWorkflow(WorkflowName, input())
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	v, err := env.QueryWorkflow(QueryStatus)
	require.NoError(t, err)
	var st Status
	require.NoError(t, v.Get(&st))
	require.Equal(t, StateOperatorCancelled, st.State)
	require.Len(t, rcv.All(), 1, "only the first event reached the gone endpoint")
	require.Equal(t, []string{"backend"}, st.Events.Gone)
	require.Equal(t, 3, st.Events.Queued)
	require.Zero(t, st.Events.Delivered)
	require.Zero(t, st.Events.Pending)
	require.True(t, hasNote(notes(st, ""), "endpoint backend answered 410 Gone"))
}

// TestEventsOffWithoutEndpoint: on a worker with no event endpoint, an onboarding queues
// no event and schedules no delivery, and the status view shows no delivery state; the
// decision is one recorded side effect, carried across continue-as-new.
func TestEventsOffWithoutEndpoint(t *testing.T) {
	for _, tc := range []struct {
		name   string
		events bool
		want   int
	}{{"no endpoint", false, 0}, {"an endpoint", true, 3}} {
		t.Run(tc.name, func(t *testing.T) {
			api := newFakeAPI()
			var ts testsuite.WorkflowTestSuite
			ts.SetLogger(testLogger())
			env := ts.NewTestWorkflowEnvironment()
			env.RegisterWorkflowWithOptions(NewOnboarding(Config{Events: tc.events}), workflow.RegisterOptions{Name: WorkflowName})
			env.RegisterWorkflowWithOptions(QESEventDelivery, workflow.RegisterOptions{Name: EventDeliveryWorkflowName})
			env.RegisterActivity(&activities.Activities{Treezor: api, Store: activities.FSDocumentStore{Dir: t.TempDir()}})
			env.SetTestTimeout(20 * time.Second)
			env.SetWorkerOptions(worker.Options{DeadlockDetectionTimeout: time.Minute})
			deliveries := 0
			env.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, _ converter.EncodedValues) {
				if info.ActivityType.Name == activities.DeliverEventName {
					deliveries++
				}
			})
			signalAt(env, time.Minute, created("ident-1"))
			signalAt(env, 2*time.Minute, success("ident-1"), documentCreated("doc-ident-1"))
			env.RegisterDelayedCallback(func() { api.sawReview(treezor.KYCReviewValidated) }, time.Hour-time.Second)
			signalAt(env, time.Hour, kycReview(treezor.KYCReviewValidated))
			env.ExecuteWorkflow(WorkflowName, input())
			require.True(t, env.IsWorkflowCompleted())
			require.NoError(t, env.GetWorkflowError())
			require.Equal(t, tc.want, deliveries)
			v, err := env.QueryWorkflow(QueryStatus)
			require.NoError(t, err)
			var st Status
			require.NoError(t, v.Get(&st))
			require.Equal(t, StateCompletedValidated, st.State)
			if tc.events {
				require.Equal(t, 3, st.Events.Queued)
			} else {
				require.Nil(t, st.Events)
			}
		})
	}
}

// TestComplianceEndpointGetsTheInternalView: for every fraud code, with an opt-in compliance endpoint beside the
// backend, the compliance endpoint receives every event with the internal view (state,
// reason code) under its own secret, while the backend's bodies, read raw, carry none of it.
func TestComplianceEndpointGetsTheInternalView(t *testing.T) {
	for code := 3201; code <= 3215; code++ {
		t.Run(strconv.Itoa(code), func(t *testing.T) { complianceEndpointRun(t, code) })
	}
}

func complianceEndpointRun(t *testing.T, code int) {
	api := newFakeAPI()
	userSecret, complianceSecret := outboundtest.Secret("user-backend"), outboundtest.Secret("compliance-backend")
	rcvUser, rcvCompliance := outboundtest.NewReceiver(t, userSecret), outboundtest.NewReceiver(t, complianceSecret)
	shared, err := outbound.ParseSecrets(userSecret)
	require.NoError(t, err)
	own, err := outbound.ParseSecrets(complianceSecret)
	require.NoError(t, err)
	sender, err := outbound.NewSender(outbound.Config{Secrets: shared, Endpoints: []outbound.Endpoint{
		{Name: "backend", URL: rcvUser.URL},
		{Name: "audit", URL: rcvCompliance.URL, Secrets: own, Compliance: true},
	}})
	require.NoError(t, err)
	var ts testsuite.WorkflowTestSuite
	ts.SetLogger(testLogger())
	env := ts.NewTestWorkflowEnvironment()
	env.RegisterWorkflowWithOptions(NewOnboarding(Config{Events: true, ComplianceEvents: sender.HasCompliance()}), workflow.RegisterOptions{Name: WorkflowName})
	env.RegisterWorkflowWithOptions(QESEventDelivery, workflow.RegisterOptions{Name: EventDeliveryWorkflowName})
	env.RegisterActivity(&activities.Activities{Treezor: api, Store: activities.FSDocumentStore{Dir: t.TempDir()}, Events: sender})
	env.SetTestTimeout(20 * time.Second)
	env.SetWorkerOptions(worker.Options{DeadlockDetectionTimeout: time.Minute})

	signalAt(env, time.Minute, created("ident-1"))         // IN_PROGRESS: under review for the user
	signalAt(env, 2*time.Minute, aborted("ident-1", code)) // a fraud suspicion, still under review for the user
	env.RegisterDelayedCallback(func() {
		sendAction(t, env, UpdateComplianceDecision, ComplianceDecision{Decision: DecisionReject, Note: "checked"}, nil)
	}, time.Hour)
	env.ExecuteWorkflow(WorkflowName, input())
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	require.Empty(t, rcvUser.Failures())
	require.Empty(t, rcvCompliance.Failures())

	user := rcvUser.Accepted()
	require.Equal(t, []string{"onboarding.started ACTION_REQUIRED", "onboarding.under_review UNDER_REVIEW", "onboarding.ended CLOSED"},
		eventTypes(user))
	for _, d := range user {
		var raw map[string]any
		require.NoError(t, json.Unmarshal(d.Body, &raw))
		delete(raw, "timestamp") // its digits may spell the reason code
		b, err := json.Marshal(raw)
		require.NoError(t, err)
		for _, word := range []string{"internal", "fraud", "complian", "reject", strconv.Itoa(code), "reasonCode"} {
			require.NotContains(t, strings.ToLower(string(b)), strings.ToLower(word), "backend event %s", b)
		}
	}

	var states []string
	sawReason := false
	for i, d := range rcvCompliance.Accepted() {
		var body struct {
			Type string `json:"type"`
			Data struct {
				Internal *outbound.Internal `json:"internal"`
			} `json:"data"`
		}
		require.NoError(t, json.Unmarshal(d.Body, &body))
		require.NotNil(t, body.Data.Internal, "event %d of the compliance endpoint: %s", i+1, d.Body)
		require.Equal(t, i+1, body.Data.Internal.Sequence, "the compliance endpoint's own numbering")
		states = append(states, body.Data.Internal.State)
		sawReason = sawReason || body.Data.Internal.ReasonCode == code
	}
	require.True(t, sawReason, "the compliance endpoint learns the fraud code: %v", states)
	require.Contains(t, states, string(StateComplianceReview))
	require.Equal(t, string(StateRejected), states[len(states)-1])
	require.Greater(t, len(states), len(user), "internal changes the backend does not see: %v", states)
	var internalOnly int
	for _, d := range rcvCompliance.Accepted() {
		if d.Event.Type == outbound.TypeInternalChanged {
			internalOnly++
		}
	}
	require.Equal(t, len(states)-len(user), internalOnly)
}
