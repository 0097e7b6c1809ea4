package workflows

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/qesflow/qesflow/treezor"
)

// The invariants the model checks. Each violation names one.
const (
	invUserViewReveals  = "user-view-reveals"   // the user-status query hints at fraud, compliance or a rejection
	invUserViewFinal    = "user-view-final"     // user-status final flag differs from the state's
	invUserViewEnded    = "user-view-ended"     // the run has ended, the user-status query says it goes on
	invURLAnswerEnded   = "url-answer-ended"    // the identification-url update answered an end state without an error
	invURLAnswerReveals = "url-answer-reveals"  // the identification-url update answered a fraud state
	invURLAnswerError   = "url-answer-error"    // the update failed with an error the API cannot classify
	invURLAnswerURL     = "url-answer-url"      // the URL answered is not the identification's
	invUpdateUnanswered = "update-unanswered"   // an accepted update (identification-url, operator action) never completed
	invBackwards        = "backwards"           // the state moved backwards within an attempt
	invTerminalChanged  = "terminal-changed"    // a terminal state changed
	invKYCBackwards     = "kyc-backwards"       // the KYC review status moved backwards
	invAttemptsBound    = "attempts-bound"      // attempt outside 1..MaxAttempts
	invOneKYCRequest    = "one-kyc-request"     // more KYC review requests than successful attempts
	invOneIdent         = "one-identification"  // more than one identification created for one attempt
	invSAMismatch       = "sa-mismatch"         // blocked with no activity in flight, search attributes differ from the status
	invSAQueue          = "sa-compliance-queue" // QESState says COMPLIANCE_REVIEW and the status does not, or the reverse
	invWebhookLost      = "webhook-lost"        // a delivered webhook left no trace in the timeline
	invHeldTwice        = "held-twice"          // a webhook was held more than once
	invHeldUnresolved   = "held-unresolved"     // a webhook held once was never applied, ignored or recorded after the initiation
	invFraudWins        = "fraud-wins"          // a fraud verdict on the current identification did not go to compliance
	invFraudWinsLate    = "fraud-wins-late"     // the same, for a verdict after the identification's abort (retry pending)
	invCancelIgnored    = "cancel-ignored"      // an operator cancel of a running onboarding did not end it
	invRefusedStale     = "refused-stale"       // an operator action refused on a state its task had already left
	invReasonOfAttempt  = "reason-of-attempt"   // the compliance case shows a reason no webhook of its identification carried
	invDocsWindow       = "docs-window"         // a document announced within the wait window was not downloaded
	invResult           = "result"              // the Result disagrees with the final status
	invWorkflowError    = "workflow-error"      // the run failed although Treezor was never down
	invCANTerminal      = "continue-as-new-terminal"
)

// fail records a violation; only the first of each invariant is kept.
func (r *modelRun) fail(inv, where, format string, args ...any) {
	for _, v := range r.violations {
		if v.inv == inv {
			return
		}
	}
	r.violations = append(r.violations, modelViolation{inv: inv, where: where, msg: fmt.Sprintf(format, args...)})
}

func (r *modelRun) query(name string, v any) error {
	enc, err := r.env.QueryWorkflow(name)
	if err != nil {
		return err
	}
	return enc.Get(v)
}

// observe queries the workflow and checks every invariant against what it says.
func (r *modelRun) observe(where string) *modelObservation {
	obs := &modelObservation{where: where, at: r.elapsed()}
	if err := r.query(QueryStatus, &obs.st); err != nil {
		r.fail("query", where, "status: %v", err)
		return obs
	}
	if err := r.query(QueryUserStatus, &obs.us); err != nil {
		r.fail("query", where, "user-status: %v", err)
		return obs
	}
	r.trace = append(r.trace, fmt.Sprintf("%s (+%s): %s attempt %d, user %s", where, formatModelDuration(obs.at),
		obs.st.State, obs.st.Attempt, obs.us.Status))
	r.checkUserView(obs)
	r.checkProgress(obs)
	r.checkTimeline(obs)
	r.checkSearchAttributes(obs)
	r.checkPending(obs)
	r.checkReasons(obs)
	r.checkDocuments(obs)
	r.checkTreezorCalls(obs)
	r.prev = obs
	r.checks++
	return obs
}

