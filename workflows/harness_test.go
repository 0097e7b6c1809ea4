package workflows_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/qesflow/qesflow/activities"
	"github.com/qesflow/qesflow/internal/testenv"
	"github.com/qesflow/qesflow/treezor"
	"github.com/qesflow/qesflow/treezorsim"
	"github.com/qesflow/qesflow/treezorsim/simtest"
	"github.com/qesflow/qesflow/workflows"
)

// startTreezor serves the Treezor simulator for the harness. Its own webhooks go to a
// receiver that takes them and does nothing: the scenarios signal theirs, as the bridge
// would, and the simulator's payins count once their webhooks are delivered.
func startTreezor(t *testing.T) *simtest.Server {
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) }))
	t.Cleanup(sink.Close)
	return simtest.Start(t, treezorsim.Config{DownloadsEnabled: true, WebhookURL: sink.URL, WebhookRetryInterval: 50 * time.Millisecond})
}

// createUser creates the onboarding's user at Treezor, in the input's country, with
// wallets wallets (Treezor users may own several; a SEPA transfer goes to the last).
func createUser(tz *simtest.Server, in workflows.Input, wallets int) {
	if _, ok := tz.Simulator.User(in.UserID); ok {
		return
	}
	if wallets > 1 {
		v := tz.WebhookVariants()
		defer tz.SetWebhookVariants(v)
		other := v
		other.PayinOtherWallet = true
		tz.SetWebhookVariants(other)
	}
	country := in.Country
	if country == "" {
		country = "FR"
	}
	tz.CreateUser(treezorsim.User{UserID: in.UserID, Firstname: "Ada", Lastname: "Lovelace",
		Email: "ada@example.com", Country: country, Phone: "+33612345678"})
}

// wallet returns the user's i-th wallet id at Treezor.
func (h *harness) wallet(t *testing.T, user string, i int) string {
	wallets, err := h.treezor.Client(t).ListWallets(ctxFor(t), user)
	require.NoError(t, err)
	require.Greater(t, len(wallets), i, "wallets of %s", user)
	return wallets[i].WalletID
}

// signedDocuments completes the identification at Treezor and returns its documents.
func (h *harness) signedDocuments(t *testing.T, ident string) []string {
	require.NoError(t, h.treezor.Act(ident, treezorsim.Success()))
	snap, ok := h.treezor.Identification(ident)
	require.True(t, ok)
	return snap.Documents
}

const webhookSecret = "whsec-test-only"

// harness is a real in-process Temporal server with a worker running the workflow and
// the real activities against the Treezor simulator.
type harness struct {
	client    client.Client
	namespace string
	treezor   *simtest.Server
	acts      *activities.Activities
	mu        sync.Mutex
	seq       int
	// idle holds, by user, the stop of the worker startIdle started on the user's own queue.
	idle map[string]func()
}

func newHarness(t *testing.T) *harness { return newHarnessWith(t, nil) }

// newHarnessWith is newHarness on a worker that delivers outbound events with events.
func newHarnessWith(t *testing.T, events activities.EventSender) *harness {
	ts := testenv.NewTemporal(t)
	fake := startTreezor(t)
	acts := &activities.Activities{Treezor: fake.Client(t), Store: activities.FSDocumentStore{Dir: t.TempDir()}, Events: events}
	ts.NewWorker(workflows.TaskQueue, func(r worker.Registry) {
		r.RegisterWorkflowWithOptions(workflows.NewOnboarding(eventConfig(events)), workflow.RegisterOptions{Name: workflows.WorkflowName})
		r.RegisterWorkflowWithOptions(workflows.QESEventDelivery, workflow.RegisterOptions{Name: workflows.EventDeliveryWorkflowName})
		r.RegisterActivity(acts)
	})
	return &harness{client: ts.GetDefaultClient(), namespace: ts.GetDefaultNamespace(), treezor: fake, acts: acts}
}

// eventConfig is the workflow configuration of a worker that delivers with events.
func eventConfig(events activities.EventSender) workflows.Config {
	compliance, _ := events.(interface{ HasCompliance() bool })
	return workflows.Config{Events: events != nil, ComplianceEvents: compliance != nil && compliance.HasCompliance()}
}

// startIdle starts the onboarding on a task queue no worker polls yet, sends what send
// sends, then starts a worker: its first workflow task applies everything at once. It
// returns the run id.
func (h *harness) startIdle(t *testing.T, in workflows.Input, send func(t *testing.T, h *harness, user string)) string {
	queue := "idle-" + in.UserID
	createUser(h.treezor, in, 1)
	run, err := h.client.ExecuteWorkflow(ctxFor(t), client.StartWorkflowOptions{
		ID: workflows.WorkflowID(in.UserID), TaskQueue: queue,
		TypedSearchAttributes: workflows.StartSearchAttributes(in.UserID),
	}, workflows.WorkflowName, in)
	require.NoError(t, err)
	send(t, h, in.UserID)
	h.setIdleWorker(in.UserID, h.startWorkerOn(t, queue))
	return run.GetRunID()
}

