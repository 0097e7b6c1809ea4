package webhookbridge

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/converter"
	"go.uber.org/zap"

	"github.com/qesflow/qesflow/treezor"
	"github.com/qesflow/qesflow/workflows"
)

// route finds the workflow the event belongs to and signals it. The user id in the payload
// decides; a QES event without one is routed by its identification id through visibility.
// The Temporal calls outlive a client that hangs up (the signal is either sent or not), but
// never SignalTimeout.
func (b *bridge) route(reqCtx context.Context, ev treezor.Event, d *delivery) outcome {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(reqCtx), b.cfg.SignalTimeout)
	defer cancel()
	switch {
	case isPayinEvent(ev.Type) && ev.WalletID != "" && validRoutingID(ev.WalletID, maxUserIDLen):
		// Treezor documents a payin's userId as unreliable: the wallet decides, the user id
		// is the fallback for an onboarding that does not know its wallet.
		if out, ok := b.routeByWallet(ctx, ev, d, 1); ok {
			return out
		}
		if ev.UserID != "" && validRoutingID(ev.UserID, maxUserIDLen) {
			d.userID = ev.UserID
			if out := b.signal(ctx, workflows.WorkflowID(ev.UserID), ev, d); out.label != OutcomeNoOnboarding {
				return out
			}
			d.userID, d.workflowID = "", ""
		}
		// The onboarding may have published the wallet a moment ago: visibility lags.
		if out, ok := b.routeByWallet(ctx, ev, d, b.cfg.LookupAttempts); ok {
			return out
		}
		return b.unknownWallet(ctx, ev, d)
	case ev.UserID != "":
		if !validRoutingID(ev.UserID, maxUserIDLen) {
			return outcome{http.StatusOK, OutcomeUnroutable, "user id cannot name an onboarding"}
		}
		d.userID = ev.UserID
		return b.signal(ctx, workflows.WorkflowID(ev.UserID), ev, d)
	case isQESEvent(ev.Type) && ev.IdentificationID != "":
		if !validRoutingID(ev.IdentificationID, maxIdentificationIDLen) {
			return outcome{http.StatusOK, OutcomeUnroutable, "identification id cannot name an onboarding"}
		}
		return b.routeByIdentification(ctx, ev, d)
	default:
		// Signed and genuine, but naming no user: a 4xx would mean nothing to Treezor.
		return outcome{http.StatusOK, OutcomeUnroutable, "signed payload names no user to route to"}
	}
}

func (b *bridge) routeByIdentification(ctx context.Context, ev treezor.Event, d *delivery) outcome {
	wid, userID, err := b.lookupByIdentification(ctx, ev.IdentificationID)
	if err != nil {
		return b.unavailable(err, d)
	}
	if wid == "" {
		if b.withinGrace(ev, b.cfg.IdentificationGrace) {
			// Visibility may not show the onboarding that started this identification yet:
			// Treezor redelivers rather than the event being acknowledged and lost.
			return outcome{http.StatusServiceUnavailable, OutcomeIdentificationPending, "no running onboarding shows this identification yet, retry later"}
		}
		return outcome{http.StatusOK, OutcomeNoOnboarding, "no running onboarding has this identification"}
	}
	if userID != "" && validRoutingID(userID, maxUserIDLen) {
		ev.UserID, d.userID = userID, userID
	}
	return b.signal(ctx, wid, ev, d)
}

func isPayinEvent(typ string) bool {
	return typ == treezor.EventPayinCreate || typ == treezor.EventPayinUpdate
}

