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
	"github.com/qesflow/qesflow/workflows"
)

// fakeTreezor is an httptest Treezor that speaks the API contract of DESIGN.md §2:
// OAuth token, QES initiation (idempotent per accessTag, 428 on demand), KYC review
// request, document download URL and presigned file.
type fakeTreezor struct {
	srv *httptest.Server

	mu         sync.Mutex
	incomplete map[string]int    // user id → 428 answers still to give
	idents     map[string]string // accessTag → identification id
	qesTags    map[string][]string
	kycTags    map[string][]string
	reviews    map[string]string // user id → kycReview as Treezor holds it
	refuse     map[string]bool   // user id → the QES initiation is refused (400)
	down       map[string]int    // user id → 503 answers still to give
	fixed      map[string]string // user id → the id of its next new identification
	received   map[string]bool   // wallet id → a validated SEPA transfer was received
}

func newFakeTreezor(t *testing.T) *fakeTreezor {
	f := &fakeTreezor{
		incomplete: map[string]int{},
		idents:     map[string]string{},
		qesTags:    map[string][]string{},
		kycTags:    map[string][]string{},
		reviews:    map[string]string{},
		refuse:     map[string]bool{},
		down:       map[string]int{},
		fixed:      map[string]string{},
		received:   map[string]bool{},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /oauth/token", func(w http.ResponseWriter, r *http.Request) {
		if r.FormValue("grant_type") != "client_credentials" || r.FormValue("client_secret") != "client-secret" {
			writeJSON(w, http.StatusUnauthorized, map[string]any{"error": "invalid_client"})
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"token_type": "Bearer", "expires_in": 3600, "access_token": "fake-token"})
	})
	mux.HandleFunc("POST /v1/users/{id}/qes", f.authorized(f.initiate))
	mux.HandleFunc("PUT /v1/users/{id}/Kycreview", f.authorized(f.kycReview))
	mux.HandleFunc("GET /v1/users/{id}", f.authorized(f.user))
	mux.HandleFunc("GET /v1/payins", f.authorized(f.listPayins))
	mux.HandleFunc("GET /v1/wallets", f.authorized(func(w http.ResponseWriter, r *http.Request) {
		user := r.URL.Query().Get("userId")
		writeJSON(w, http.StatusOK, map[string]any{"wallets": []map[string]any{
			{"walletId": "w-" + user, "userId": user, "walletTypeId": 10, "walletStatus": "VALIDATED"},
			{"walletId": "w2-" + user, "userId": user, "walletTypeId": "9", "walletStatus": "VALIDATED"}}})
	}))
	mux.HandleFunc("GET /v1/documents/{id}/download", f.authorized(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"url": f.srv.URL + "/presigned/" + r.PathValue("id") + "?X-Amz-Signature=s"})
	}))
	mux.HandleFunc("GET /presigned/{id}", func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("%PDF signed QES document " + r.PathValue("id")))
	})
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (f *fakeTreezor) authorized(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer fake-token" {
			writeJSON(w, http.StatusUnauthorized, map[string]any{"error": "unauthorized"})
			return
		}
		h(w, r)
	}
}