func (h *harness) setIdleWorker(user string, stop func()) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.idle == nil {
		h.idle = map[string]func(){}
	}
	h.idle[user] = stop
}

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// start is the starter's call: Update-With-Start, one call that starts the onboarding
// (or finds the running one) and answers with the identification URL.
func (h *harness) start(t *testing.T, in workflows.Input) (workflows.IdentificationURLResult, client.WorkflowUpdateHandle, error) {
	ctx := ctxFor(t)
	createUser(h.treezor, in, 1)
	op := h.client.NewWithStartWorkflowOperation(client.StartWorkflowOptions{
		ID:                       workflows.WorkflowID(in.UserID),
		TaskQueue:                workflows.TaskQueue,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		TypedSearchAttributes:    workflows.StartSearchAttributes(in.UserID),
	}, workflows.WorkflowName, in)
	handle, err := h.client.UpdateWithStartWorkflow(ctx, client.UpdateWithStartWorkflowOptions{
		StartWorkflowOperation: op,
		UpdateOptions: client.UpdateWorkflowOptions{
			UpdateName:   workflows.UpdateIdentificationURL,
			WaitForStage: client.WorkflowUpdateStageCompleted,
		},
	})
	require.NoError(t, err)
	var res workflows.IdentificationURLResult
	err = handle.Get(ctx, &res)
	return res, handle, err
}

// identificationURL asks the running onboarding for its URL.
func (h *harness) identificationURL(t *testing.T, user string) workflows.IdentificationURLResult {
	ctx := ctxFor(t)
	handle, err := h.client.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID: workflows.WorkflowID(user), UpdateName: workflows.UpdateIdentificationURL,
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	require.NoError(t, err)
	var res workflows.IdentificationURLResult
	require.NoError(t, handle.Get(ctx, &res))
	return res
}

// deliver sends a webhook through the real path: payload signed with treezor.Sign,
// envelope encoded, decoded, verified and normalised, then signalled.
func (h *harness) deliver(t *testing.T, user, typ, objectID string, payload any) treezor.Event {
	raw, err := json.Marshal(payload)
	require.NoError(t, err)
	sig, err := treezor.Sign(webhookSecret, raw)
	require.NoError(t, err)
	h.mu.Lock()
	h.seq++
	id := fmt.Sprintf("wh-%s-%d", user, h.seq)
	h.mu.Unlock()
	body, err := treezor.EncodeEnvelope(&treezor.Envelope{
		Webhook: typ, WebhookID: id, CreatedAt: time.Now().UTC(),
		Object: strings.SplitN(typ, ".", 2)[0], ObjectID: objectID, ObjectPayload: raw, Signature: sig,
	})
	require.NoError(t, err)
	env, err := treezor.DecodeEnvelope(body)
	require.NoError(t, err)
	require.NoError(t, treezor.Verify([]string{webhookSecret}, env))
	ev, err := env.Event()
	require.NoError(t, err)
	require.True(t, ev.Known)
	if ev.PaymentMethodID == 0 {
		ev.PaymentMethodID = paymentMethodOf(t, raw) // until the decoder reads paymentMethodId
	}
	require.NoError(t, h.client.SignalWorkflow(ctxFor(t), workflows.WorkflowID(user), "", workflows.SignalWebhook, ev))
	return ev
}

// paymentMethodOf reads payins[0].paymentMethodId of a payin payload (0 for others).
func paymentMethodOf(t *testing.T, raw []byte) int {
	var p struct {
		Payins []struct {
			PaymentMethodID string `json:"paymentMethodId"`
		} `json:"payins"`
	}
	require.NoError(t, json.Unmarshal(raw, &p))
	if len(p.Payins) == 0 {
		return 0
	}
	n, _ := strconv.Atoi(p.Payins[0].PaymentMethodID)
	return n
}

func (h *harness) qes(t *testing.T, user, typ, ident, result string, code int) {
	item := map[string]any{"userId": user, "identificationId": ident, "result": result}
	if code != 0 {
		item["reason"] = map[string]any{"reasonCode": code, "reasonMessage": treezor.LookupReason(code).Message}
	}
	h.deliver(t, user, typ, ident, map[string]any{"qes": []any{item}})
}

// kyc announces a review decision that Treezor holds (GET user answers it too).
func (h *harness) kyc(t *testing.T, user, review string) {
	var k treezor.KYCReview
	require.NoError(t, json.Unmarshal([]byte(strconv.Quote(review)), &k))
	h.decideKYC(t, user, k)
	h.deliver(t, user, treezor.EventUserKYCReview, user,
		map[string]any{"users": []any{map[string]any{"userId": user, "kycReview": review, "kycLevel": "2"}}})
}

// decideKYC makes Treezor hold the review decision k, once the review was requested (the
// state changes when the review is requested; the call to Treezor follows).
func (h *harness) decideKYC(t *testing.T, user string, k treezor.KYCReview) {
	decision := treezorsim.KYCValidate
	if k == treezor.KYCReviewRefused {
		decision = treezorsim.KYCRefuse
	}
	require.Eventually(t, func() bool { return h.treezor.DecideKYC(user, decision, "") == nil },
		30*time.Second, 20*time.Millisecond, "no KYC review of %s to decide", user)
}

// document announces a QES document (document.create, as after every success).
func (h *harness) document(t *testing.T, user, id string) {
	h.deliver(t, user, treezor.EventDocumentCreate, id,
		map[string]any{"documents": []any{map[string]any{"documentId": id, "userId": user, "documentTypeId": "9", "documentStatus": "PENDING"}}})
}

func (h *harness) payin(t *testing.T, user, status string) {
	h.deliver(t, user, treezor.EventPayinUpdate, "payin-"+user,
		map[string]any{"payins": []any{map[string]any{"payinId": "payin-" + user, "userId": "0", "walletId": h.wallet(t, user, 0), "payinStatus": status, "paymentMethodId": "20"}}})
}

