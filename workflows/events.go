package workflows

import (
	"slices"
	"strconv"
	"strings"

	"github.com/qesflow/qesflow/treezor"
)

// Timeline notes of webhook events.
const (
	NoteApplied        = "applied"
	NoteDuplicate      = "duplicate: ignored"
	NoteStale          = "stale identification: ignored"
	NoteOutOfOrder     = "out of order: the identification is already at a later step"
	NoteBuffered       = "held until the identification id is known"
	NoteBufferFull     = "too many events held: dropped"
	NoteEnded          = "the onboarding has ended: ignored"
	NoteUnhandled      = "unhandled event type: ignored"
	NoteOtherUser      = "event for another user: ignored"
	NoteOtherWallet    = "payin into another wallet: ignored"
	NoteKYCRequest     = "Treezor acknowledged the KYC review request"
	NoteNoID           = "no identification id: ignored"
	NoteEarlyKYCReview = "KYC review before it was requested: recorded only"
	NoteKYCNotFinal    = "KYC review not final: waiting"
	// NoteEarlyKYCDecision: a decision announced before the review was requested (its
	// request may have reached Treezor in a workflow task that did not complete).
	NoteEarlyKYCDecision = "KYC decision before the review was requested: confirmed with Treezor once requested"
	NoteKYCBackwards     = "KYC review status older than the one recorded: ignored"
	NoteKYCConfirm       = "KYC decision announced: confirming it with Treezor"
	NoteUnderReview      = "under compliance review: recorded only"
	NoteDecided          = "fraud verdict on an identification compliance already decided: recorded only"
)

// eventHandlers routes a known webhook type to its handler.
var eventHandlers = map[string]func(*onboarding, treezor.Event){
	treezor.EventQESCreated:     (*onboarding).onQES,
	treezor.EventQESProcessing:  (*onboarding).onQES,
	treezor.EventQESAborted:     (*onboarding).onQES,
	treezor.EventQESFinalized:   (*onboarding).onQES,
	treezor.EventUserKYCReview:  (*onboarding).onKYCReview,
	treezor.EventDocumentCreate: (*onboarding).onDocument,
	treezor.EventPayinCreate:    (*onboarding).onPayin,
	treezor.EventPayinUpdate:    (*onboarding).onPayin,
	treezor.EventUserKYCRequest: (*onboarding).onKYCRequest,
}

func isPayin(ev treezor.Event) bool {
	return ev.Type == treezor.EventPayinCreate || ev.Type == treezor.EventPayinUpdate
}

// onKYCRequest records user.kycrequest, which Treezor sends after the review request.
func (o *onboarding) onKYCRequest(ev treezor.Event) { o.recordEvent(ev, NoteKYCRequest) }

// onWebhook applies one webhook event: deduplicated by the hash of its signed payload
// (the webhook id when there is none), checked to be about this user, then routed by type.
func (o *onboarding) onWebhook(ev treezor.Event) {
	if o.st.State.Terminal() {
		o.recordEvent(ev, NoteEnded)
		return
	}
	key := dedupeKey(ev)
	if o.duplicate(key) {
		o.recordEvent(ev, NoteDuplicate)
		return
	}
	o.remember(key)
	handle, ok := eventHandlers[ev.Type]
	switch {
	case !ok || !ev.Known:
		o.recordEvent(ev, NoteUnhandled)
	case isPayin(ev) && o.knowsWallets():
		// A payin's userId is not reliable at Treezor; its wallet is.
		if !o.ownWallet(ev.WalletID) {
			o.recordEvent(ev, NoteOtherWallet)
			return
		}
		handle(o, ev)
	case ev.UserID != "" && ev.UserID != o.in.UserID:
		o.recordEvent(ev, NoteOtherUser)
	default:
		handle(o, ev)
	}
}

// dedupeKey identifies one delivery: the hash of the signed payload, which an attacker
// cannot relabel, or the webhook id of an event that has none.
func dedupeKey(ev treezor.Event) string {
	if ev.PayloadHash != "" {
		return "sha256:" + ev.PayloadHash
	}
	return ev.WebhookID
}