var modelUserStatuses = map[string]bool{
	UserStatusPreparing: true, UserStatusActionRequired: true, UserStatusUnderReview: true,
	UserStatusApproved: true, UserStatusClosed: true, UserStatusExpired: true, UserStatusCancelled: true,
}

// checkUserView: the end-user view never tells fraud, compliance or a rejection from an
// ordinary review or closing, and reads as ended once the run has ended.
func (r *modelRun) checkUserView(obs *modelObservation) {
	st, us := obs.st, obs.us
	b, _ := json.Marshal(us)
	text := strings.ToUpper(string(b))
	for _, word := range []string{"FRAUD", "COMPLIANCE", "SUSPIC", "REJECT"} {
		if strings.Contains(text, word) {
			r.fail(invUserViewReveals, obs.where, "user status %s contains %s", b, word)
		}
	}
	if !modelUserStatuses[us.Status] {
		r.fail(invUserViewReveals, obs.where, "unknown user status %q", us.Status)
	}
	if st.ReasonCode != 0 && strings.Contains(string(b), strconv.Itoa(st.ReasonCode)) {
		r.fail(invUserViewReveals, obs.where, "user status %s shows reason code %d", b, st.ReasonCode)
	}
	switch st.State {
	case StateFraudSuspected, StateComplianceReview:
		if us.Status != UserStatusUnderReview || us.ActionRequired != "" {
			r.fail(invUserViewReveals, obs.where, "in %s the user status is %s/%s, not an ordinary review", st.State, us.Status, us.ActionRequired)
		}
	case StateRejected:
		if us.Status != UserStatusClosed {
			r.fail(invUserViewReveals, obs.where, "REJECTED reads %s, not like any other closing", us.Status)
		}
	}
	switch {
	case r.ended && !st.State.Terminal():
		if !us.Final || us.Status == UserStatusPreparing || us.Status == UserStatusUnderReview || us.Status == UserStatusActionRequired {
			r.fail(invUserViewEnded, obs.where, "the run has ended (state %s) but the user status says %s, final %v", st.State, us.Status, us.Final)
		}
	case us.Final != st.State.Terminal():
		r.fail(invUserViewFinal, obs.where, "state %s, user status final %v", st.State, us.Final)
	}
}

// modelStateRank orders the states of one attempt; INITIATING (rank 0) starts an attempt
// or a new initiation and is checked apart. A fraud suspicion may come at any time (fraud
// always wins), so FRAUD_SUSPECTED and COMPLIANCE_REVIEW can follow any state
// (modelAlwaysReachable).
var modelStateRank = map[State]int{
	StateInitiating: 0, StateUserDataIncomplete: 1, StateAwaitingUser: 1, StateInProgress: 2, StateProviderReview: 3,
	StateAborted: 4, StateProviderCanceled: 4, StateSuccess: 4, StateFraudSuspected: 4,
	StateComplianceReview: 5, StateRetryScheduled: 5, StateWaitingForUser: 5,
	StateAwaitingSEPA: 6, StateDocuments: 7, StateKYCReviewPending: 8, StateKYCReviewOverdue: 9,
}

func modelAlwaysReachable(s State) bool {
	return s == StateFraudSuspected || s == StateComplianceReview || s.Terminal()
}

func modelRank(s State) (int, bool) {
	if s.Terminal() {
		return 10, true
	}
	n, ok := modelStateRank[s]
	return n, ok
}

