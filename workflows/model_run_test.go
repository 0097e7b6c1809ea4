package workflows

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/qesflow/qesflow/activities"
	"github.com/qesflow/qesflow/treezor"
)

// modelEpoch is the workflow clock when a scenario starts.
var modelEpoch = time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)

// modelPolicy is the policy of every scenario: deadlines of minutes to hours, so that the
// step delays (seconds to days) make them fire now and then. Each deadline has a 333 ms
// tail: steps come on whole seconds and delayed answers at 100–199 ms past one, so a
// deadline never fires at the very instant of a step or of an answer. (At such a tie the
// test environment may start a step while an activity's goroutine still runs, and the
// order would depend on the wall clock: the script would not replay.)
func modelPolicy(sc *modelScript) *PolicyOverride {
	const tail = 333 * time.Millisecond
	docs := sc.docs
	return &PolicyOverride{
		MaxAttempts:        sc.maxAttempts,
		RetryBackoff:       time.Minute + tail,
		UserTimeout:        12*time.Hour + tail,
		ProviderTimeout:    6*time.Hour + tail,
		SEPATimeout:        12*time.Hour + tail,
		KYCReviewTimeout:   8*time.Hour + tail,
		ComplianceTimeout:  4*time.Hour + tail,
		DownloadDocuments:  &docs,
		DocumentWaitWindow: 10*time.Minute + tail,
		TreezorRetryWindow: 2 * time.Hour,
	}
}

// modelRun plays one script on the SDK's test environment (one environment per run of the
// workflow: continue-as-new starts the next one from the carried input) and records the
// invariant violations it observes.
type modelRun struct {
	sc   *modelScript
	env  *testsuite.TestWorkflowEnvironment
	tz   *modelTreezor
	acts *activities.Activities

	abs   []time.Duration // each step's time since the start
	endAt time.Duration   // the closing step: the last check, then an operator cancel
	next  int             // the next step to play
	runs  int             // workflow runs so far (continue-as-new adds one)

	webhooks    []treezor.Event          // delivered, by number - 1
	sentAt      map[string]time.Duration // webhook id → when it was last delivered
	carryOver   []treezor.Event          // webhooks delivered after the run continued as new
	carryOps    []*modelOperatorAnswer   // operator updates the run never admitted before it continued as new
	codesFor    map[string]map[int]bool  // identification → reason codes its webhooks carried
	fraudCodes  map[int]map[int]bool     // attempt → reason codes of fraud verdicts delivered during it
	docSent     map[string]time.Duration // document id → when document.create was first delivered
	fraudJudged map[string]bool          // identifications a fraud verdict was delivered for
	issuedSeen  map[string]bool          // identifications the status has shown as current

	mu        sync.Mutex
	inflight  map[string]bool   // activity ids in flight (started, not completed or cancelled)
	published map[string]string // search attributes as the workflow set them (name → value)

	prev          *modelObservation
	pendingFraud  []modelPendingFraud
	pendingCancel string // where a cancel of a running onboarding was sent
	urls          []*modelURLAnswer
	ops           []*modelOperatorAnswer
	ended         bool

	violations []modelViolation
	trace      []string

	// coverage: checks made, of which with the search attributes compared in full
	checks, saCompared int
	last               *modelObservation // the observation after the end
}

// modelObservation is what a check saw.
type modelObservation struct {
	where string
	at    time.Duration
	st    Status
	us    UserStatus
}

type modelPendingFraud struct {
	webhookID, ident, where string
	late                    bool // the identification already had its outcome (retry or restart pending)
}

// modelURLAnswer is the answer of one identification-url update.
type modelURLAnswer struct {
	where    string
	accepted bool
	rejected error
	done     bool
	result   IdentificationURLResult
	err      error
}

// modelOperatorAnswer is the answer of an operator action sent as an update.
type modelOperatorAnswer struct {
	where    string
	op       string // as in the script: restart, cancel, clear, reject
	name     string
	accepted bool
	rejected error
	done     bool
	err      error
}

// modelViolation is one broken invariant.
type modelViolation struct {
	inv, where, msg string
}

func (v modelViolation) String() string { return v.inv + " (" + v.where + "): " + v.msg }