// routeByWallet signals the running onboarding whose TreezorWalletId, or one of whose
// TreezorWalletIds, is the payin's wallet;
// ok is false when none has it after attempts lookups LookupInterval apart. A lookup that
// failed (visibility unavailable) answers 503 instead: "no onboarding has this wallet" would
// be a guess, and Treezor does not redeliver a 2xx.
func (b *bridge) routeByWallet(ctx context.Context, ev treezor.Event, d *delivery, attempts int) (outcome, bool) {
	query := fmt.Sprintf("(%s = '%s' OR %s = '%s') AND ExecutionStatus = 'Running'",
		workflows.SATreezorWalletID, ev.WalletID, workflows.SATreezorWalletIDs, ev.WalletID)
	var resp *workflowservice.ListWorkflowExecutionsResponse
	for attempt := 1; ; attempt++ {
		var err error
		resp, err = b.cfg.Temporal.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Namespace: b.cfg.Namespace, PageSize: 1, Query: query,
		})
		if err != nil {
			return b.unavailable(fmt.Errorf("find onboarding by wallet: %w", err), d), true
		}
		if len(resp.GetExecutions()) > 0 {
			break
		}
		if attempt >= attempts {
			return outcome{}, false
		}
		select {
		case <-ctx.Done():
			return b.unavailable(fmt.Errorf("find onboarding by wallet: %w", ctx.Err()), d), true
		case <-time.After(b.cfg.LookupInterval):
		}
	}
	exec := resp.GetExecutions()[0]
	if userID := userIDAttribute(exec.GetSearchAttributes().GetIndexedFields()); userID != "" {
		d.userID = userID
	}
	return b.signal(ctx, exec.GetExecution().GetWorkflowId(), ev, d), true
}

// unknownWallet answers a payin whose wallet no running onboarding shows. An onboarding
// that has ended with that wallet takes it under its workflow id (a run started since may
// wait for it; otherwise "no-onboarding" at once). A validated SEPA credit transfer, the one
// payin a SEPA step needs, is answered 503 within PayinGrace: its onboarding may be
// publishing the wallet right now, having read the transfer still pending a moment before,
// and a 2xx would lose it. Any other payin counts for no step: "no-onboarding".
func (b *bridge) unknownWallet(ctx context.Context, ev treezor.Event, d *delivery) outcome {
	resp, err := b.cfg.Temporal.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
		Namespace: b.cfg.Namespace, PageSize: 1,
		Query: fmt.Sprintf("%s = '%s' OR %s = '%s'",
			workflows.SATreezorWalletID, ev.WalletID, workflows.SATreezorWalletIDs, ev.WalletID),
	})
	if err != nil {
		return b.unavailable(fmt.Errorf("find ended onboarding by wallet: %w", err), d)
	}
	if execs := resp.GetExecutions(); len(execs) > 0 {
		if userID := userIDAttribute(execs[0].GetSearchAttributes().GetIndexedFields()); userID != "" {
			d.userID = userID
		}
		return b.signal(ctx, execs[0].GetExecution().GetWorkflowId(), ev, d)
	}
	if sepaValidated(ev) && b.withinGrace(ev, b.cfg.PayinGrace) {
		return outcome{http.StatusServiceUnavailable, OutcomeWalletPending, "no running onboarding shows this wallet yet, retry later"}
	}
	return outcome{http.StatusOK, OutcomeNoOnboarding, "no running onboarding has this wallet"}
}

// sepaValidated reports whether a payin is a validated SEPA credit transfer (paymentMethodId
// 20, or 27 for SCT Inst, status VALIDATED): the payin a SEPA step counts.
func sepaValidated(ev treezor.Event) bool {
	return (ev.PaymentMethodID == workflows.PaymentMethodSCT || ev.PaymentMethodID == workflows.PaymentMethodSCTInst) &&
		strings.EqualFold(strings.TrimSpace(ev.PayinStatus), "VALIDATED")
}

// signal sends the event to the current run of workflowID. A workflow that does not exist or
// already ended answers "no-onboarding": webhooks never start workflows.
func (b *bridge) signal(ctx context.Context, workflowID string, ev treezor.Event, d *delivery) outcome {
	d.workflowID = workflowID
	err := b.cfg.Temporal.SignalWorkflow(ctx, workflowID, "", workflows.SignalWebhook, ev)
	var notFound *serviceerror.NotFound
	switch {
	case err == nil:
		return outcome{http.StatusOK, OutcomeSignalled, ""}
	case errors.As(err, &notFound):
		return outcome{http.StatusOK, OutcomeNoOnboarding, "no running onboarding for this user"}
	default:
		return b.unavailable(err, d)
	}
}