// action sends an operator action (an update) and returns the state it led to.
func (h *harness) action(t *testing.T, user, name string, arg any) workflows.ActionResult {
	ctx := ctxFor(t)
	handle, err := h.client.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID: workflows.WorkflowID(user), UpdateName: name, Args: []any{arg},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	require.NoError(t, err)
	var res workflows.ActionResult
	require.NoError(t, handle.Get(ctx, &res))
	return res
}

func (h *harness) status(t *testing.T, user string) workflows.Status {
	v, err := h.client.QueryWorkflow(ctxFor(t), workflows.WorkflowID(user), "", workflows.QueryStatus)
	require.NoError(t, err)
	var st workflows.Status
	require.NoError(t, v.Get(&st))
	return st
}

// waitState polls the status query until the onboarding is in state on attempt.
func (h *harness) waitState(t *testing.T, user string, state workflows.State, attempt int) workflows.Status {
	var st workflows.Status
	require.Eventually(t, func() bool {
		st = h.status(t, user)
		return st.State == state && st.Attempt == attempt
	}, 30*time.Second, 20*time.Millisecond, "waiting for %s attempt %d of %s", state, attempt, user)
	return st
}

// result waits for the onboarding's end (following continue-as-new).
func (h *harness) result(t *testing.T, user string) workflows.Result {
	var r workflows.Result
	err := h.client.GetWorkflow(ctxFor(t), workflows.WorkflowID(user), "").Get(ctxFor(t), &r)
	if failed, ok := workflows.FailedResult(err); ok {
		return failed // an onboarding that ended FAILED fails the execution
	}
	require.NoError(t, err)
	return r
}