func newModelRun(sc *modelScript) *modelRun {
	tz := &modelTreezor{
		init: sc.initAnswers, kyc: sc.kycAnswers, dl: sc.dlAnswers,
		calls: map[string]*modelCall{}, identsOf: map[int]map[string]bool{}, kycTags: map[string]bool{},
	}
	r := &modelRun{
		sc: sc, tz: tz,
		acts:        &activities.Activities{Treezor: tz, Store: modelStore{}},
		codesFor:    map[string]map[int]bool{},
		fraudCodes:  map[int]map[int]bool{},
		docSent:     map[string]time.Duration{},
		sentAt:      map[string]time.Duration{},
		fraudJudged: map[string]bool{},
		issuedSeen:  map[string]bool{},
		inflight:    map[string]bool{},
		published:   map[string]string{},
	}
	var t time.Duration
	for _, st := range sc.steps {
		t += st.delay
		r.abs = append(r.abs, t)
	}
	r.endAt = t + time.Minute
	return r
}

// runModelScript plays sc to its end and returns the run with its violations.
func runModelScript(sc *modelScript) *modelRun {
	r := newModelRun(sc)
	r.play()
	return r
}

func (r *modelRun) play() {
	in := Input{UserID: testUser, Country: r.sc.country, RedirectURL: "https://app.example/onboarding/done", Policy: modelPolicy(r.sc)}
	start := modelEpoch
	startSA := StartSearchAttributes(testUser)
	r.setPublished(startSA)
	for {
		r.runs++
		if r.runs > 10 {
			r.fail("continue-as-new-loop", "run "+strconv.Itoa(r.runs), "the workflow keeps continuing as new")
			return
		}
		env := r.newEnv(start, startSA)
		offset := start.Sub(modelEpoch)
		if ops := r.carryOps; len(ops) > 0 {
			r.carryOps = nil
			env.RegisterDelayedCallback(func() {
				for _, ans := range ops {
					r.operator(ans.op, true, ans.where+", again on the next run")
				}
			}, 0)
		}
		if carried := r.carryOver; len(carried) > 0 {
			r.carryOver = nil
			env.RegisterDelayedCallback(func() {
				for _, ev := range carried {
					env.SignalWorkflow(SignalWebhook, ev)
				}
			}, 0)
		}
		for i := r.next; i < len(r.sc.steps); i++ {
			env.RegisterDelayedCallback(func() { r.step(i) }, max(r.abs[i]-offset, time.Millisecond))
		}
		env.RegisterDelayedCallback(r.closing, max(r.endAt-offset, time.Millisecond))
		err, stuck := r.execute(env, in)
		if stuck != "" {
			r.fail("stuck", r.nowWhere(), "%s", stuck)
			return
		}
		var can *workflow.ContinueAsNewError
		if errors.As(err, &can) {
			var next Input
			if err := converter.GetDefaultDataConverter().FromPayloads(can.Input, &next); err != nil {
				r.fail("continue-as-new-input", r.nowWhere(), "%v", err)
				return
			}
			r.trace = append(r.trace, fmt.Sprintf("%s continued as new in state %s", r.nowWhere(), next.Carry.State))
			r.observeCarry(next)
			r.redeliverAfterContinueAsNew(next)
			in, start, startSA = next, env.Now(), r.publishedSA()
			continue
		}
		r.ended = true
		r.finalCheck(err)
		return
	}
}

// redeliverAfterContinueAsNew queues for the next run the webhooks delivered at the
// instant this run continued as new that it did not see, and the operator updates it never
// admitted: the test environment drops a signal or update that follows the task of an
// update in the same step, where the server would fail that task's completion, route the
// signal to the new run, or abort the update so that the client sends it again.
func (r *modelRun) redeliverAfterContinueAsNew(next Input) {
	seen := map[string]bool{}
	for _, e := range next.Carry.Timeline {
		if e.WebhookID != "" {
			seen[e.WebhookID] = true
		}
	}
	// An operator update that reached the run as it continued as new was never admitted:
	// the server aborts it and the client sends it again, to the next run.
	kept := r.ops[:0]
	for _, ans := range r.ops {
		if !ans.accepted && ans.rejected == nil && !ans.done {
			r.carryOps = append(r.carryOps, ans)
			continue
		}
		kept = append(kept, ans)
	}
	r.ops = kept
	now := r.elapsed()
	for _, ev := range r.webhooks {
		if r.sentAt[ev.WebhookID] == now && !seen[ev.WebhookID] {
			r.carryOver = append(r.carryOver, ev)
		}
	}
}

