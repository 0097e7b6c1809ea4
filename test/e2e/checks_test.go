package e2e

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"

	"github.com/qesflow/qesflow/activities"
	"github.com/qesflow/qesflow/treezorsim"
	"github.com/qesflow/qesflow/webhookbridge"
	"github.com/qesflow/qesflow/workflows"
)

// verdict is what the checks found for one flow.
type verdict struct {
	lost  []string // a flow that did not end, or a webhook that got a 2xx and is not in history
	wrong []string // an outcome other than the script's

	duplicates int // timeline entries of duplicate webhooks, absorbed by the workflow
	afterEnd   int // webhooks recorded after the terminal state, or answered no-onboarding after the close
	stale      int // webhooks of an older identification, arrived after the next attempt began
	outOfOrder int // webhooks of a step the identification had already passed
	held       int // QES webhooks that raced InitiateQES's answer and were held
	// unseenSignals counts timeline entries beyond the bridge's "signalled" answers: the
	// signal went through although the bridge answered 503 (its Temporal call timed out).
	unseenSignals int
	// payinsNotNeeded counts payin webhooks no step could use (see payinMatters) that were
	// acknowledged "no onboarding" while the workflow ran; sepaFromWallet counts SEPA
	// transfers acknowledged so whose payin the workflow read from the wallet instead.
	payinsNotNeeded, sepaFromWallet int
	// sepaNoOnboarding counts SEPA transfers that reached the workflow by one delivery of
	// their webhook although another was acknowledged "no onboarding" while it ran: without
	// that other delivery, only a later read of the wallet's payins would have found them.
	// The bridge answers such a transfer 503 (wallet-pending) within its payin grace
	// (chaosPayinGrace), so this is expected to stay 0 but for a delivery past the grace;
	// a transfer sent long before its onboarding published the wallet is acknowledged past
	// the grace and read from the wallet (sepaFromWallet).
	sepaNoOnboarding int
	// notes describe what was counted but not a failure, for the report (the bridge's
	// answers to such a SEPA transfer, with their times).
	notes    []string
	timeline []workflows.TimelineEntry // the SEPA step's entries of a flow with notes
}

// observed is everything the checks compare with a flow's script, read once every
// webhook was delivered.
type observed struct {
	status          workflows.Status                // the API's details
	execution       enumspb.WorkflowExecutionStatus // Temporal's view of the run
	closedAt        time.Time                       // zero while the run is open
	identifications int                             // created at Treezor (accessTag replays excluded)
	kycRequests     int                             // made at Treezor (accessTag replays excluded)
	deliveries      []treezorsim.Delivery           // the simulator's finished deliveries
	wallets         []string                        // the user's wallets at Treezor
	answers         func(webhookID string) []BridgeAnswer
}

// judge compares what was observed of a flow with its script.
func judge(s script, o observed) verdict {
	var v verdict
	// A FAILED onboarding fails its execution; every business outcome completes it.
	want := enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED
	if s.expect == workflows.StateFailed {
		want = enumspb.WORKFLOW_EXECUTION_STATUS_FAILED
	}
	if o.execution != want {
		v.lost = append(v.lost, fmt.Sprintf("workflow %s in state %s", o.execution, o.status.State))
	}
	v.wrong = outcomeProblems(s, o)
	judgeWebhooks(o, &v)
	if len(v.notes) > 0 {
		for _, e := range o.status.Timeline {
			if e.State == workflows.StateAwaitingSEPA || strings.HasPrefix(e.EventType, "payin.") {
				v.timeline = append(v.timeline, e)
			}
		}
	}
	return v
}

// outcomeProblems compares the terminal state, the identifications and the KYC review
// requests with the script.
func outcomeProblems(s script, o observed) []string {
	var wrong []string
	st := o.status
	if st.State != s.expect {
		wrong = append(wrong, fmt.Sprintf("state %s, want %s", st.State, s.expect))
	}
	if o.identifications != s.identifications() || st.Attempt != o.identifications {
		wrong = append(wrong, fmt.Sprintf("%d identifications at Treezor, workflow attempt %d, script %d",
			o.identifications, st.Attempt, s.identifications()))
	}
	if o.kycRequests != s.kycRequests() {
		wrong = append(wrong, fmt.Sprintf("%d KYC review requests, want %d", o.kycRequests, s.kycRequests()))
	}
	if st.TimelineDropped > 0 {
		wrong = append(wrong, fmt.Sprintf("timeline dropped %d entries: the webhook check is incomplete", st.TimelineDropped))
	}
	return wrong
}