// onQES handles qes.* events: a fraud verdict on any identification of this onboarding
// goes to compliance whatever the order; other events are held while the identification
// id is unknown and ignored when they belong to another identification.
func (o *onboarding) onQES(ev treezor.Event) {
	switch {
	case ev.IdentificationID == "":
		o.recordEvent(ev, NoteNoID)
	case o.fraudVerdict(ev) && slices.Contains(o.st.Decided, ev.IdentificationID):
		o.recordEvent(ev, NoteDecided)
	case o.fraudVerdict(ev) && o.ownIdentification(ev.IdentificationID):
		if ev.IdentificationID == o.st.IdentificationID {
			o.st.Step = stepOutcome
		}
		o.recordEvent(ev, NoteApplied)
		o.fraud(ev)
		// The case left INITIATING: the webhooks held for the initiation are settled now.
		o.applyBuffered(false)
	case o.st.State == StateInitiating:
		o.hold(ev)
	case o.localCalls && !o.ownIdentification(ev.IdentificationID):
		// changeHoldUnknownIdentifications: an identification the next initiation may
		// report (a local call reaches Treezor before its answer is in the history).
		o.hold(ev)
	case o.st.State == StateComplianceReview:
		// Only a compliance decision (or an operator cancel, or the deadline) ends a case.
		o.recordEvent(ev, NoteUnderReview)
	case ev.IdentificationID != o.st.IdentificationID:
		o.recordEvent(ev, NoteStale)
	default:
		o.applyQES(ev)
	}
}

// fraudVerdict reports whether a qes.* event reports fraud: its result or its reason.
func (o *onboarding) fraudVerdict(ev treezor.Event) bool {
	if treezor.ClassifyResult(ev.Result) == treezor.ResultClassFraud {
		return true
	}
	return ev.ReasonCode != 0 && o.policy.reason(ev.ReasonCode).Policy == treezor.PolicyCompliance
}

// ownIdentification reports whether id is one of this onboarding's identifications.
func (o *onboarding) ownIdentification(id string) bool {
	return id == o.st.IdentificationID || slices.Contains(o.st.Identifications, id)
}

// fraud sends the onboarding to compliance with the reason of this event only (none when
// it has no reason code): reasons belong to their attempt.
func (o *onboarding) fraud(ev treezor.Event) {
	o.st.Reason = nil
	if ev.ReasonCode != 0 {
		o.st.Reason = reasonInfo(o.policy.reason(ev.ReasonCode))
		o.countReason(o.policy.reason(ev.ReasonCode))
	}
	if o.st.State == StateComplianceReview {
		o.record(TimelineEntry{Kind: KindState, State: o.st.State, IdentificationID: ev.IdentificationID,
			Note: "fraud verdict added to the compliance case"})
		return
	}
	o.suspectFraud("the provider reported a fraud suspicion")
}

// hold keeps a QES event until InitiateQES answered: the webhook can race the answer.
func (o *onboarding) hold(ev treezor.Event) {
	if len(o.st.Buffered) >= MaxBuffered {
		o.recordEvent(ev, NoteBufferFull)
		return
	}
	o.st.Buffered = append(o.st.Buffered, ev)
	o.recordEvent(ev, NoteBuffered)
}

// applyBuffered re-evaluates the held events once the identification is known (issued:
// InitiateQES answered with one) or known not to exist. From releaseLocalCalls on, an event
// for an identification the run has not issued stays held until one is issued, and is
// stale if it is not that one: it arrived before the initiation's answer was in the
// history, so no later initiation can report it.
func (o *onboarding) applyBuffered(issued bool) {
	held := o.st.Buffered
	o.st.Buffered = nil
	for _, ev := range held {
		unknown := o.localCalls && !o.ownIdentification(ev.IdentificationID) // changeHoldUnknownIdentifications
		switch {
		case o.st.State.Terminal():
			o.recordEvent(ev, NoteEnded)
		case unknown && issued:
			o.recordEvent(ev, NoteStale)
		case unknown:
			o.st.Buffered = append(o.st.Buffered, ev) // still held: recorded when it was
		case o.st.State == StateInitiating && !o.fraudVerdict(ev):
			// No identification came of the initiation: holding again would hold forever.
			o.recordEvent(ev, NoteStale)
		default:
			o.onQES(ev)
		}
	}
}