// execute runs the workflow in env; a panic (the test environment's idle timeout, or a
// check that blew up) is reported instead of crashing the test.
func (r *modelRun) execute(env *testsuite.TestWorkflowEnvironment, in Input) (err error, stuck string) {
	defer func() {
		if p := recover(); p != nil {
			msg := fmt.Sprint(p)
			if i := strings.Index(msg, "workflow stack"); i > 0 {
				msg = msg[:i]
			}
			stuck = "panic: " + msg
		}
	}()
	env.ExecuteWorkflow(QESOnboarding, in)
	if !env.IsWorkflowCompleted() {
		return nil, "the workflow did not complete"
	}
	return env.GetWorkflowError(), ""
}

func (r *modelRun) newEnv(start time.Time, sa temporal.SearchAttributes) *testsuite.TestWorkflowEnvironment {
	var ts testsuite.WorkflowTestSuite
	ts.SetLogger(testLogger())
	env := ts.NewTestWorkflowEnvironment()
	env.RegisterWorkflowWithOptions(QESOnboarding, workflow.RegisterOptions{Name: WorkflowName})
	env.RegisterActivity(r.acts)
	env.SetStartTime(start)
	env.SetTestTimeout(15 * time.Second)
	// The deadlock detector measures wall time: on a loaded machine the first workflow task
	// of the test binary can take over its default second.
	env.SetWorkerOptions(worker.Options{DeadlockDetectionTimeout: time.Minute})
	if err := env.SetTypedSearchAttributesOnStart(sa); err != nil {
		panic(err)
	}
	env.OnActivity(activities.InitiateQESName, mock.Anything, mock.Anything).Return(r.initiateQES)
	env.OnActivity(activities.RequestKYCReviewName, mock.Anything, mock.Anything).Return(r.requestKYCReview)
	env.OnActivity(activities.DownloadQESDocumentName, mock.Anything, mock.Anything).Return(r.downloadDocument)
	env.OnUpsertTypedSearchAttributes(mock.Anything).Run(func(args mock.Arguments) {
		r.upserted(args.Get(0).(temporal.SearchAttributes))
	}).Return(nil)
	env.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, _ converter.EncodedValues) {
		r.mu.Lock()
		r.inflight[info.ActivityID] = true
		r.mu.Unlock()
	})
	env.SetOnActivityCompletedListener(func(info *activity.Info, _ converter.EncodedValue, err error) {
		if errors.Is(err, activity.ErrResultPending) {
			return
		}
		r.mu.Lock()
		delete(r.inflight, info.ActivityID)
		r.mu.Unlock()
	})
	env.SetOnActivityCanceledListener(func(info *activity.Info) {
		r.mu.Lock()
		delete(r.inflight, info.ActivityID)
		r.mu.Unlock()
	})
	r.env = env
	r.mu.Lock()
	r.inflight = map[string]bool{}
	r.mu.Unlock()
	return env
}

// elapsed is the workflow time since the scenario started.
func (r *modelRun) elapsed() time.Duration { return r.env.Now().Sub(modelEpoch) }

func (r *modelRun) nowWhere() string { return "at +" + formatModelDuration(r.elapsed()) }

// step plays step i: checks what the previous steps led to, then delivers its actions in
// one workflow task (all but the last without starting a task).
func (r *modelRun) step(i int) {
	r.next = i + 1
	where := fmt.Sprintf("step %d", i+1)
	obs := r.observe("before " + where)
	acts := r.sc.steps[i].acts
	last := -1
	for j, a := range acts {
		if a.op != "can" {
			last = j
		}
	}
	for j, a := range acts {
		r.do(a, where, j, j == last, obs)
	}
}

// closing ends the script: a last check, then an operator cancel for a run still going
// (the workflow may wait forever, e.g. for a compliance decision).
func (r *modelRun) closing() {
	r.next = len(r.sc.steps)
	obs := r.observe("after the last step")
	if !obs.st.State.Terminal() {
		r.noteCancel(obs, "closing")
		r.operator("cancel", true, "closing")
	}
}

func (r *modelRun) noteCancel(obs *modelObservation, where string) {
	if !obs.st.State.Terminal() && r.pendingCancel == "" {
		r.pendingCancel = where
	}
}