// judgeWebhooks verifies that no webhook was lost: every delivery ended with a 2xx, none was
// answered 4xx, every signal the bridge acknowledged is in the timeline, and a 2xx that
// signalled nothing came after the workflow closed, or was a payin the flow did not need
// (payinMatters).
func judgeWebhooks(o observed, v *verdict) {
	inTimeline := map[string]int{}
	fromWallet := map[string]bool{} // payin ids the workflow took from the wallet's payins
	for _, e := range o.status.Timeline {
		if e.Kind == workflows.KindActivity && e.EventType == activities.ListWalletPayinsName {
			for _, d := range o.deliveries {
				if d.Payin != nil && strings.Contains(e.Note, " "+d.Payin.PayinID+" ") {
					fromWallet[d.Payin.PayinID] = true
				}
			}
		}
		if e.Kind != workflows.KindWebhook || e.WebhookID == "" {
			continue
		}
		inTimeline[e.WebhookID]++
		switch {
		case strings.HasPrefix(e.Note, workflows.NoteDuplicate):
			v.duplicates++
		case strings.HasPrefix(e.Note, workflows.NoteEnded):
			v.afterEnd++
		case strings.HasPrefix(e.Note, workflows.NoteStale):
			v.stale++
		case strings.HasPrefix(e.Note, workflows.NoteOutOfOrder):
			v.outOfOrder++
		case strings.HasPrefix(e.Note, workflows.NoteBuffered):
			v.held++
		}
	}
	checked := map[string]bool{}
	for _, d := range o.deliveries {
		if !d.OK {
			v.lost = append(v.lost, fmt.Sprintf("webhook %s (%s) given up after %d attempts, last status %d",
				d.WebhookID, d.Webhook, d.Attempts, d.StatusCode))
			continue
		}
		if checked[d.WebhookID] {
			continue
		}
		checked[d.WebhookID] = true
		n := needWorkflow
		switch {
		case d.Payin == nil:
		case !payinMatters(*d.Payin, o.wallets):
			n = needNothing
		case fromWallet[d.Payin.PayinID]:
			n = needReadFromWallet
		}
		judgeWebhook(d, inTimeline[d.WebhookID], o.answers(d.WebhookID), o.closedAt, n, v)
	}
}

// need is what a delivered webhook had to achieve.
type need int

const (
	// needWorkflow: signalled to the running workflow; "no onboarding" only after it closed.
	needWorkflow need = iota
	// needNothing: a payin no step can use; it may be acknowledged "no onboarding".
	needNothing
	// needReadFromWallet: a SEPA transfer the workflow read from the wallet's payins on
	// entering AWAITING_SEPA; its webhook, had it come before the onboarding published the
	// wallet and past the bridge's payin grace, may have been acknowledged "no onboarding".
	needReadFromWallet
)

// payinMatters is the oracle's rule for payins. Only a received SEPA credit transfer
// (paymentMethodId 20, or 27 for SCT Inst) with status VALIDATED into one of the user's
// wallets can satisfy the SEPA step, so only such a payin must reach the workflow while the
// flow can still use it: by its webhook (one of its deliveries signalled), or by the
// wallet's payins the workflow reads on entering AWAITING_SEPA (its timeline names the
// payin). Treezor's payin userId is a placeholder, so the bridge routes payins by wallet
// alone; a SEPA transfer whose wallet no onboarding shows yet (it came before the onboarding
// published its wallets, which it does on entering AWAITING_SEPA) is answered 503
// wallet-pending within the bridge's payin grace, so Treezor redelivers it until it is
// signalled. Any other payin (a card top-up, a transfer still PENDING, a payin into a wallet
// that is not the user's) may be acknowledged "no onboarding" without a workflow. Whatever
// the payin, a genuine event is never answered 4xx (judgeWebhook).
func payinMatters(p treezorsim.SentPayin, wallets []string) bool {
	return p.SEPACreditTransfer() && strings.EqualFold(p.Status, "VALIDATED") && slices.Contains(wallets, p.WalletID)
}