// histories returns the history of every run of the onboarding, first run first.
// history is the history of one run of workflowID ("": the latest).
func (h *harness) history(t *testing.T, workflowID, runID string) *historypb.History {
	hist := &historypb.History{}
	iter := h.client.GetWorkflowHistory(ctxFor(t), workflowID, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for iter.HasNext() {
		ev, err := iter.Next()
		require.NoError(t, err)
		hist.Events = append(hist.Events, ev)
	}
	return hist
}

// latestRunID is the run id of the user's latest onboarding run.
func (h *harness) latestRunID(t *testing.T, user string) string {
	desc, err := h.client.DescribeWorkflowExecution(ctxFor(t), workflows.WorkflowID(user), "")
	require.NoError(t, err)
	return desc.GetWorkflowExecutionInfo().GetExecution().GetRunId()
}

func (h *harness) histories(t *testing.T, user, firstRunID string) []*historypb.History {
	var out []*historypb.History
	for runID := firstRunID; runID != ""; {
		hist := &historypb.History{}
		iter := h.client.GetWorkflowHistory(ctxFor(t), workflows.WorkflowID(user), runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		for iter.HasNext() {
			ev, err := iter.Next()
			require.NoError(t, err)
			hist.Events = append(hist.Events, ev)
		}
		out = append(out, hist)
		runID = ""
		if last := hist.Events[len(hist.Events)-1]; last.GetWorkflowExecutionContinuedAsNewEventAttributes() != nil {
			runID = last.GetWorkflowExecutionContinuedAsNewEventAttributes().GetNewExecutionRunId()
		}
	}
	return out
}

// scenario is one recorded path through the workflow.
type scenario struct {
	name string
	// incomplete is how many 428 answers Treezor gives the user first; refuse makes
	// Treezor refuse the initiation; down is how many 503 answers it gives first.
	incomplete, down int
	refuse           bool
	wallets          int // the user's wallets at Treezor (default 1)
	input            func(user string) workflows.Input
	// burst, when set, is sent before any worker runs the onboarding: the first workflow
	// task then applies all of it at once (with the webhooks held for the initiation).
	burst func(t *testing.T, h *harness, user string)
	// drive plays the scenario after the start answered; it returns nothing, the final
	// state is checked against want.
	drive func(t *testing.T, h *harness, user string, first workflows.IdentificationURLResult, startErr error)
	want  workflows.State
	// refuseFinal is how many deliveries of the final event the recorder's receiver
	// answers 503: more than the ended run waits for, so it hands the event to a
	// QESEventDelivery workflow, whose history is recorded as <name>-delivery.json.
	refuseFinal int
}

func baseInput(user string) workflows.Input {
	return workflows.Input{UserID: user, Country: "FR", RedirectURL: "https://app.example/onboarding/done"}
}

// germanInput is baseInput for a user in Germany, without a wallet: the SEPA step reads the
// user's wallets at Treezor.
func germanInput(user string) workflows.Input {
	in := baseInput(user)
	in.Country = "DE"
	return in
}

func withPolicy(p workflows.PolicyOverride) func(string) workflows.Input {
	return func(user string) workflows.Input {
		in := baseInput(user)
		in.Policy = &p
		return in
	}
}

// succeed plays a successful identification of ident and a validated KYC review.
func succeed(t *testing.T, h *harness, user, ident string, attempt int) {
	h.qes(t, user, treezor.EventQESCreated, ident, "", 0)
	h.qes(t, user, treezor.EventQESProcessing, ident, "", 0)
	h.qes(t, user, treezor.EventQESFinalized, ident, treezor.ResultSuccess, 0)
	h.document(t, user, "doc-"+ident)
	h.waitState(t, user, workflows.StateKYCReviewPending, attempt)
	h.kyc(t, user, "VALIDATED")
}

// initiateAhead makes Treezor create the identification of the onboarding's n-th initiation
// before the workflow asks for it (with the access tag the workflow will send, which then
// replays it), and returns its id.
func (h *harness) initiateAhead(t *testing.T, user string, n int) string {
	desc, err := h.client.DescribeWorkflowExecution(ctxFor(t), workflows.WorkflowID(user), "")
	require.NoError(t, err)
	tag := activities.AccessTag(user, desc.GetWorkflowExecutionInfo().GetExecution().GetRunId(), activities.StepQES, n)
	created, err := h.treezor.Client(t).InitiateQES(ctxFor(t), user, baseInput(user).RedirectURL, tag)
	require.NoError(t, err)
	return created.IdentificationID
}

// scenarios are the recorded paths: together they reach every state and branch of the
// workflow (TestRecordHistories records them, TestReplay replays the recordings).
func scenarios() []scenario {
	on := true
	return append([]scenario{
		{
			name:  "success",
			input: baseInput,
			drive: func(t *testing.T, h *harness, user string, first workflows.IdentificationURLResult, err error) {
				require.NoError(t, err)
				succeed(t, h, user, first.IdentificationID, 1)
			},
			want: workflows.StateCompletedValidated,
		},
		{
			name: "success-de",
			input: func(user string) workflows.Input {
				in := baseInput(user)
				in.Country, in.WalletID = "DE", "w-"+user
				return in
			},
			drive: func(t *testing.T, h *harness, user string, first workflows.IdentificationURLResult, err error) {
				require.NoError(t, err)
				h.qes(t, user, treezor.EventQESFinalized, first.IdentificationID, treezor.ResultSuccess, 0)
				h.waitState(t, user, workflows.StateAwaitingSEPA, 1)
				h.payin(t, user, "PENDING")
				h.payin(t, user, "VALIDATED")
				h.document(t, user, "doc-"+first.IdentificationID)
				h.waitState(t, user, workflows.StateKYCReviewPending, 1)
				h.kyc(t, user, "2")
			},
			want: workflows.StateCompletedValidated,
		},
		{
			name: "sepa-received-before",
			input: func(user string) workflows.Input {
				in := baseInput(user)
				in.Country, in.WalletID = "DE", "w-"+user
				return in
			},
			drive: func(t *testing.T, h *harness, user string, first workflows.IdentificationURLResult, err error) {
				require.NoError(t, err)
				_, err = h.treezor.SEPAPayin(user, "")
				require.NoError(t, err)
				require.NoError(t, h.treezor.WaitIdle(ctxFor(t)), "the transfer's webhooks are sent: it is VALIDATED")
				h.qes(t, user, treezor.EventQESFinalized, first.IdentificationID, treezor.ResultSuccess, 0)
				h.document(t, user, "doc-"+first.IdentificationID)
				st := h.waitState(t, user, workflows.StateKYCReviewPending, 1)
				require.True(t, st.SEPAValidated)
				h.kyc(t, user, "VALIDATED")
			},
			want: workflows.StateCompletedValidated,
		},
		{
			name: "one-task-many-events",
			burst: func(t *testing.T, h *harness, user string) {
				// Treezor created the identification already: the initiation's accessTag replays it.
				ident := h.initiateAhead(t, user, 1)
				h.qes(t, user, treezor.EventQESCreated, ident, "", 0)
				h.qes(t, user, treezor.EventQESProcessing, ident, "", 0)
				h.qes(t, user, treezor.EventQESFinalized, ident, treezor.ResultSuccess, 0)
				h.document(t, user, "doc-"+ident)
				h.qes(t, user, treezor.EventQESCreated, "qes-"+user+"-stale", "", 0)
			},
			input: baseInput,
			drive: func(t *testing.T, h *harness, user string, _ workflows.IdentificationURLResult, _ error) {
				h.waitState(t, user, workflows.StateKYCReviewPending, 1)
				h.kyc(t, user, "VALIDATED")
			},
			want: workflows.StateCompletedValidated,
		},
		{
			name:  "retry-then-success",
			input: withPolicy(workflows.PolicyOverride{RetryBackoff: time.Second}),
			drive: func(t *testing.T, h *harness, user string, first workflows.IdentificationURLResult, err error) {
				require.NoError(t, err)
				h.qes(t, user, treezor.EventQESFinalized, first.IdentificationID, treezor.ResultCanceled, 3101)
				st := h.waitState(t, user, workflows.StateAwaitingUser, 2)
				second := h.identificationURL(t, user)
				require.Equal(t, st.IdentificationID, second.IdentificationID)
				require.NotEqual(t, first.IdentificationID, second.IdentificationID)
				h.qes(t, user, treezor.EventQESCreated, first.IdentificationID, "", 0) // stale
				succeed(t, h, user, second.IdentificationID, 2)
			},
			want: workflows.StateCompletedValidated,
		},
		{
			name:  "documents-downloaded",
			input: withPolicy(workflows.PolicyOverride{DownloadDocuments: &on, DocumentWaitWindow: 2 * time.Second}),
			drive: func(t *testing.T, h *harness, user string, first workflows.IdentificationURLResult, err error) {
				require.NoError(t, err)
				h.qes(t, user, treezor.EventQESFinalized, first.IdentificationID, treezor.ResultSuccess, 0)
				h.waitState(t, user, workflows.StateDocuments, 1)
				for _, doc := range h.signedDocuments(t, first.IdentificationID) {
					h.document(t, user, doc)
				}
				st := h.waitState(t, user, workflows.StateKYCReviewPending, 1)
				require.Len(t, st.DocumentDownloads, 2)
				h.kyc(t, user, "VALIDATED")
			},
			want: workflows.StateCompletedValidated,
		},
		{
			name:  "kyc-overdue",
			input: withPolicy(workflows.PolicyOverride{KYCReviewTimeout: time.Second}),
			drive: func(t *testing.T, h *harness, user string, first workflows.IdentificationURLResult, err error) {
				require.NoError(t, err)
				h.qes(t, user, treezor.EventQESFinalized, first.IdentificationID, treezor.ResultSuccess, 0)
				h.document(t, user, "doc-"+first.IdentificationID)
				h.waitState(t, user, workflows.StateKYCReviewOverdue, 1)
				h.decideKYC(t, user, treezor.KYCReviewRefused) // the webhook is lost: the check finds it
			},
			want: workflows.StateCompletedRefused,
		},
		{
			name:  "fraud-clear",
			input: baseInput,
			drive: func(t *testing.T, h *harness, user string, first workflows.IdentificationURLResult, err error) {
				require.NoError(t, err)
				h.qes(t, user, treezor.EventQESAborted, first.IdentificationID, treezor.ResultAborted, 3204)
				h.waitState(t, user, workflows.StateComplianceReview, 1)
				h.action(t, user, workflows.UpdateComplianceDecision, workflows.ComplianceDecision{Decision: workflows.DecisionClear, Note: "checked"})
				st := h.waitState(t, user, workflows.StateAwaitingUser, 2)
				succeed(t, h, user, st.IdentificationID, 2)
			},
			want: workflows.StateCompletedValidated,
		},
		{
			name:  "fraud-escalated-reject",
			input: withPolicy(workflows.PolicyOverride{ComplianceTimeout: time.Second}),
			drive: func(t *testing.T, h *harness, user string, first workflows.IdentificationURLResult, err error) {
				require.NoError(t, err)
				h.qes(t, user, treezor.EventQESFinalized, first.IdentificationID, treezor.ResultFraudSuspicionConfirmed, 3207)
				require.Eventually(t, func() bool { return h.status(t, user).Escalations >= 2 }, 30*time.Second, 50*time.Millisecond)
				h.action(t, user, workflows.UpdateComplianceDecision, workflows.ComplianceDecision{Decision: workflows.DecisionReject})
			},
			want: workflows.StateRejected,
		},
		{
			name:  "unknown-result",
			input: baseInput,
			drive: func(t *testing.T, h *harness, user string, first workflows.IdentificationURLResult, err error) {
				require.NoError(t, err)
				h.qes(t, user, treezor.EventQESFinalized, first.IdentificationID, "SOMETHING_NEW", 0)
				h.waitState(t, user, workflows.StateComplianceReview, 1)
				h.action(t, user, workflows.UpdateComplianceDecision, workflows.ComplianceDecision{Decision: workflows.DecisionReject})
			},
			want: workflows.StateRejected,
		},
		{
			name:  "expiry",
			input: withPolicy(workflows.PolicyOverride{UserTimeout: 2 * time.Second}),
			drive: func(t *testing.T, h *harness, user string, first workflows.IdentificationURLResult, err error) {
				require.NoError(t, err)
			},
			want: workflows.StateExpired,
		},
		{
			name:  "waiting-for-user-restart",
			input: baseInput,
			drive: func(t *testing.T, h *harness, user string, first workflows.IdentificationURLResult, err error) {
				require.NoError(t, err)
				h.qes(t, user, treezor.EventQESAborted, first.IdentificationID, treezor.ResultAborted, 3009)
				h.waitState(t, user, workflows.StateWaitingForUser, 1)
				res := h.action(t, user, workflows.UpdateRestart, workflows.RestartRequest{Reason: "name corrected"})
				require.Equal(t, 2, res.Attempt)
				st := h.waitState(t, user, workflows.StateAwaitingUser, 2)
				h.qes(t, user, treezor.EventQESAborted, st.IdentificationID, treezor.ResultAborted, 3005) // declined
			},
			want: workflows.StateDeclined,
		},
		{
			name:       "user-data-incomplete",
			incomplete: 1,
			input:      baseInput,
			drive: func(t *testing.T, h *harness, user string, _ workflows.IdentificationURLResult, err error) {
				var appErr *temporal.ApplicationError
				require.True(t, errors.As(err, &appErr), "want the 428 error, got %v", err)
				require.Equal(t, workflows.ErrTypeUserDataIncomplete, appErr.Type())
				h.action(t, user, workflows.UpdateRestart, workflows.RestartRequest{Reason: "data completed"})
				again := h.identificationURL(t, user)
				require.NotEmpty(t, again.IdentificationURL)
				succeed(t, h, user, again.IdentificationID, 1)
			},
			want: workflows.StateCompletedValidated,
		},
		{
			name:   "initiation-refused",
			refuse: true,
			input:  baseInput,
			drive: func(t *testing.T, h *harness, user string, _ workflows.IdentificationURLResult, err error) {
				var appErr *temporal.ApplicationError
				require.True(t, errors.As(err, &appErr), "want the refusal, got %v", err)
				require.Equal(t, workflows.ErrTypeTreezorRejected, appErr.Type())
			},
			want: workflows.StateFailed,
		},
		{
			// From ChangeRelease on, a FAILED onboarding fails the execution.
			name:   "initiation-refused-fails",
			refuse: true,
			input:  baseInput,
			drive: func(t *testing.T, h *harness, user string, _ workflows.IdentificationURLResult, err error) {
				var appErr *temporal.ApplicationError
				require.True(t, errors.As(err, &appErr), "want the refusal, got %v", err)
				require.Equal(t, workflows.ErrTypeTreezorRejected, appErr.Type())
			},
			want: workflows.StateFailed,
		},
		{
			name:  "attempts-used-fails",
			input: withPolicy(workflows.PolicyOverride{MaxAttempts: 2, RetryBackoff: time.Second}),
			drive: func(t *testing.T, h *harness, user string, first workflows.IdentificationURLResult, err error) {
				require.NoError(t, err)
				h.qes(t, user, treezor.EventQESAborted, first.IdentificationID, treezor.ResultAborted, 3011) // RETRY_INVITE
				st := h.waitState(t, user, workflows.StateAwaitingUser, 2)
				h.qes(t, user, treezor.EventQESAborted, st.IdentificationID, treezor.ResultAborted, 3011)
			},
			want: workflows.StateFailed,
		},
		{
			name:  "treezor-outage",
			down:  4,
			input: withPolicy(workflows.PolicyOverride{TreezorRetryWindow: 2 * time.Second}),
			drive: func(t *testing.T, h *harness, user string, first workflows.IdentificationURLResult, err error) {
				require.NoError(t, err)
				h.action(t, user, workflows.UpdateCancel, workflows.CancelRequest{Reason: "operator"})
			},
			want: workflows.StateOperatorCancelled,
		},
		{
			name:  "cancel",
			input: baseInput,
			drive: func(t *testing.T, h *harness, user string, first workflows.IdentificationURLResult, err error) {
				require.NoError(t, err)
				h.qes(t, user, treezor.EventQESCreated, first.IdentificationID, "", 0)
				h.waitState(t, user, workflows.StateInProgress, 1)
				h.action(t, user, workflows.UpdateCancel, workflows.CancelRequest{Reason: "operator"})
			},
			want: workflows.StateOperatorCancelled,
		},
		{
			name:  "continue-as-new",
			input: withPolicy(workflows.PolicyOverride{ContinueAsNewAfter: 20}),
			drive: func(t *testing.T, h *harness, user string, first workflows.IdentificationURLResult, err error) {
				require.NoError(t, err)
				// Webhooks pending and an update running while the history grows past the limit.
				var wg sync.WaitGroup
				wg.Add(1)
				go func() {
					defer wg.Done()
					for range 3 {
						h.identificationURL(t, user)
					}
				}()
				for range 6 {
					h.qes(t, user, treezor.EventQESCreated, first.IdentificationID, "", 0) // out of order after the first
				}
				wg.Wait()
				succeed(t, h, user, first.IdentificationID, 1)
			},
			want: workflows.StateCompletedValidated,
		},
		{
			// Recorded with the state-before-updates gate: the compliance decision is sent
			// while duplicates push the run over the limit, so it may reach either run.
			name:  "continue-as-new-under-review",
			input: withPolicy(workflows.PolicyOverride{ContinueAsNewAfter: 20}),
			drive: func(t *testing.T, h *harness, user string, first workflows.IdentificationURLResult, err error) {
				require.NoError(t, err)
				h.qes(t, user, treezor.EventQESFinalized, first.IdentificationID, treezor.ResultFraudSuspicionConfirmed, 3207)
				h.waitState(t, user, workflows.StateComplianceReview, 1)
				var wg sync.WaitGroup
				wg.Add(1)
				go func() {
					defer wg.Done()
					for range 6 {
						h.qes(t, user, treezor.EventQESCreated, first.IdentificationID, "", 0)
					}
				}()
				h.action(t, user, workflows.UpdateComplianceDecision, workflows.ComplianceDecision{Decision: workflows.DecisionClear, Note: "checked"})
				wg.Wait()
				st := h.waitState(t, user, workflows.StateAwaitingUser, 2)
				succeed(t, h, user, st.IdentificationID, 2)
			},
			want: workflows.StateCompletedValidated,
		},
		{
			// Issue 17: no wallet in the start request; the workflow reads the user's wallets
			// at Treezor, publishes them, ignores a payin without paymentMethodId and takes a
			// SEPA transfer into the second wallet whose userId is Treezor's placeholder.
			name:    "sepa-user-wallets",
			wallets: 2,
			input:   germanInput,
			drive: func(t *testing.T, h *harness, user string, first workflows.IdentificationURLResult, err error) {
				require.NoError(t, err)
				h.qes(t, user, treezor.EventQESFinalized, first.IdentificationID, treezor.ResultSuccess, 0)
				h.waitState(t, user, workflows.StateAwaitingSEPA, 1)
				second := h.wallet(t, user, 1)
				h.waitVisible(t, fmt.Sprintf("%s = '%s'", workflows.SATreezorWalletIDs, second))
				h.payinInto(t, user, second, "VALIDATED", "")
				h.payinInto(t, user, second, "VALIDATED", "20")
				h.document(t, user, "doc-"+first.IdentificationID)
				st := h.waitState(t, user, workflows.StateKYCReviewPending, 1)
				require.True(t, st.SEPAValidated)
				require.True(t, slices.ContainsFunc(st.Timeline, func(e workflows.TimelineEntry) bool {
					return strings.HasPrefix(e.Note, "no paymentMethodId")
				}), "the payin without paymentMethodId did not count")
				h.kyc(t, user, "VALIDATED")
			},
			want: workflows.StateCompletedValidated,
		},
		{
			// Issue 17: every identification id of the run is published, so a late QES
			// webhook without userId for an earlier one still routes.
			name:  "identification-ids",
			input: withPolicy(workflows.PolicyOverride{RetryBackoff: time.Second}),
			drive: func(t *testing.T, h *harness, user string, first workflows.IdentificationURLResult, err error) {
				require.NoError(t, err)
				h.qes(t, user, treezor.EventQESFinalized, first.IdentificationID, treezor.ResultCanceled, 3101)
				st := h.waitState(t, user, workflows.StateAwaitingUser, 2)
				h.waitVisible(t, fmt.Sprintf("%s = '%s' AND %s = '%s' AND %s = '%s'",
					workflows.SAQESIdentificationIDs, first.IdentificationID, workflows.SAQESIdentificationIDs, st.IdentificationID,
					workflows.SAQESIdentificationID, st.IdentificationID))
				succeed(t, h, user, st.IdentificationID, 2)
			},
			want: workflows.StateCompletedValidated,
		},
		{
			// Issue 18 (change action-after-delivered): an operator action in the task of
			// the webhook that enables it applies after it; one in the task of webhooks
			// that make it meaningless is refused on their state (accepted, then failed).
			name:  "action-with-its-webhook",
			input: baseInput,
			burst: func(*testing.T, *harness, string) {},
			drive: func(t *testing.T, h *harness, user string, _ workflows.IdentificationURLResult, _ error) {
				st := h.waitState(t, user, workflows.StateAwaitingUser, 1)
				res, err := h.actionWithWebhook(t, user, workflows.UpdateComplianceDecision,
					workflows.ComplianceDecision{Decision: workflows.DecisionClear, Note: "checked"}, func() {
						h.qes(t, user, treezor.EventQESAborted, st.IdentificationID, treezor.ResultAborted, 3204)
					})
				require.NoError(t, err)
				require.Equal(t, 2, res.Attempt)
				st = h.waitState(t, user, workflows.StateAwaitingUser, 2)
				_, err = h.actionWithWebhook(t, user, workflows.UpdateRestart, workflows.RestartRequest{Reason: "late"}, func() {
					h.qes(t, user, treezor.EventQESAborted, st.IdentificationID, treezor.ResultAborted, 3009)
					h.qes(t, user, treezor.EventQESFinalized, st.IdentificationID, treezor.ResultFraudSuspicionConfirmed, 3207)
				})
				var appErr *temporal.ApplicationError
				require.True(t, errors.As(err, &appErr) && appErr.Type() == workflows.ErrTypeNotApplicable, "want a refusal, got %v", err)
				h.waitState(t, user, workflows.StateComplianceReview, 2)
				h.action(t, user, workflows.UpdateComplianceDecision, workflows.ComplianceDecision{Decision: workflows.DecisionReject})
			},
			want: workflows.StateRejected,
		},
	}, append(eventScenarios(), localCallScenarios()...)...)
}

// localCallScenarios are recorded at releaseLocalCalls: the short Treezor calls as local
// activities (changeLocalTreezorCalls), a QES event for an identification not issued yet
// held across a retry (changeHoldUnknownIdentifications), an early KYC decision read at
// Treezor once the review is requested (changeEarlyKYCDecisionChecked).
func localCallScenarios() []scenario {
	return []scenario{
		{
			name:  "local-calls-success",
			input: baseInput,
			drive: func(t *testing.T, h *harness, user string, first workflows.IdentificationURLResult, err error) {
				require.NoError(t, err)
				succeed(t, h, user, first.IdentificationID, 1)
			},
			want: workflows.StateCompletedValidated,
		},
		{
			name:  "local-calls-sepa-wallets",
			input: germanInput,
			drive: func(t *testing.T, h *harness, user string, first workflows.IdentificationURLResult, err error) {
				require.NoError(t, err)
				_, err = h.treezor.SEPAPayin(user, "")
				require.NoError(t, err)
				require.NoError(t, h.treezor.WaitIdle(ctxFor(t)))
				h.qes(t, user, treezor.EventQESFinalized, first.IdentificationID, treezor.ResultSuccess, 0)
				h.document(t, user, "doc-"+first.IdentificationID)
				st := h.waitState(t, user, workflows.StateKYCReviewPending, 1)
				require.True(t, st.SEPAValidated, "the wallet's payins were read")
				h.kyc(t, user, "VALIDATED")
			},
			want: workflows.StateCompletedValidated,
		},
		{
			// The local call fails (503): the call is made again as an activity, which
			// retries through the outage.
			name:  "local-calls-outage",
			down:  3,
			input: withPolicy(workflows.PolicyOverride{TreezorRetryWindow: time.Minute}),
			drive: func(t *testing.T, h *harness, user string, first workflows.IdentificationURLResult, err error) {
				require.NoError(t, err)
				succeed(t, h, user, first.IdentificationID, 1)
			},
			want: workflows.StateCompletedValidated,
		},
		{
			// Treezor created the next attempt's identification and sent its webhooks while
			// the history still read RETRY_SCHEDULED (a worker died in the task whose local
			// call created it): they are held and applied once the initiation reports it.
			name:  "local-calls-held-unknown",
			input: withPolicy(workflows.PolicyOverride{RetryBackoff: 3 * time.Second}),
			drive: func(t *testing.T, h *harness, user string, first workflows.IdentificationURLResult, err error) {
				require.NoError(t, err)
				h.qes(t, user, treezor.EventQESFinalized, first.IdentificationID, treezor.ResultCanceled, 3101)
				h.waitState(t, user, workflows.StateRetryScheduled, 1)
				next := h.initiateAhead(t, user, 2)
				h.qes(t, user, treezor.EventQESCreated, next, "", 0)
				h.qes(t, user, treezor.EventQESFinalized, next, treezor.ResultSuccess, 0)
				h.document(t, user, "doc-"+next)
				st := h.waitState(t, user, workflows.StateKYCReviewPending, 2)
				require.Equal(t, next, st.IdentificationID)
				h.kyc(t, user, "VALIDATED")
			},
			want: workflows.StateCompletedValidated,
		},
		{
			// A final user.kycreview before the review was requested is read at Treezor
			// once the review is requested: Treezor holds PENDING, so the onboarding waits
			// for the decision.
			name:  "local-calls-early-kyc",
			input: baseInput,
			drive: func(t *testing.T, h *harness, user string, first workflows.IdentificationURLResult, err error) {
				require.NoError(t, err)
				// Not the payload of the decision below (that would be a duplicate): an
				// earlier review's, at level 1.
				h.deliver(t, user, treezor.EventUserKYCReview, user+"-early",
					map[string]any{"users": []any{map[string]any{"userId": user, "kycReview": "VALIDATED", "kycLevel": "1"}}})
				h.qes(t, user, treezor.EventQESFinalized, first.IdentificationID, treezor.ResultSuccess, 0)
				h.document(t, user, "doc-"+first.IdentificationID)
				require.Eventually(t, func() bool {
					st := h.status(t, user)
					return slices.ContainsFunc(st.Timeline, func(e workflows.TimelineEntry) bool {
						return strings.HasPrefix(e.Note, "KYC review at Treezor: PENDING")
					})
				}, 30*time.Second, 20*time.Millisecond, "the review was read at Treezor after the request")
				h.kyc(t, user, "VALIDATED")
			},
			want: workflows.StateCompletedValidated,
		},
	}
}

// waitVisible waits until visibility shows a workflow matching query.
func (h *harness) waitVisible(t *testing.T, query string) {
	t.Helper()
	require.Eventually(t, func() bool {
		resp, err := h.client.ListWorkflow(ctxFor(t), &workflowservice.ListWorkflowExecutionsRequest{
			Query: query + " AND ExecutionStatus = 'Running'"})
		return err == nil && len(resp.GetExecutions()) == 1
	}, 30*time.Second, 50*time.Millisecond, "visibility shows %s", query)
}

// payinInto sends a payin webhook into wallet with Treezor's placeholder userId (3) and
// method (none when empty).
func (h *harness) payinInto(t *testing.T, user, wallet, status, method string) {
	p := map[string]any{"payinId": "payin-" + wallet + "-" + method, "userId": "3", "walletId": wallet, "payinStatus": status}
	if method != "" {
		p["paymentMethodId"] = method
	}
	// Signalled directly, as the bridge does after routing by wallet.
	h.deliver(t, user, treezor.EventPayinUpdate, "payin-"+wallet, map[string]any{"payins": []any{p}})
}

// play runs one scenario for user to its end and returns the first run id.
func play(t *testing.T, h *harness, sc scenario, user string) (string, workflows.Result) {
	in := sc.input(user)
	createUser(h.treezor, in, max(sc.wallets, 1))
	if in.WalletID == "w-"+user { // the scenario's name for the user's wallet at Treezor
		in.WalletID = h.wallet(t, user, 0)
	}
	switch {
	case sc.incomplete > 0:
		h.treezor.SetRouteFault(simtest.RouteQES, treezorsim.RouteFault{UserID: user, Times: sc.incomplete,
			Status: http.StatusPreconditionRequired, Message: "The user's email and phone must be set"})
	case sc.refuse:
		h.treezor.SetRouteFault(simtest.RouteQES, treezorsim.RouteFault{UserID: user,
			Status: http.StatusBadRequest, Code: "input_validation_error", Message: "the user cannot sign"})
	case sc.down > 0:
		h.treezor.SetRouteFault(simtest.RouteQES, treezorsim.RouteFault{UserID: user, Times: sc.down, Status: http.StatusServiceUnavailable})
	}
	if sc.burst != nil {
		runID := h.startIdle(t, in, sc.burst)
		sc.drive(t, h, user, workflows.IdentificationURLResult{}, nil)
		r := h.result(t, user)
		require.Equal(t, sc.want, r.State, "scenario %s", sc.name)
		return runID, r
	}
	first, handle, err := h.start(t, in)
	if err == nil {
		ident, ok := h.treezor.Identification(first.IdentificationID)
		require.True(t, ok, "the identification is Treezor's")
		require.Equal(t, ident.URL, first.IdentificationURL)
	}
	sc.drive(t, h, user, first, err)
	r := h.result(t, user)
	require.Equal(t, sc.want, r.State, "scenario %s", sc.name)
	requireExecutionStatus(t, h, user, sc.want)
	return handle.RunID(), r
}

// requireExecutionStatus checks how Temporal lists the ended run: failed for an onboarding
// that ended FAILED, completed for every business outcome (ChangeRelease).
func requireExecutionStatus(t *testing.T, h *harness, user string, state workflows.State) {
	t.Helper()
	want := enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED
	if state == workflows.StateFailed {
		want = enumspb.WORKFLOW_EXECUTION_STATUS_FAILED
	}
	desc, err := h.client.DescribeWorkflowExecution(ctxFor(t), workflows.WorkflowID(user), "")
	require.NoError(t, err)
	require.Equal(t, want, desc.GetWorkflowExecutionInfo().GetStatus(), "the run of %s", user)
}