// do delivers one action. obs is the check made before the step.
func (r *modelRun) do(a modelAction, where string, index int, last bool, obs *modelObservation) {
	switch a.op {
	case "url":
		r.requestURL(where)
	case "restart", "clear", "reject":
		r.operator(a.op, last, where)
	case "cancel":
		r.noteCancel(obs, where)
		r.operator(a.op, last, where)
	case "can":
		r.env.SetCurrentHistoryLength(1 << 20) // the next loop iteration with no activity continues as new
	case "dup":
		if a.n < 1 || a.n > len(r.webhooks) {
			r.trace = append(r.trace, where+": dup "+strconv.Itoa(a.n)+" skipped (no such webhook yet)")
			if last {
				r.env.SignalWorkflow(SignalWebhook, treezor.Event{WebhookID: "noop-" + strconv.Itoa(len(r.trace)), Type: "card.create", UserID: testUser})
			}
			return
		}
		r.signalWebhook(r.webhooks[a.n-1], last)
	default:
		ev := r.event(a)
		r.webhooks = append(r.webhooks, ev)
		if ev.IdentificationID != "" {
			if r.codesFor[ev.IdentificationID] == nil {
				r.codesFor[ev.IdentificationID] = map[int]bool{}
			}
			r.codesFor[ev.IdentificationID][ev.ReasonCode] = true
		}
		if ev.DocumentID != "" {
			if _, ok := r.docSent[ev.DocumentID]; !ok {
				r.docSent[ev.DocumentID] = r.elapsed()
			}
		}
		if modelFraudVerdict(ev) {
			if r.fraudCodes[obs.st.Attempt] == nil {
				r.fraudCodes[obs.st.Attempt] = map[int]bool{}
			}
			r.fraudCodes[obs.st.Attempt][ev.ReasonCode] = true
			r.expectFraudToWin(ev, index, obs, where)
		}
		r.signalWebhook(ev, last)
	}
}

// expectFraudToWin records that a fraud verdict for the current identification, sent as
// the first action of its step, must lead to COMPLIANCE_REVIEW.
func (r *modelRun) expectFraudToWin(ev treezor.Event, index int, obs *modelObservation, where string) {
	judged := r.fraudJudged[ev.IdentificationID]
	r.fraudJudged[ev.IdentificationID] = true
	if judged || index != 0 || ev.IdentificationID != obs.st.IdentificationID || r.stepHasUpdate() {
		return
	}
	switch obs.st.State {
	case StateAwaitingUser, StateInProgress, StateProviderReview:
		r.pendingFraud = append(r.pendingFraud, modelPendingFraud{webhookID: ev.WebhookID, ident: ev.IdentificationID, where: where})
	case StateRetryScheduled, StateWaitingForUser:
		r.pendingFraud = append(r.pendingFraud, modelPendingFraud{webhookID: ev.WebhookID, ident: ev.IdentificationID, where: where, late: true})
	}
}

// stepHasUpdate reports whether the step being played sends an update: the test
// environment runs an update's handler before the signals delivered with it in the same
// step, so an operator cancel there comes first and a fraud verdict after it is too late.
func (r *modelRun) stepHasUpdate() bool {
	for _, a := range r.sc.steps[r.next-1].acts {
		switch a.op {
		case "url", "restart", "cancel", "clear", "reject":
			return true
		}
	}
	return false
}

// modelFraudVerdict reports whether a QES event says fraud (its result or its reason code).
func modelFraudVerdict(ev treezor.Event) bool {
	if !strings.HasPrefix(ev.Type, "qes.") {
		return false
	}
	return treezor.ClassifyResult(ev.Result) == treezor.ResultClassFraud ||
		(ev.ReasonCode != 0 && treezor.LookupReason(ev.ReasonCode).Category == treezor.CategoryFraud)
}

func (r *modelRun) signalWebhook(ev treezor.Event, last bool) {
	r.sentAt[ev.WebhookID] = r.elapsed()
	if last {
		r.env.SignalWorkflow(SignalWebhook, ev)
		return
	}
	r.env.SignalWorkflowSkippingWorkflowTask(SignalWebhook, ev)
}