func modelKYCRank(k treezor.KYCReview) int {
	switch k {
	case treezor.KYCReviewNone:
		return 0
	case treezor.KYCReviewPending:
		return 1
	case treezor.KYCReviewValidated, treezor.KYCReviewRefused, treezor.KYCReviewClosed:
		return 3
	}
	return 2
}

// checkProgress compares this observation with the previous one.
func (r *modelRun) checkProgress(obs *modelObservation) {
	st := obs.st
	if st.Attempt < 1 || st.Attempt > st.MaxAttempts {
		r.fail(invAttemptsBound, obs.where, "attempt %d of %d", st.Attempt, st.MaxAttempts)
	}
	if r.prev == nil {
		return
	}
	p := r.prev.st
	if p.State.Terminal() && st.State != p.State {
		r.fail(invTerminalChanged, obs.where, "%s became %s", p.State, st.State)
	}
	if modelKYCRank(st.KYCReview) < modelKYCRank(p.KYCReview) {
		r.fail(invKYCBackwards, obs.where, "KYC review %s after %s", st.KYCReview, p.KYCReview)
	}
	switch {
	case st.Attempt < p.Attempt:
		r.fail(invBackwards, obs.where, "attempt %d after %d", st.Attempt, p.Attempt)
	case st.Attempt > p.Attempt || p.State.Terminal() || modelAlwaysReachable(st.State):
	case st.State == StateInitiating:
		if p.State != StateInitiating && p.State != StateUserDataIncomplete {
			r.fail(invBackwards, obs.where, "INITIATING after %s within attempt %d", p.State, st.Attempt)
		}
	default:
		now, ok1 := modelRank(st.State)
		before, ok2 := modelRank(p.State)
		if ok1 && ok2 && now < before {
			r.fail(invBackwards, obs.where, "%s after %s within attempt %d", st.State, p.State, st.Attempt)
		}
	}
}

// checkTimeline walks the timeline: state order, terminal states, webhooks accounted for,
// held webhooks resolved.
func (r *modelRun) checkTimeline(obs *modelObservation) {
	st := obs.st
	var prev State
	terminal := State("")
	for _, e := range st.Timeline {
		if e.Kind != KindState {
			continue
		}
		if terminal != "" && e.State != terminal {
			r.fail(invTerminalChanged, obs.where, "timeline: %s after %s", e.State, terminal)
		}
		if prev != "" && e.State != StateInitiating && !modelAlwaysReachable(e.State) {
			now, ok1 := modelRank(e.State)
			before, ok2 := modelRank(prev)
			if ok1 && ok2 && now < before {
				r.fail(invBackwards, obs.where, "timeline: %s after %s (%s)", e.State, prev, e.Note)
			}
		}
		if e.State.Terminal() && terminal == "" {
			terminal = e.State
		}
		prev = e.State
	}
	if st.TimelineDropped > 0 {
		return
	}
	entries := map[string][]int{}
	var ids []string // in order of first appearance
	for i, e := range st.Timeline {
		if e.Kind == KindWebhook && e.WebhookID != "" {
			if entries[e.WebhookID] == nil {
				ids = append(ids, e.WebhookID)
			}
			entries[e.WebhookID] = append(entries[e.WebhookID], i)
		}
	}
	for _, ev := range r.webhooks {
		if r.ended && r.sentAt[ev.WebhookID] == obs.at {
			continue // delivered at the instant the run closed: the server would have refused the signal
		}
		if len(entries[ev.WebhookID]) == 0 {
			r.fail(invWebhookLost, obs.where, "webhook %s (%s %s) is not in the timeline", ev.WebhookID, ev.Type, ev.IdentificationID)
		}
	}
	settled := r.ended || st.State != StateInitiating
	if st.IdentificationID != "" {
		r.issuedSeen[st.IdentificationID] = true
	}
	identOf := map[string]string{}
	for _, ev := range r.webhooks {
		identOf[ev.WebhookID] = ev.IdentificationID
	}
	for _, id := range ids {
		idx := entries[id]
		held, lastHeld := 0, -1
		for _, i := range idx {
			if strings.HasPrefix(st.Timeline[i].Note, NoteBuffered) {
				held++
				lastHeld = i
			}
		}
		if held > 1 {
			r.fail(invHeldTwice, obs.where, "webhook %s was held %d times", id, held)
		}
		// From releaseLocalCalls on, an event for an identification the run never issued
		// stays held until the next one is issued or the run ends.
		waits := !r.ended && identOf[id] != "" && !r.issuedSeen[identOf[id]]
		if held == 1 && settled && idx[len(idx)-1] == lastHeld && !waits {
			r.fail(invHeldUnresolved, obs.where, "webhook %s is still held in state %s", id, st.State)
		}
	}
}

