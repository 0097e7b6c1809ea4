package workflows

import (
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/qesflow/qesflow/treezor"
)

// Steps of one identification, in the order Treezor reports them. A QES webhook for a
// step at or below the identification's current step changes nothing, so an event that
// arrives late never moves the onboarding backwards.
const (
	stepNone       = iota
	stepIssued     // AWAITING_USER: the URL was issued
	stepCreated    // IN_PROGRESS: qes.created
	stepProcessing // PROVIDER_REVIEW: qes.processing, or qes.finalized with a pending result
	stepOutcome    // qes.aborted, or qes.finalized with a final result
)

// enter moves to state s and clears the deadline (the caller sets the new one with wait).
func (o *onboarding) enter(s State, note string) {
	from := o.st.State
	o.countState(s)
	o.st.State = s
	o.st.Deadline = time.Time{}
	o.record(TimelineEntry{Kind: KindState, State: s, IdentificationID: o.st.IdentificationID, Note: note})
	o.logger.Info("Onboarding state changed", "from", string(from), "to", string(s),
		"attempt", o.st.Attempt, "identificationId", o.st.IdentificationID)
}

// wait sets the deadline of the current state d from now.
func (o *onboarding) setDeadline(d time.Duration) { o.st.Deadline = o.now().Add(d) }

// finish ends the onboarding in terminal state s; note explains it in the Result.
func (o *onboarding) finish(s State, note string) {
	o.st.Note = note
	o.enter(s, note)
}

// maxAttempts is the configured limit plus the attempts compliance granted.
func (o *onboarding) maxAttempts() int { return o.policy.MaxAttempts + o.st.BonusAttempts }

func (o *onboarding) attemptsLeft() bool { return o.st.Attempt < o.maxAttempts() }

// beginInitiation asks Treezor for a new identification within the current attempt.
func (o *onboarding) beginInitiation(note string) {
	o.st.Initiations++
	o.st.IdentificationID, o.st.IdentificationURL, o.st.Step, o.st.InitError = "", "", stepNone, nil
	o.enter(StateInitiating, note)
}

// newAttempt starts the next attempt: a new identification.
func (o *onboarding) newAttempt(note string) {
	o.st.Attempt++
	o.st.ProviderResult = ""
	o.beginInitiation(note)
}

// retry starts a new attempt now (RETRY_NOW) or after the backoff, or fails when the
// attempts are used up.
func (o *onboarding) retry(policy treezor.Policy) {
	if !o.attemptsLeft() {
		o.finish(StateFailed, fmt.Sprintf("all %d attempts used", o.maxAttempts()))
		return
	}
	if policy == treezor.PolicyRetryNow {
		o.newAttempt("new attempt at once (" + string(policy) + ")")
		return
	}
	backoff := o.policy.backoff(o.st.Attempt + 1)
	o.enter(StateRetryScheduled, "new attempt in "+backoff.String()+" ("+string(policy)+")")
	o.setDeadline(backoff)
}

// issued records the identification InitiateQES returned and replays the webhooks that
// raced it.
func (o *onboarding) issued(id, url string) {
	o.st.IdentificationID, o.st.IdentificationURL, o.st.Step = id, url, stepIssued
	if !slices.Contains(o.st.Identifications, id) {
		o.st.Identifications = append(o.st.Identifications, id)
	}
	o.enter(StateAwaitingUser, "identification issued")
	o.setDeadline(o.policy.UserTimeout)
	o.applyBuffered(true)
}

// succeeded follows a successful identification.
func (o *onboarding) succeeded() {
	o.st.Reason = nil
	o.enter(StateSuccess, "identification succeeded")
	o.advance()
}

// advance takes the next step after a success: the Treezor user's country, the SEPA
// payin (DE), the QES documents, then the KYC review.
func (o *onboarding) advance() {
	switch {
	case !o.st.UserChecked:
		// SUCCESS: startWork reads the user at Treezor, userLookedUp comes back here.
	case countryRequiresSEPA(o.country()) && !o.st.SEPAValidated:
		o.st.PayinCheckDue = o.in.WalletID != "" || len(o.st.Wallets) > 0
		o.enter(StateAwaitingSEPA, "waiting for a validated SEPA payin")
		o.setDeadline(o.policy.SEPATimeout)
	case !o.st.DocumentsDone:
		o.st.WindowOver = false
		o.enter(StateDocuments, "waiting for the QES documents")
		o.setDeadline(o.policy.DocumentWaitWindow)
		o.documentsSettled()
	default:
		// A decision announced before the request is read at Treezor once it is made
		// (changeEarlyKYCDecisionChecked).
		o.st.KYCRequested, o.st.KYCCheckDue, o.st.KYCAnnounced = false, o.st.KYCAnnounced, false
		o.st.KYCRequests++
		o.enter(StateKYCReviewPending, "requesting the KYC review")
		o.setDeadline(o.policy.KYCReviewTimeout)
	}
}

// country is the user's country: Treezor's once read, else the starter's.
func (o *onboarding) country() string {
	if o.st.Country != "" {
		return o.st.Country
	}
	return o.in.Country
}

// applyReason follows the policy of a reason code after an unsuccessful identification.
// transient is ABORTED or CANCELED, recorded before the policy's next state.
func (o *onboarding) applyReason(transient State, r treezor.Reason) {
	o.st.Reason = reasonInfo(r)
	o.countReason(r)
	o.enter(transient, reasonNote(r))
	switch r.Policy {
	case treezor.PolicyCompliance:
		o.suspectFraud("reason " + strconv.Itoa(r.Code) + " is a fraud suspicion")
	case treezor.PolicyTerminalDeclined:
		o.finish(StateDeclined, "the user declined ("+reasonNote(r)+")")
	case treezor.PolicyTerminalNotEligible:
		o.finish(StateDeclined, "the user is not eligible ("+reasonNote(r)+")")
	case treezor.PolicyWaitUserData:
		if !o.attemptsLeft() {
			o.finish(StateFailed, fmt.Sprintf("all %d attempts used", o.maxAttempts()))
			return
		}
		o.enter(StateWaitingForUser, "waiting for the user's data to be corrected and a restart")
		o.setDeadline(o.policy.UserTimeout)
	default: // RETRY_INVITE, RETRY_NOW, RETRY_NEW_DOCUMENT
		o.retry(r.Policy)
	}
}

// suspectFraud routes the onboarding to compliance. It is never retried automatically.
func (o *onboarding) suspectFraud(note string) {
	o.enter(StateFraudSuspected, note)
	o.st.Escalated, o.st.Escalations = false, 0
	o.enter(StateComplianceReview, "waiting for a compliance decision")
	o.setDeadline(o.policy.ComplianceTimeout)
}

func reasonInfo(r treezor.Reason) *ReasonInfo {
	return &ReasonInfo{Code: r.Code, Message: r.Message, Category: r.Category, Policy: r.Policy}
}

// reasonNote is the internal description of a reason: "ID_BLURRY (3101) → RETRY_INVITE".
func reasonNote(r treezor.Reason) string {
	return r.Message + " (" + strconv.Itoa(r.Code) + ") → " + string(r.Policy)
}
