package workflows

import (
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
	NoteNoID           = "no identification id: ignored"
	NoteEarlyKYCReview = "KYC review before it was requested: recorded only"
	NoteKYCNotFinal    = "KYC review not final: waiting"
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
}

// onWebhook applies one webhook event: deduplicated by webhook id, checked to be about
// this user, then routed by type.
func (o *onboarding) onWebhook(ev treezor.Event) {
	if o.st.State.Terminal() {
		o.recordEvent(ev, NoteEnded)
		return
	}
	if o.duplicate(ev.WebhookID) {
		o.recordEvent(ev, NoteDuplicate)
		return
	}
	o.remember(ev.WebhookID)
	handle, ok := eventHandlers[ev.Type]
	switch {
	case !ok || !ev.Known:
		o.recordEvent(ev, NoteUnhandled)
	case ev.UserID != "" && ev.UserID != o.in.UserID:
		o.recordEvent(ev, NoteOtherUser)
	default:
		handle(o, ev)
	}
}

// onQES handles qes.* events: held while the identification id is unknown, ignored when
// they belong to another identification.
func (o *onboarding) onQES(ev treezor.Event) {
	switch {
	case ev.IdentificationID == "":
		o.recordEvent(ev, NoteNoID)
	case o.st.State == StateInitiating:
		o.hold(ev)
	case ev.IdentificationID != o.st.IdentificationID:
		o.recordEvent(ev, NoteStale)
	default:
		o.applyQES(ev)
	}
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

// applyBuffered re-evaluates the held events once the identification is known (or known
// not to exist).
func (o *onboarding) applyBuffered() {
	held := o.st.Buffered
	o.st.Buffered = nil
	for _, ev := range held {
		if o.st.State.Terminal() {
			o.recordEvent(ev, NoteEnded)
			continue
		}
		o.onQES(ev)
	}
}

// applyQES moves the current identification forward, never backwards.
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
		o.wait(o.policy.ProviderTimeout)
	case treezor.EventQESProcessing:
		o.enter(StateProviderReview, "the provider is reviewing")
		o.wait(o.policy.ProviderTimeout)
	case treezor.EventQESAborted:
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

// finalized branches on the result of qes.finalized: a fraud result or fraud reason goes
// to compliance whatever else it says.
func (o *onboarding) finalized(ev treezor.Event) {
	class := treezor.ClassifyResult(ev.Result)
	reason := o.policy.reason(ev.ReasonCode)
	switch {
	case class == treezor.ResultClassFraud || (ev.ReasonCode != 0 && reason.Policy == treezor.PolicyCompliance):
		if ev.ReasonCode != 0 {
			o.st.Reason = reasonInfo(reason)
		}
		o.suspectFraud("the provider reported a fraud suspicion")
	case class == treezor.ResultClassSuccess:
		o.succeeded()
	case class == treezor.ResultClassPending:
		o.enter(StateProviderReview, "the provider's review is pending")
		o.wait(o.policy.ProviderTimeout)
	default: // canceled, aborted, unknown: the reason decides
		o.applyReason(StateCanceled, reason)
	}
}

// onKYCReview completes the onboarding on a final review, once the review was asked for.
func (o *onboarding) onKYCReview(ev treezor.Event) {
	if o.st.State != StateKYCReviewPending && o.st.State != StateKYCReviewOverdue {
		o.recordEvent(ev, NoteEarlyKYCReview)
		return
	}
	o.recordEvent(ev, NoteApplied)
	o.st.KYCReview, o.st.KYCLevel = ev.KYCReview, ev.KYCLevel
	o.kycDecision()
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
	}
}

// onPayin remembers a validated SEPA payin, whenever it arrives (it may come before the
// identification succeeded), and moves on when the onboarding waits for it.
func (o *onboarding) onPayin(ev treezor.Event) {
	if !strings.EqualFold(strings.TrimSpace(ev.PayinStatus), "VALIDATED") {
		o.recordEvent(ev, "payin not validated: waiting")
		return
	}
	o.st.SEPAValidated, o.st.SEPAPayinID = true, ev.PayinID
	o.recordEvent(ev, "validated SEPA payin recorded")
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