// judgeWebhook verifies one webhook delivered with a 2xx, given how many times it is in
// the timeline, the bridge's answers to its deliveries and what it had to achieve.
func judgeWebhook(d treezorsim.Delivery, recorded int, answers []BridgeAnswer, closedAt time.Time, n need, v *verdict) {
	var signalled, late, early, refused int
	for _, a := range answers {
		if a.Status/100 == 4 {
			refused++
		}
		switch a.Outcome {
		case webhookbridge.OutcomeSignalled:
			signalled++
		case webhookbridge.OutcomeNoOnboarding:
			if !closedAt.IsZero() && !a.At.Before(closedAt) {
				late++
			} else {
				early++
			}
		}
	}
	switch {
	case refused > 0:
		v.lost = append(v.lost, fmt.Sprintf("webhook %s (%s) answered 4xx %d times: a genuine event Treezor gives up on", d.WebhookID, d.Webhook, refused))
	case recorded < signalled:
		v.lost = append(v.lost, fmt.Sprintf("webhook %s (%s) signalled %d times, %d in the timeline", d.WebhookID, d.Webhook, signalled, recorded))
	case early > 0 && n == needWorkflow && (d.Payin == nil || signalled == 0):
		v.lost = append(v.lost, fmt.Sprintf("webhook %s (%s) answered no-onboarding %d times before the workflow closed", d.WebhookID, d.Webhook, early))
	case early > 0 && n == needNothing:
		v.payinsNotNeeded++
	case early > 0 && n == needWorkflow:
		// A SEPA transfer one delivery of which was acknowledged "no onboarding" while
		// another reached the workflow: it reached it, as payinMatters asks (counted: within
		// the bridge's payin grace it should have been answered 503 instead).
		v.sepaNoOnboarding++
		var b strings.Builder
		for _, a := range answers {
			fmt.Fprintf(&b, " %s %d %s;", a.At.Format("15:04:05.000"), a.Status, a.Outcome)
		}
		v.notes = append(v.notes, fmt.Sprintf("SEPA transfer %s (%s %s) answered:%s", d.Payin.PayinID, d.WebhookID, d.Webhook, b.String()))
	case early > 0 && n == needReadFromWallet:
		v.sepaFromWallet++
	case recorded == 0 && late == 0:
		v.lost = append(v.lost, fmt.Sprintf("webhook %s (%s) answered 2xx but neither signalled nor late", d.WebhookID, d.Webhook))
	}
	v.afterEnd += late
	v.unseenSignals += max(recorded-signalled, 0)
}

// checker reads what the checks need from the stack and the API.
type checker struct {
	stack *chaosStack
	api   *apiClient
}

// check verifies one flow after every webhook was delivered.
func (c *checker) check(ctx context.Context, f *flow) verdict {
	o, err := c.observe(ctx, f.userID)
	var v verdict
	if err != nil {
		v.lost = append(v.lost, err.Error())
	} else {
		v = judge(f.script, o)
	}
	if f.err != nil {
		v.lost = append([]string{"driver: " + f.err.Error()}, v.lost...)
	}
	return v
}

func (c *checker) observe(ctx context.Context, userID string) (observed, error) {
	o := observed{
		identifications: len(c.stack.sim.Identifications(userID)),
		kycRequests:     c.stack.sim.Stats().KYCReviewRequests[userID],
		deliveries:      c.stack.sim.Deliveries(userID),
		wallets:         c.stack.sim.Wallets(userID),
		answers:         c.stack.flaky.Answers,
	}
	var err error
	if o.status, err = c.api.details(ctx, userID); err != nil {
		return o, fmt.Errorf("read details: %w", err)
	}
	err = poll(ctx, apiPoll, func() (bool, error) {
		resp, err := c.stack.client.DescribeWorkflowExecution(ctx, workflows.WorkflowID(userID), "")
		if err != nil {
			return false, nil // the server may be busy; ctx bounds the retries
		}
		info := resp.GetWorkflowExecutionInfo()
		o.execution = info.GetStatus()
		if info.GetCloseTime() != nil {
			o.closedAt = info.GetCloseTime().AsTime()
		}
		return true, nil
	})
	if err != nil {
		return o, fmt.Errorf("describe the workflow of user %s: %w", userID, err)
	}
	return o, nil
}