// event builds the webhook of a script action; it gets the next webhook number.
func (r *modelRun) event(a modelAction) treezor.Event {
	ident := r.resolve(a.target)
	var ev treezor.Event
	switch a.op {
	case "created":
		ev = created(ident)
	case "processing":
		ev = processing(ident)
		ev.Result = a.result
	case "aborted":
		ev = aborted(ident, a.code)
		ev.Result = a.result
	case "final":
		ev = finalized(ident, a.result, a.code)
	case "kyc":
		k, _ := parseKYCReview(a.value)
		ev = kycReview(k)
	case "payin":
		ev = payin(a.value)
	case "doc":
		ev = documentCreated(a.value)
	}
	ev.WebhookID = "w" + strconv.Itoa(len(r.webhooks)+1)
	ev.CreatedAt = r.env.Now()
	return ev
}

// resolve names the identification a webhook is about: cur is the last one Treezor
// created (also while the workflow still waits for InitiateQES's answer), prev the one
// before it, iN the N-th initiation's.
func (r *modelRun) resolve(target string) string {
	cur, prev := r.tz.current()
	switch {
	case target == "cur":
		if cur == "" {
			return "ident-1"
		}
		return cur
	case target == "prev":
		if prev == "" {
			return "ident-0"
		}
		return prev
	case strings.HasPrefix(target, "i"):
		return "ident-" + strings.TrimPrefix(target, "i")
	}
	return target
}

// requestURL sends the identification-url update (the onboarding API's start call).
func (r *modelRun) requestURL(where string) {
	ans := &modelURLAnswer{where: where}
	r.urls = append(r.urls, ans)
	r.env.UpdateWorkflow(UpdateIdentificationURL, "", &testsuite.TestUpdateCallback{
		OnAccept: func() { ans.accepted = true },
		OnReject: func(err error) {
			ans.rejected = err
			r.checkURLRejected(ans)
		},
		OnComplete: func(v any, err error) {
			ans.done, ans.err = true, err
			if err == nil {
				if enc, ok := v.(converter.EncodedValue); ok {
					if derr := enc.Get(&ans.result); derr != nil {
						r.fail("url-answer-decode", where, "%v", derr)
					}
				} else if res, ok := v.(IdentificationURLResult); ok {
					ans.result = res
				}
			}
			r.checkURLAnswer(ans)
		},
	})
}

// operatorActionsAsUpdates selects how operator() sends operator actions.
const operatorActionsAsUpdates = true

// operator is the one place the model sends an operator action: op is restart, cancel,
// clear or reject. Today they are signals; once they are updates with validators (same
// names: UpdateRestart, UpdateCancel, UpdateComplianceDecision), set
// operatorActionsAsUpdates (or drop the signal branch): the update's rejection or answer
// is recorded. last says whether this is the last delivery of the step (it starts the
// workflow task; an update always starts one).
func (r *modelRun) operator(op string, last bool, where string) {
	var name string
	var arg any
	switch op {
	case "restart":
		name, arg = UpdateRestart, RestartRequest{Reason: "model"}
	case "cancel":
		name, arg = UpdateCancel, CancelRequest{Reason: "model"}
	default: // clear, reject
		name, arg = UpdateComplianceDecision, ComplianceDecision{Decision: op, Note: "model"}
	}
	if !operatorActionsAsUpdates {
		if last {
			r.env.SignalWorkflow(name, arg)
		} else {
			r.env.SignalWorkflowSkippingWorkflowTask(name, arg)
		}
		return
	}
	ans := &modelOperatorAnswer{where: where, op: op, name: name}
	r.ops = append(r.ops, ans)
	r.env.UpdateWorkflow(name, "", &testsuite.TestUpdateCallback{
		OnAccept:   func() { ans.accepted = true },
		OnReject:   func(err error) { ans.rejected = err },
		OnComplete: func(_ any, err error) { ans.done, ans.err = true, err },
	}, arg)
	// The answer comes with the update's task: it is checked once the task is over.
	r.env.RegisterDelayedCallback(func() { r.checkRefusal(ans) }, 0)
}

// upserted applies one upsert of search attributes to the published values.
func (r *modelRun) upserted(sa temporal.SearchAttributes) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, name := range modelUnsetAttributes(sa) {
		delete(r.published, name)
	}
	for k, v := range sa.GetUntypedValues() {
		r.published[k.GetName()] = fmt.Sprint(v)
	}
}