// applyQES moves the current identification forward, never backwards. Fraud verdicts
// were taken out before (onQES).
func (o *onboarding) applyQES(ev treezor.Event) {
	step := qesStep(ev)
	if step <= o.st.Step {
		o.recordEvent(ev, NoteOutOfOrder)
		return
	}
	o.st.Step = step
	o.recordEvent(ev, NoteApplied)
	switch ev.Type {
	case treezor.EventQESCreated:
		o.enter(StateInProgress, "the user completed the provider's steps")
		o.setDeadline(o.policy.ProviderTimeout)
	case treezor.EventQESProcessing:
		o.enter(StateProviderReview, "the provider is reviewing")
		o.setDeadline(o.policy.ProviderTimeout)
	case treezor.EventQESAborted:
		if unknownResult(ev) {
			o.unknownResult(ev)
			return
		}
		o.applyReason(StateAborted, o.policy.reason(ev.ReasonCode))
	case treezor.EventQESFinalized:
		o.finalized(ev)
	}
}

// qesStep is the identification step an event reports.
func qesStep(ev treezor.Event) int {
	switch ev.Type {
	case treezor.EventQESCreated:
		return stepCreated
	case treezor.EventQESProcessing:
		return stepProcessing
	case treezor.EventQESFinalized:
		if treezor.ClassifyResult(ev.Result) == treezor.ResultClassPending {
			return stepProcessing
		}
	}
	return stepOutcome
}

// unknownResult reports an outcome whose result value qesflow does not know and that
// names no reason: nothing tells whether the user succeeded.
func unknownResult(ev treezor.Event) bool {
	return ev.ReasonCode == 0 && strings.TrimSpace(ev.Result) != "" &&
		treezor.ClassifyResult(ev.Result) == treezor.ResultClassUnknown
}

// unknownResult sends an outcome qesflow cannot read to compliance, with the raw value
// on the timeline and in the details, instead of an automatic retry that could send a
// successful user back to identify again.
func (o *onboarding) unknownResult(ev treezor.Event) {
	o.st.Reason, o.st.ProviderResult = nil, ev.Result
	o.st.Escalated, o.st.Escalations = false, 0
	o.enter(StateComplianceReview, "unknown provider result "+strconv.Quote(ev.Result)+": waiting for a compliance decision")
	o.setDeadline(o.policy.ComplianceTimeout)
}

// finalized branches on the result of qes.finalized (not fraud: see onQES).
func (o *onboarding) finalized(ev treezor.Event) {
	switch treezor.ClassifyResult(ev.Result) {
	case treezor.ResultClassSuccess:
		o.succeeded()
	case treezor.ResultClassPending:
		o.enter(StateProviderReview, "the provider's review is pending")
		o.setDeadline(o.policy.ProviderTimeout)
	default: // canceled, aborted, unknown: the reason decides
		if unknownResult(ev) {
			o.unknownResult(ev)
			return
		}
		o.applyReason(StateProviderCanceled, o.policy.reason(ev.ReasonCode))
	}
}

// onKYCReview completes the onboarding on a final review, once the review was asked for.
func (o *onboarding) onKYCReview(ev treezor.Event) {
	if o.st.State != StateKYCReviewPending && o.st.State != StateKYCReviewOverdue {
		if o.localCalls && ev.KYCReview.Final() { // changeEarlyKYCDecisionChecked
			o.st.KYCAnnounced = true
			o.recordEvent(ev, NoteEarlyKYCDecision)
			return
		}
		o.recordEvent(ev, NoteEarlyKYCReview)
		return
	}
	if ev.KYCReview.Final() {
		// A decision is confirmed with Treezor before it is acted on: a verdict replayed
		// from an earlier onboarding must not end this one.
		o.st.KYCCheckDue = true
		o.recordEvent(ev, NoteKYCConfirm)
		return
	}
	if !o.setKYCReview(ev.KYCReview, ev.KYCLevel) {
		o.recordEvent(ev, NoteKYCBackwards)
		return
	}
	o.recordEvent(ev, NoteApplied)
	o.kycDecision()
}

