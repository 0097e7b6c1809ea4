package workflows

import (
	"strings"

	"go.temporal.io/sdk/workflow"

	"github.com/qesflow/qesflow/treezor"
)

// channels are the workflow's signal channels.
type channels struct {
	webhook, restart, cancel, compliance workflow.ReceiveChannel
}

func newChannels(ctx workflow.Context) channels {
	return channels{
		webhook:    workflow.GetSignalChannel(ctx, SignalWebhook),
		restart:    workflow.GetSignalChannel(ctx, SignalRestart),
		cancel:     workflow.GetSignalChannel(ctx, SignalCancel),
		compliance: workflow.GetSignalChannel(ctx, SignalComplianceDecision),
	}
}

// listenSignals adds every signal channel to sel.
func (o *onboarding) listenSignals(ctx workflow.Context, sel workflow.Selector) {
	sel.AddReceive(o.ch.webhook, func(c workflow.ReceiveChannel, _ bool) {
		var ev treezor.Event
		c.Receive(ctx, &ev)
		o.onWebhook(ev)
	})
	sel.AddReceive(o.ch.restart, func(c workflow.ReceiveChannel, _ bool) {
		var req RestartRequest
		c.Receive(ctx, &req)
		o.onRestart(req)
	})
	sel.AddReceive(o.ch.cancel, func(c workflow.ReceiveChannel, _ bool) {
		var req CancelRequest
		c.Receive(ctx, &req)
		o.onCancel(req)
	})
	sel.AddReceive(o.ch.compliance, func(c workflow.ReceiveChannel, _ bool) {
		var d ComplianceDecision
		c.Receive(ctx, &d)
		o.onComplianceDecision(d)
	})
}

// drainSignals applies every signal already delivered but not yet received, so that
// none is lost when the run ends or continues as new. It returns how many it applied.
func (o *onboarding) drainSignals() int {
	n := 0
	for {
		var ev treezor.Event
		if !o.ch.webhook.ReceiveAsync(&ev) {
			break
		}
		o.onWebhook(ev)
		n++
	}
	for {
		var req RestartRequest
		if !o.ch.restart.ReceiveAsync(&req) {
			break
		}
		o.onRestart(req)
		n++
	}
	for {
		var d ComplianceDecision
		if !o.ch.compliance.ReceiveAsync(&d) {
			break
		}
		o.onComplianceDecision(d)
		n++
	}
	for {
		var req CancelRequest
		if !o.ch.cancel.ReceiveAsync(&req) {
			break
		}
		o.onCancel(req)
		n++
	}
	return n
}

// onRestart starts again after the onboarding system fixed the user's data, or when the
// user wants another try. It only acts where the onboarding waits for one:
// USER_DATA_INCOMPLETE (same attempt: no identification was created), WAITING_FOR_USER
// and RETRY_SCHEDULED (the next attempt, at once).
func (o *onboarding) onRestart(req RestartRequest) {
	switch o.st.State {
	case StateUserDataIncomplete:
		o.recordSignal(SignalRestart, "restart")
		o.beginInitiation("restart after the user data was completed (same attempt)")
	case StateWaitingForUser, StateRetryScheduled:
		o.recordSignal(SignalRestart, "restart")
		o.newAttempt("restart: new attempt")
	default:
		o.recordSignal(SignalRestart, "restart ignored in state "+string(o.st.State))
	}
}

// onCancel ends the onboarding from any non-terminal state.
func (o *onboarding) onCancel(req CancelRequest) {
	if o.st.State.Terminal() {
		o.recordSignal(SignalCancel, "cancel ignored: the onboarding has ended")
		return
	}
	o.recordSignal(SignalCancel, "cancel")
	note := "cancelled by an operator"
	if r := strings.TrimSpace(req.Reason); r != "" {
		note += ": " + r
	}
	o.finish(StateCancelled, note)
}

// onComplianceDecision applies compliance's verdict on a fraud suspicion. "clear" grants
// a new attempt that does not count against MaxAttempts; "reject" ends the onboarding.
func (o *onboarding) onComplianceDecision(d ComplianceDecision) {
	if o.st.State != StateComplianceReview {
		o.recordSignal(SignalComplianceDecision, "decision ignored: not under compliance review")
		return
	}
	switch strings.ToLower(strings.TrimSpace(d.Decision)) {
	case DecisionClear:
		o.recordSignal(SignalComplianceDecision, DecisionClear)
		o.st.ComplianceNote, o.st.Escalated = d.Note, false
		o.st.BonusAttempts++
		o.newAttempt("compliance cleared the suspicion: new attempt")
	case DecisionReject:
		o.recordSignal(SignalComplianceDecision, DecisionReject)
		o.st.ComplianceNote, o.st.Escalated = d.Note, false
		o.finish(StateRejected, "rejected by compliance")
	default:
		o.recordSignal(SignalComplianceDecision, "unknown decision: ignored")
	}
}