// checkSearchAttributes: the compliance queue (QESState="COMPLIANCE_REVIEW") always
// agrees with the state; every attribute agrees with the status while the workflow waits
// for the outside world (no activity of its own in flight).
func (r *modelRun) checkSearchAttributes(obs *modelObservation) {
	st := obs.st
	r.mu.Lock()
	pub := make(map[string]string, len(r.published))
	for k, v := range r.published {
		pub[k] = v
	}
	r.mu.Unlock()
	if (pub[SAQESState] == string(StateComplianceReview)) != (st.State == StateComplianceReview) {
		r.fail(invSAQueue, obs.where, "QESState %s, state %s", pub[SAQESState], st.State)
		return
	}
	if r.activitiesInFlight() > 0 {
		return
	}
	r.saCompared++
	want := map[string]string{
		SATreezorUserID: st.UserID, SAQESState: string(st.State), SAQESAttempt: strconv.Itoa(st.Attempt),
		SAQESReasonCode: strconv.Itoa(st.ReasonCode), SAKYCReview: st.KYCReview.String(),
		SAQESIdentificationID: st.IdentificationID,
	}
	for _, name := range slices.Sorted(maps.Keys(want)) {
		if v := want[name]; pub[name] != v {
			r.fail(invSAMismatch, obs.where, "%s is %q, the status says %q", name, pub[name], v)
		}
	}
}

// checkPending resolves what earlier steps expect of this observation: a fraud verdict
// went to compliance, a cancel ended the onboarding.
func (r *modelRun) checkPending(obs *modelObservation) {
	st := obs.st
	for _, pf := range r.pendingFraud {
		first := -1
		for i, e := range st.Timeline {
			if e.WebhookID == pf.webhookID {
				first = i
				break
			}
		}
		if first < 0 || st.Timeline[first].Note == NoteDecided {
			continue // compliance already decided this identification's suspicion
		}
		reached := false
		for _, e := range st.Timeline[first:] {
			if e.Kind == KindState && e.State == StateComplianceReview {
				reached = true
				break
			}
		}
		if !reached {
			inv := invFraudWins
			if pf.late {
				inv = invFraudWinsLate
			}
			r.fail(inv, obs.where, "fraud verdict %s on %s (%s) did not go to compliance: %q, state %s",
				pf.webhookID, pf.ident, pf.where, notes(st, pf.webhookID), st.State)
		}
	}
	r.pendingFraud = nil
	if r.pendingCancel != "" {
		if !st.State.Terminal() {
			r.fail(invCancelIgnored, obs.where, "cancel sent at %s, state %s", r.pendingCancel, st.State)
		}
		r.pendingCancel = ""
	}
}

// checkReasons: the reason of a compliance case is one its identification's webhooks
// carried, or one a fraud verdict on an earlier identification carried during this
// attempt (a fraud verdict on any identification opens the case, with its reason).
func (r *modelRun) checkReasons(obs *modelObservation) {
	st := obs.st
	if (st.State != StateComplianceReview && st.State != StateRejected) || st.ReasonCode == 0 || st.IdentificationID == "" {
		return
	}
	if !r.codesFor[st.IdentificationID][st.ReasonCode] && !r.fraudCodes[st.Attempt][st.ReasonCode] {
		r.fail(invReasonOfAttempt, obs.where, "%s of %s shows reason %d, which no webhook of %s carried",
			st.State, st.IdentificationID, st.ReasonCode, st.IdentificationID)
	}
}