// modelUnsetAttributes names the attributes an upsert unsets. The SDK hides them (its
// accessors skip nil values), so they are read from the collection by reflection.
func modelUnsetAttributes(sa temporal.SearchAttributes) []string {
	var names []string
	m := reflect.ValueOf(sa).Field(0)
	for it := m.MapRange(); it.Next(); {
		if it.Value().IsNil() {
			names = append(names, modelFirstString(it.Key()))
		}
	}
	return names
}

// modelFirstString is the first string field found in v (a search attribute key's name).
func modelFirstString(v reflect.Value) string {
	switch v.Kind() {
	case reflect.Interface, reflect.Pointer:
		return modelFirstString(v.Elem())
	case reflect.String:
		return v.String()
	case reflect.Struct:
		for i := range v.NumField() {
			if s := modelFirstString(v.Field(i)); s != "" {
				return s
			}
		}
	}
	return ""
}

func (r *modelRun) setPublished(sa temporal.SearchAttributes) {
	r.published = map[string]string{}
	r.upserted(sa)
}

// publishedSA are the published values as the next run's start attributes (the server
// copies them over continue-as-new).
func (r *modelRun) publishedSA() temporal.SearchAttributes {
	r.mu.Lock()
	defer r.mu.Unlock()
	var updates []temporal.SearchAttributeUpdate
	for name, v := range r.published {
		switch name {
		case SAQESAttempt, SAQESReasonCode:
			n, _ := strconv.ParseInt(v, 10, 64)
			updates = append(updates, temporal.NewSearchAttributeKeyInt64(name).ValueSet(n))
		default:
			updates = append(updates, temporal.NewSearchAttributeKeyKeyword(name).ValueSet(v))
		}
	}
	return temporal.NewSearchAttributes(updates...)
}

func (r *modelRun) activitiesInFlight() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.inflight)
}

// Activities: the real activities over the fake Treezor; an answer with a delay completes
// asynchronously that long after the call, on the workflow clock.

func (r *modelRun) initiateQES(ctx context.Context, in activities.InitiateQESInput) (activities.InitiateQESOutput, error) {
	out, err := r.acts.InitiateQES(ctx, in)
	if err == nil {
		r.tz.created(in.Attempt, in.AccessTag)
	}
	return modelLater(r, ctx, r.tz.delay(in.AccessTag), out, err)
}

func (r *modelRun) requestKYCReview(ctx context.Context, in activities.RequestKYCReviewInput) (activities.RequestKYCReviewOutput, error) {
	out, err := r.acts.RequestKYCReview(ctx, in)
	return modelLater(r, ctx, r.tz.delay(in.AccessTag), out, err)
}

func (r *modelRun) downloadDocument(ctx context.Context, in activities.DownloadInput) (activities.DownloadOutput, error) {
	out, err := r.acts.DownloadQESDocument(ctx, in)
	return modelLater(r, ctx, r.tz.delay(in.DocumentID), out, err)
}

// modelLater returns the answer now, or (with a delay, for a final answer) completes the
// activity d later: the activity returns ErrResultPending, a delayed callback completes it.
// A retryable error is always returned now: the test environment retries it.
func modelLater[T any](r *modelRun, ctx context.Context, d time.Duration, out T, err error) (T, error) {
	var appErr *temporal.ApplicationError
	if d <= 0 || (err != nil && !(errors.As(err, &appErr) && appErr.NonRetryable())) {
		return out, err
	}
	if activity.GetInfo(ctx).IsLocalActivity {
		// A local activity cannot answer later: Treezor acted, but its answer does not reach
		// the workflow in this task (a timeout), so the workflow makes the call again as an
		// activity, which takes the delayed answer: the webhooks of what Treezor did race it.
		var zero T
		return zero, errors.New("model: Treezor answered after the local call gave up")
	}
	token := activity.GetInfo(ctx).TaskToken
	env := r.env
	env.RegisterDelayedCallback(func() {
		var result any
		if err == nil {
			result = out
		}
		_ = env.CompleteActivity(token, result, err)
	}, d)
	var zero T
	return zero, activity.ErrResultPending
}

// modelTreezor is the fake Treezor API of the model: each logical call (access tag or
// document id) takes the next scripted answer, kept for its retries. It stays in memory
// rather than the simulator: the model scripts each answer and its delay on the test
// environment's virtual clock, which no HTTP server shares.
type modelTreezor struct {
	mu            sync.Mutex
	init, kyc, dl []modelAnswer
	calls         map[string]*modelCall
	identsOf      map[int]map[string]bool // attempt → identifications created
	cur, prev     string
	kycTags       map[string]bool
	downUsed      bool
}