func (f *fakeTreezor) initiate(w http.ResponseWriter, r *http.Request) {
	user := r.PathValue("id")
	var body struct {
		RedirectURL string `json:"redirectUrl"`
		AccessTag   string `json:"accessTag"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body.AccessTag == "" {
		writeJSON(w, http.StatusBadRequest, map[string]any{"errors": []map[string]any{{"type": "invalid_request", "code": "400", "message": "accessTag required"}}})
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.qesTags[user] = append(f.qesTags[user], body.AccessTag)
	if f.down[user] > 0 {
		f.down[user]--
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"errors": []map[string]any{{"type": "unavailable", "code": "503", "message": "maintenance"}}})
		return
	}
	if f.refuse[user] {
		writeJSON(w, http.StatusBadRequest, map[string]any{"errors": []map[string]any{{"type": "invalid_request", "code": "400", "message": "the user cannot sign"}}})
		return
	}
	if f.incomplete[user] > 0 {
		f.incomplete[user]--
		writeJSON(w, http.StatusPreconditionRequired, map[string]any{"errors": []map[string]any{{
			"type": "precondition_required", "code": "428", "message": "The user's email and phone must be set"}}})
		return
	}
	ident, ok := f.idents[body.AccessTag]
	if !ok {
		ident = fmt.Sprintf("qes-%s-%d", user, len(f.idents)+1)
		if fixed := f.fixed[user]; fixed != "" {
			ident, f.fixed[user] = fixed, ""
		}
		f.idents[body.AccessTag] = ident
	}
	writeJSON(w, http.StatusCreated, map[string]any{"identification": map[string]any{
		"identificationId": ident, "identificationURL": identURL(ident)}})
}

func identURL(ident string) string { return "https://go.idnow.example/identify/" + ident }

func (f *fakeTreezor) kycReview(w http.ResponseWriter, r *http.Request) {
	user := r.PathValue("id")
	var body struct {
		AccessTag string `json:"accessTag"`
	}
	_ = json.NewDecoder(r.Body).Decode(&body)
	f.mu.Lock()
	f.kycTags[user] = append(f.kycTags[user], body.AccessTag)
	if f.reviews[user] == "" {
		f.reviews[user] = "1"
	}
	f.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"users": []map[string]any{{"userId": user, "kycReview": "1", "kycLevel": "1"}}})
}

// user answers GET /v1/users/{id}: the review as the webhooks announced it.
func (f *fakeTreezor) user(w http.ResponseWriter, r *http.Request) {
	user := r.PathValue("id")
	f.mu.Lock()
	review := f.reviews[user]
	f.mu.Unlock()
	if review == "" {
		review = "0"
	}
	writeJSON(w, http.StatusOK, map[string]any{"users": []map[string]any{{"userId": user, "kycReview": review, "kycLevel": "1"}}})
}

// listPayins answers GET /v1/payins?walletId=…: one validated SEPA transfer when the
// wallet received one.
func (f *fakeTreezor) listPayins(w http.ResponseWriter, r *http.Request) {
	wallet := r.URL.Query().Get("walletId")
	f.mu.Lock()
	received := f.received[wallet]
	f.mu.Unlock()
	payins := []map[string]any{}
	if received {
		payins = append(payins, map[string]any{"payinId": "early-" + wallet, "walletId": wallet, "userId": "0",
			"payinStatus": "VALIDATED", "paymentMethodId": "20"})
	}
	writeJSON(w, http.StatusOK, map[string]any{"payins": payins})
}

// fixIdent makes the user's next new identification ident.
func (f *fakeTreezor) fixIdent(user, ident string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fixed[user] = ident
}

func (f *fakeTreezor) setReview(user, review string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reviews[user] = review
}

func (f *fakeTreezor) calls(user string) (qes, kyc []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.qesTags[user]...), append([]string(nil), f.kycTags[user]...)
}

const webhookSecret = "whsec-test-only"

// harness is a real in-process Temporal server with a worker running the workflow and
// the real activities against the fake Treezor.
type harness struct {
	client  client.Client
	treezor *fakeTreezor
	acts    *activities.Activities
	mu      sync.Mutex
	seq     int
}

func newHarness(t *testing.T) *harness { return newHarnessWith(t, nil) }

// newHarnessWith is newHarness on a worker that delivers outbound events with events.
func newHarnessWith(t *testing.T, events activities.EventSender) *harness {
	ts := testenv.NewTemporal(t)
	fake := newFakeTreezor(t)
	tz, err := treezor.NewClient(treezor.Config{BaseURL: fake.srv.URL, ClientID: "client-id", ClientSecret: "client-secret"})
	require.NoError(t, err)
	acts := &activities.Activities{Treezor: tz, Store: activities.FSDocumentStore{Dir: t.TempDir()}, Events: events}
	ts.NewWorker(workflows.TaskQueue, func(r worker.Registry) {
		r.RegisterWorkflowWithOptions(workflows.NewOnboarding(workflows.Config{Events: events != nil}), workflow.RegisterOptions{Name: workflows.WorkflowName})
		r.RegisterWorkflowWithOptions(workflows.QESEventDelivery, workflow.RegisterOptions{Name: workflows.EventDeliveryWorkflowName})
		r.RegisterActivity(acts)
	})
	return &harness{client: ts.GetDefaultClient(), treezor: fake, acts: acts}
}

// startIdle starts the onboarding on a task queue no worker polls yet, sends what send
// sends, then starts a worker: its first workflow task applies everything at once. It
// returns the run id.
func (h *harness) startIdle(t *testing.T, in workflows.Input, send func(t *testing.T, h *harness, user string)) string {
	queue := "idle-" + in.UserID
	run, err := h.client.ExecuteWorkflow(ctxFor(t), client.StartWorkflowOptions{
		ID: workflows.WorkflowID(in.UserID), TaskQueue: queue,
		TypedSearchAttributes: workflows.StartSearchAttributes(in.UserID),
	}, workflows.WorkflowName, in)
	require.NoError(t, err)
	send(t, h, in.UserID)
	w := worker.New(h.client, queue, worker.Options{})
	w.RegisterWorkflowWithOptions(workflows.NewOnboarding(workflows.Config{Events: h.acts.Events != nil}), workflow.RegisterOptions{Name: workflows.WorkflowName})
	w.RegisterWorkflowWithOptions(workflows.QESEventDelivery, workflow.RegisterOptions{Name: workflows.EventDeliveryWorkflowName})
	w.RegisterActivity(h.acts)
	require.NoError(t, w.Start())
	t.Cleanup(w.Stop)
	return run.GetRunID()
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
	h.treezor.setReview(user, strconv.Itoa(int(k)))
	h.deliver(t, user, treezor.EventUserKYCReview, user,
		map[string]any{"users": []any{map[string]any{"userId": user, "kycReview": review, "kycLevel": "2"}}})
}

// document announces a QES document (document.create, as after every success).
func (h *harness) document(t *testing.T, user, id string) {
	h.deliver(t, user, treezor.EventDocumentCreate, id,
		map[string]any{"documents": []any{map[string]any{"documentId": id, "userId": user, "documentTypeId": "9", "documentStatus": "PENDING"}}})
}

func (h *harness) payin(t *testing.T, user, status string) {
	h.deliver(t, user, treezor.EventPayinUpdate, "payin-"+user,
		map[string]any{"payins": []any{map[string]any{"payinId": "payin-" + user, "userId": "0", "walletId": "w-" + user, "payinStatus": status, "paymentMethodId": "20"}}})
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
	input            func(user string) workflows.Input
	// burst, when set, is sent before any worker runs the onboarding: the first workflow
	// task then applies all of it at once (with the webhooks held for the initiation).
	burst func(t *testing.T, h *harness, user string)
	// drive plays the scenario after the start answered; it returns nothing, the final
	// state is checked against want.
	drive func(t *testing.T, h *harness, user string, first workflows.IdentificationURLResult, startErr error)
	want  workflows.State
}

func baseInput(user string) workflows.Input {
	return workflows.Input{UserID: user, Country: "FR", RedirectURL: "https://app.example/onboarding/done"}
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
				h.treezor.mu.Lock()
				h.treezor.received["w-"+user] = true
				h.treezor.mu.Unlock()
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
				ident := "qes-" + user + "-burst"
				h.treezor.fixIdent(user, ident)
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
				h.document(t, user, "doc-1-"+user)
				h.document(t, user, "doc-2-"+user)
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
				h.treezor.setReview(user, "3") // the webhook is lost: the check finds it
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
			name: "sepa-user-wallets",
			input: func(user string) workflows.Input {
				in := baseInput(user)
				in.Country = "DE"
				return in
			},
			drive: func(t *testing.T, h *harness, user string, first workflows.IdentificationURLResult, err error) {
				require.NoError(t, err)
				h.qes(t, user, treezor.EventQESFinalized, first.IdentificationID, treezor.ResultSuccess, 0)
				h.waitState(t, user, workflows.StateAwaitingSEPA, 1)
				h.waitVisible(t, fmt.Sprintf("%s = 'w2-%s'", workflows.SATreezorWalletIDs, user))
				h.payinInto(t, user, "w2-"+user, "VALIDATED", "")
				h.payinInto(t, user, "w2-"+user, "VALIDATED", "20")
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
	}, eventScenarios()...)
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
	h.treezor.mu.Lock()
	h.treezor.incomplete[user] = sc.incomplete
	h.treezor.refuse[user] = sc.refuse
	h.treezor.down[user] = sc.down
	h.treezor.mu.Unlock()
	if sc.burst != nil {
		runID := h.startIdle(t, sc.input(user), sc.burst)
		sc.drive(t, h, user, workflows.IdentificationURLResult{}, nil)
		r := h.result(t, user)
		require.Equal(t, sc.want, r.State, "scenario %s", sc.name)
		return runID, r
	}
	first, handle, err := h.start(t, sc.input(user))
	if err == nil {
		require.Equal(t, identURL(first.IdentificationID), first.IdentificationURL)
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