// checkDocuments: once the document wait window has passed and the onboarding left the
// DOCUMENTS step, every document announced within the window was downloaded (or failed).
func (r *modelRun) checkDocuments(obs *modelObservation) {
	st := obs.st
	if !r.sc.docs || st.State == StateDocuments || r.activitiesInFlight() > 0 {
		return
	}
	var entered, ended time.Duration = -1, -1
	for _, e := range st.Timeline {
		if e.Kind != KindState {
			continue
		}
		if e.State == StateDocuments && entered < 0 {
			entered = e.Time.Sub(modelEpoch)
		}
		// The end of the run, or a fraud verdict that sends the documents step to
		// compliance, closes the window early.
		interrupted := entered >= 0 && (e.State == StateFraudSuspected || e.State == StateComplianceReview)
		if (e.State.Terminal() || interrupted) && ended < 0 {
			ended = e.Time.Sub(modelEpoch)
		}
	}
	window := modelPolicy(r.sc).DocumentWaitWindow
	closes := entered + window
	if entered < 0 || obs.at < closes || (ended >= 0 && ended < closes) {
		return
	}
	done := map[string]bool{}
	for _, d := range st.DocumentDownloads {
		done[d.DocumentID] = d.Done
	}
	for _, id := range slices.Sorted(maps.Keys(r.docSent)) {
		if at := r.docSent[id]; at < closes && !done[id] {
			r.fail(invDocsWindow, obs.where, "document %s announced at +%s, within the window (DOCUMENTS from +%s), was not downloaded",
				id, formatModelDuration(at), formatModelDuration(entered))
		}
	}
}

// checkTreezorCalls: one identification per attempt, one KYC review request per success.
func (r *modelRun) checkTreezorCalls(obs *modelObservation) {
	r.tz.mu.Lock()
	defer r.tz.mu.Unlock()
	for _, attempt := range slices.Sorted(maps.Keys(r.tz.identsOf)) {
		if idents := r.tz.identsOf[attempt]; len(idents) > 1 {
			r.fail(invOneIdent, obs.where, "attempt %d created %d identifications", attempt, len(idents))
		}
	}
	successes := 0
	for _, e := range obs.st.Timeline {
		if e.Kind == KindState && e.State == StateSuccess {
			successes++
		}
	}
	if len(r.tz.kycTags) > successes && obs.st.TimelineDropped == 0 {
		r.fail(invOneKYCRequest, obs.where, "%d KYC review requests, %d successful identifications", len(r.tz.kycTags), successes)
	}
}

// checkURLAnswer: an answer of the onboarding scope never shows an end state, fraud or
// compliance; a failure is one the API can classify.
func (r *modelRun) checkURLAnswer(ans *modelURLAnswer) {
	where := "identification-url sent at " + ans.where
	if ans.err != nil {
		r.checkURLError(where, ans.err)
		return
	}
	res := ans.result
	if res.State.Terminal() {
		r.fail(invURLAnswerEnded, where, "answered state %s without an error", res.State)
	}
	if res.State == StateFraudSuspected {
		r.fail(invURLAnswerReveals, where, "answered state %s", res.State)
	}
	if res.State == StateAwaitingUser && res.IdentificationURL == "" {
		r.fail(invURLAnswerURL, where, "answered AWAITING_USER without a URL")
	}
	if res.IdentificationURL != "" && res.IdentificationURL != urlForIdent(testUser, res.IdentificationID) {
		r.fail(invURLAnswerURL, where, "URL of %q is not the identification's", res.IdentificationID)
	}
}