type modelCall struct {
	a        modelAnswer
	failures int
}

var _ activities.TreezorAPI = (*modelTreezor)(nil)

// call returns the answer of the logical call key, taking the next one of *queue the first time.
func (t *modelTreezor) call(key string, queue *[]modelAnswer) *modelCall {
	c, ok := t.calls[key]
	if !ok {
		c = &modelCall{a: modelAnswer{kind: "ok"}}
		if len(*queue) > 0 {
			c.a = (*queue)[0]
			*queue = (*queue)[1:]
		}
		t.calls[key] = c
	}
	return c
}

func (t *modelTreezor) delay(key string) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	if c, ok := t.calls[key]; ok {
		return c.a.delay
	}
	return 0
}

// answer decides the outcome of one call: nil (answer normally) or an API error.
func (t *modelTreezor) answer(c *modelCall, op string) error {
	unavailable := &treezor.APIError{StatusCode: 503, Op: op, Code: "service_unavailable"}
	switch c.a.kind {
	case "428":
		return &treezor.APIError{StatusCode: 428, Op: op, MissingFields: []string{"email"}}
	case "refused":
		return &treezor.APIError{StatusCode: 403, Op: op, Code: "forbidden"}
	case "fail":
		return &treezor.APIError{StatusCode: 404, Op: op, Code: "document_not_found"}
	case "down":
		t.downUsed = true
		return unavailable
	case "flaky":
		if c.failures < c.a.n {
			c.failures++
			return unavailable
		}
	}
	return nil
}

func (t *modelTreezor) InitiateQES(_ context.Context, userID, _, accessTag string) (treezor.Identification, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.answer(t.call(accessTag, &t.init), "initiate QES"); err != nil {
		return treezor.Identification{}, err
	}
	ident := identForTag(accessTag)
	return treezor.Identification{IdentificationID: ident, IdentificationURL: urlForIdent(userID, ident)}, nil
}

// created records an identification Treezor created for attempt.
func (t *modelTreezor) created(attempt int, accessTag string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	ident := identForTag(accessTag)
	if t.identsOf[attempt] == nil {
		t.identsOf[attempt] = map[string]bool{}
	}
	if ident != t.cur {
		t.cur, t.prev = ident, t.cur
	}
	t.identsOf[attempt][ident] = true
}

func (t *modelTreezor) current() (cur, prev string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.cur, t.prev
}

func (t *modelTreezor) RequestKYCReview(_ context.Context, userID, accessTag string) (treezor.KYCReviewResult, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	c := t.call(accessTag, &t.kyc)
	if err := t.answer(c, "request KYC review"); err != nil {
		return treezor.KYCReviewResult{}, err
	}
	t.kycTags[accessTag] = true
	k := c.a.kyc
	if k == treezor.KYCReviewNone {
		k = treezor.KYCReviewPending
	}
	return treezor.KYCReviewResult{UserID: userID, KYCReview: k, KYCLevel: 1}, nil
}

func (t *modelTreezor) DocumentDownloadURL(_ context.Context, documentID string) (string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.answer(t.call(documentID, &t.dl), "document download URL"); err != nil {
		return "", err
	}
	return "https://s3.example/" + documentID + "?X-Amz-Signature=secret", nil
}

func (t *modelTreezor) DownloadDocument(_ context.Context, url string) (io.ReadCloser, error) {
	id := strings.TrimSuffix(strings.TrimPrefix(url, "https://s3.example/"), "?X-Amz-Signature=secret")
	return io.NopCloser(strings.NewReader("%PDF signed QES document " + id)), nil
}

// modelStore keeps nothing: it describes the content it was given.
type modelStore struct{}

func (modelStore) Put(_ context.Context, rd io.Reader) (activities.StoredDocument, error) {
	h := sha256.New()
	n, err := io.Copy(h, rd)
	if err != nil {
		return activities.StoredDocument{}, err
	}
	sum := hex.EncodeToString(h.Sum(nil))
	return activities.StoredDocument{SHA256: sum, Size: n, Location: "memory:" + sum}, nil
}