// setKYCReview records a review status unless it would move the review backwards (a late
// PENDING after REVIEW_PENDING); it reports whether it did.
func (o *onboarding) setKYCReview(k treezor.KYCReview, level int) bool {
	if kycRank(k) < kycRank(o.st.KYCReview) {
		return false
	}
	o.st.KYCReview, o.st.KYCLevel = k, level
	return true
}

// kycRank orders review statuses along Treezor's review: none, pending, open, under
// review, decided.
func kycRank(k treezor.KYCReview) int {
	switch k {
	case treezor.KYCReviewNone:
		return 0
	case treezor.KYCReviewPending:
		return 1
	case treezor.KYCReviewReviewOpen:
		return 2
	case treezor.KYCReviewValidated, treezor.KYCReviewRefused:
		return 4
	default: // REVIEW_PENDING, INVESTIGATING, CLOSED
		return 3
	}
}

// kycDecision ends the onboarding when the KYC review is final.
func (o *onboarding) kycDecision() {
	switch o.st.KYCReview {
	case treezor.KYCReviewValidated:
		o.finish(StateCompletedValidated, "KYC review validated")
	case treezor.KYCReviewRefused:
		o.finish(StateCompletedRefused, "KYC review refused")
	default:
		o.record(TimelineEntry{Kind: KindState, State: o.st.State, Note: NoteKYCNotFinal + " (" + o.st.KYCReview.String() + ")"})
	}
}

// onDocument records a document announced by document.create; it is downloaded in the
// DOCUMENTS step when downloads are enabled.
func (o *onboarding) onDocument(ev treezor.Event) {
	switch {
	case ev.DocumentID == "":
		o.recordEvent(ev, "no document id: ignored")
	case o.documentIndex(ev.DocumentID) >= 0:
		o.recordEvent(ev, "document already recorded")
	case len(o.st.Documents) >= MaxDocuments:
		o.recordEvent(ev, "too many documents: not tracked")
	default:
		o.st.Documents = append(o.st.Documents, DocumentDownload{DocumentID: ev.DocumentID})
		o.recordEvent(ev, "document recorded")
		o.documentsSettled()
	}
}

// onPayin remembers a validated SEPA payin, whenever it arrives (it may come before the
// identification succeeded), and moves on when the onboarding waits for it.
// Only a SEPA credit transfer (paymentMethodId 20, or 27 for SCT Inst) with status
// VALIDATED counts; a card top-up or any other payin does not. A payin whose method was
// not reported (0: Treezor documents the field, so only a decoder that missed it) counts,
// with a note: dropping it could lose the user's transfer.
func (o *onboarding) onPayin(ev treezor.Event) {
	if ev.PaymentMethodID == 0 && o.payinWallets {
		// Only a received SEPA credit transfer counts: a payin that does not say it is one does not.
		o.recordEvent(ev, "no paymentMethodId: not known to be a SEPA credit transfer: ignored")
		return
	}
	if ev.PaymentMethodID != 0 && !sepaValidated(ev.PaymentMethodID, "VALIDATED") {
		o.recordEvent(ev, "not a SEPA credit transfer (paymentMethodId "+strconv.Itoa(ev.PaymentMethodID)+"): ignored")
		return
	}
	if !strings.EqualFold(strings.TrimSpace(ev.PayinStatus), "VALIDATED") {
		o.recordEvent(ev, "payin not validated: waiting")
		return
	}
	o.st.SEPAValidated, o.st.SEPAPayinID = true, ev.PayinID
	note := "validated SEPA payin recorded"
	if ev.PaymentMethodID == 0 {
		note = "validated payin recorded (payment method not reported)"
	}
	o.recordEvent(ev, note)
	if o.st.State == StateAwaitingSEPA {
		o.advance()
	}
}

// documentIndex is the index of a tracked document, or -1.
func (o *onboarding) documentIndex(id string) int {
	for i, d := range o.st.Documents {
		if d.DocumentID == id {
			return i
		}
	}
	return -1
}
