package workflows

import (
	"strconv"
	"strings"

	"github.com/qesflow/qesflow/treezor"
)

// Timeline entry kinds.
const (
	KindWebhook  = "webhook"
	KindState    = "state"
	KindSignal   = "signal"
	KindActivity = "activity"
	KindAction   = "action" // an operator action (update)
)

// record appends one timeline entry, dropping the oldest beyond MaxTimeline. Notes never
// carry an identification URL or other PII.
func (o *onboarding) record(e TimelineEntry) {
	e.Time = o.now()
	o.st.UpdatedAt = e.Time
	o.st.Timeline = append(o.st.Timeline, e)
	if over := len(o.st.Timeline) - MaxTimeline; over > 0 {
		o.st.Timeline = append([]TimelineEntry(nil), o.st.Timeline[over:]...)
		o.st.TimelineDropped += over
	}
}

// recordEvent records what happened to one webhook event.
func (o *onboarding) recordEvent(ev treezor.Event, note string) {
	if detail := eventDetail(ev); detail != "" {
		note += " (" + detail + ")"
	}
	o.record(TimelineEntry{
		Kind: KindWebhook, WebhookID: ev.WebhookID, EventType: ev.Type,
		IdentificationID: ev.IdentificationID, State: o.st.State, Note: note,
	})
}

// recordAction records an accepted operator action.
func (o *onboarding) recordAction(name, note string) {
	o.record(TimelineEntry{Kind: KindAction, EventType: name, State: o.st.State, Note: note})
}

// recordDecision records a compliance decision with who took it and their note (the audit
// trail); the note stays in the encrypted history and the compliance view only.
func (o *onboarding) recordDecision(decision string, d ComplianceDecision) {
	o.countDecision(decision)
	note := decision
	if n := strings.TrimSpace(d.Note); n != "" {
		note += ": " + n
	}
	o.record(TimelineEntry{Kind: KindAction, EventType: UpdateComplianceDecision, State: o.st.State,
		Note: note, Operator: strings.TrimSpace(d.Operator)})
}

// eventDetail summarises the codes of an event: ids and codes only, never PII.
func eventDetail(ev treezor.Event) string {
	var parts []string
	add := func(label, value string) {
		if value != "" {
			parts = append(parts, label+" "+value)
		}
	}
	add("result", ev.Result)
	if ev.ReasonCode != 0 {
		add("reason", strconv.Itoa(ev.ReasonCode))
	}
	if ev.Type == treezor.EventUserKYCReview {
		add("kycReview", ev.KYCReview.String())
	}
	add("document", ev.DocumentID)
	add("payin", ev.PayinID)
	add("payinStatus", ev.PayinStatus)
	if ev.PaymentMethodID != 0 {
		add("paymentMethodId", strconv.Itoa(ev.PaymentMethodID))
	}
	add("wallet", ev.WalletID)
	return strings.Join(parts, ", ")
}

// remember adds a dedupe key to the bounded deduplication set.
func (o *onboarding) remember(key string) {
	if key == "" {
		return
	}
	o.seen[key] = struct{}{}
	o.st.Seen = append(o.st.Seen, key)
	if len(o.st.Seen) > MaxSeenWebhooks {
		delete(o.seen, o.st.Seen[0])
		o.st.Seen = o.st.Seen[1:]
	}
}

// duplicate reports whether the dedupe key was seen before.
func (o *onboarding) duplicate(key string) bool {
	if key == "" {
		return false
	}
	_, ok := o.seen[key]
	return ok
}