func (r *modelRun) checkURLRejected(ans *modelURLAnswer) {
	r.checkURLError("identification-url sent at "+ans.where+" (rejected)", ans.rejected)
}

func (r *modelRun) checkURLError(where string, err error) {
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) {
		r.fail(invURLAnswerError, where, "%T: %v", err, err)
		return
	}
	switch appErr.Type() {
	case ErrTypeNotAvailable, ErrTypeUserDataIncomplete, ErrTypeTreezorRejected, ErrTypeTreezorUnavailable:
	default:
		r.fail(invURLAnswerError, where, "error type %q: %v", appErr.Type(), err)
	}
}

// observeCarry checks the state a run hands to the next one.
func (r *modelRun) observeCarry(next Input) {
	if next.Carry == nil || next.Carry.State.Terminal() {
		r.fail(invCANTerminal, r.nowWhere(), "continued as new with carry %+v", next.Carry)
	}
}

// finalCheck checks the end of the run: its outcome, the last views, every update answered.
func (r *modelRun) finalCheck(runErr error) {
	where := "after the end"
	var res Result
	failed, isFailed := FailedResult(runErr) // a FAILED onboarding fails the execution (ChangeRelease)
	if isFailed {
		runErr = nil
	}
	if runErr != nil {
		r.tz.mu.Lock()
		down := r.tz.downUsed
		r.tz.mu.Unlock()
		if !down {
			r.fail(invWorkflowError, where, "%v", runErr)
		}
		r.trace = append(r.trace, fmt.Sprintf("%s the run failed: %v", r.nowWhere(), runErr))
	} else if isFailed {
		res = failed
		if res.State != StateFailed {
			r.fail(invResult, where, "a %s onboarding failed the execution", res.State)
		}
	} else if err := r.env.GetWorkflowResult(&res); err != nil {
		r.fail(invResult, where, "result: %v", err)
	} else if res.State == StateFailed {
		r.fail(invResult, where, "a FAILED onboarding completed the execution")
	}
	obs := r.observe(where)
	r.last = obs
	if runErr == nil && (!res.State.Terminal() || res.State != obs.st.State) {
		r.fail(invResult, where, "result state %s, status state %s", res.State, obs.st.State)
	}
	for _, ans := range r.urls {
		if ans.accepted && !ans.done {
			r.fail(invUpdateUnanswered, where, "identification-url sent at %s was never answered", ans.where)
		}
	}
	for _, ans := range r.ops {
		// An update neither accepted nor rejected when the run closed was never admitted:
		// the server answers its caller that the run has ended.
		if ans.accepted && !ans.done {
			r.fail(invUpdateUnanswered, where, "operator update %s sent at %s was never answered", ans.name, ans.where)
		}
	}
}

// checkRefusal checks an operator action refused as not applicable: the state its refusal
// names must be the state its workflow task left the run in. A validator that reads the
// state before the task's webhooks are applied names an older one (issue 18).
func (r *modelRun) checkRefusal(ans *modelOperatorAnswer) {
	err := ans.rejected
	if err == nil && ans.done {
		err = ans.err
	}
	var appErr *temporal.ApplicationError
	if err == nil || !errors.As(err, &appErr) || appErr.Type() != ErrTypeNotApplicable {
		return
	}
	var seen ActionResult
	if appErr.Details(&seen) != nil {
		r.fail(invRefusedStale, ans.where, "%s refused without the state it saw: %v", ans.name, err)
		return
	}
	v, qerr := r.env.QueryWorkflow(QueryStatus)
	if qerr != nil {
		return // the run has closed: the final check reads the result
	}
	var st Status
	if v.Get(&st) != nil {
		return
	}
	if seen.State != st.State || seen.Attempt != st.Attempt {
		r.fail(invRefusedStale, ans.where, "%s refused on %s attempt %d; its task left the run in %s attempt %d",
			ans.name, seen.State, seen.Attempt, st.State, st.Attempt)
	}
}