// unavailable answers 503 + Retry-After for any failure to reach Temporal (unavailable,
// deadline exceeded, resource exhausted, and anything unexpected): Treezor redelivers, and
// nothing is lost.
func (b *bridge) unavailable(err error, d *delivery) outcome {
	var unavailable *serviceerror.Unavailable
	var exhausted *serviceerror.ResourceExhausted
	var deadline *serviceerror.DeadlineExceeded
	expected := errors.As(err, &unavailable) || errors.As(err, &exhausted) || errors.As(err, &deadline) ||
		errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)
	level := b.log.Warn
	if !expected {
		level = b.log.Error
	}
	level("temporal call failed", zap.Error(err), zap.String("webhookId", d.webhookID),
		zap.String("workflowId", d.workflowID), zap.String("requestId", d.requestID))
	return outcome{http.StatusServiceUnavailable, OutcomeTemporalUnavailable, "temporal is unavailable, retry later"}
}

// lookupByIdentification finds the running onboarding whose QESIdentificationId search
// attribute is id, or whose QESIdentificationIds (every identification of the run) has it.
// Visibility lags behind the workflow by a moment, so an empty answer is retried
// LookupAttempts times, then an onboarding that has ended is looked for, before giving up
// ("", "", nil).
func (b *bridge) lookupByIdentification(ctx context.Context, id string) (workflowID, userID string, err error) {
	query := fmt.Sprintf("(%s = '%s' OR %s = '%s') AND ExecutionStatus = 'Running'",
		workflows.SAQESIdentificationID, id, workflows.SAQESIdentificationIDs, id)
	for attempt := 1; ; attempt++ {
		resp, err := b.cfg.Temporal.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Namespace: b.cfg.Namespace,
			PageSize:  2,
			Query:     query,
		})
		if err != nil {
			return "", "", fmt.Errorf("find onboarding by identification %s: %w", id, err)
		}
		if execs := resp.GetExecutions(); len(execs) > 0 {
			if len(execs) > 1 {
				b.log.Warn("several running onboardings share one identification id; signalling the first",
					zap.String("identificationId", id))
			}
			return execs[0].GetExecution().GetWorkflowId(), userIDAttribute(execs[0].GetSearchAttributes().GetIndexedFields()), nil
		}
		if attempt >= b.cfg.LookupAttempts {
			return b.lookupEndedByIdentification(ctx, id)
		}
		select {
		case <-ctx.Done():
			return "", "", fmt.Errorf("find onboarding by identification %s: %w", id, ctx.Err())
		case <-time.After(b.cfg.LookupInterval):
		}
	}
}

// lookupEndedByIdentification finds an onboarding of any status that had identification id:
// a late webhook for an onboarding that has ended goes to that workflow id, whose current run
// records it (or which answers that it ended), instead of waiting out the grace.
func (b *bridge) lookupEndedByIdentification(ctx context.Context, id string) (workflowID, userID string, err error) {
	resp, err := b.cfg.Temporal.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
		Namespace: b.cfg.Namespace,
		PageSize:  1,
		Query: fmt.Sprintf("%s = '%s' OR %s = '%s'",
			workflows.SAQESIdentificationID, id, workflows.SAQESIdentificationIDs, id),
	})
	if err != nil {
		return "", "", fmt.Errorf("find ended onboarding by identification %s: %w", id, err)
	}
	if execs := resp.GetExecutions(); len(execs) > 0 {
		return execs[0].GetExecution().GetWorkflowId(), userIDAttribute(execs[0].GetSearchAttributes().GetIndexedFields()), nil
	}
	return "", "", nil
}

// userIDAttribute decodes the TreezorUserId search attribute, or "".
func userIDAttribute(fields map[string]*commonpb.Payload) string {
	p, ok := fields[workflows.SATreezorUserID]
	if !ok {
		return ""
	}
	var id string
	if err := converter.GetDefaultDataConverter().FromPayload(p, &id); err != nil {
		return ""
	}
	return id
}

func isQESEvent(t string) bool { return strings.HasPrefix(t, "qes.") }

// withinGrace reports whether an event that visibility cannot route yet may still belong to
// a running onboarding: its webhook is younger than grace (or carries no creation time).
// Past the grace, every write visibility had to catch up with is long done, and the answer
// is "no onboarding".
func (b *bridge) withinGrace(ev treezor.Event, grace time.Duration) bool {
	if ev.CreatedAt.IsZero() {
		return true
	}
	return b.cfg.Now().Sub(ev.CreatedAt) < grace
}
