package e2e

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"

	"github.com/qesflow/qesflow/activities"
	"github.com/qesflow/qesflow/treezorsim"
	"github.com/qesflow/qesflow/webhookbridge"
	"github.com/qesflow/qesflow/workflows"
)

// TestJudge shows that the chaos checks catch each kind of failure: a check that cannot
// fail would make the chaos suite prove nothing.
func TestJudge(t *testing.T) {
	closed := time.Date(2026, 1, 2, 10, 0, 0, 0, time.UTC)
	success := script{kind: "success", attempts: []attemptPlan{{success: true}}, kyc: treezorsim.KYCValidate,
		expect: workflows.StateCompletedValidated}
	signalled := func(at time.Time) BridgeAnswer {
		return BridgeAnswer{Status: 200, Outcome: webhookbridge.OutcomeSignalled, At: at}
	}
	noOnboarding := func(at time.Time) BridgeAnswer {
		return BridgeAnswer{Status: 200, Outcome: webhookbridge.OutcomeNoOnboarding, At: at}
	}
	webhook := func(id, note string) workflows.TimelineEntry {
		return workflows.TimelineEntry{Kind: workflows.KindWebhook, WebhookID: id, Note: note}
	}
	ok := func(id string) treezorsim.Delivery {
		return treezorsim.Delivery{WebhookID: id, Webhook: "qes.finalized", OK: true, Attempts: 1, StatusCode: 200}
	}
	// base is a clean flow: w1 delivered twice (one duplicate), w2 once, w3 after the close.
	base := func() observed {
		answers := map[string][]BridgeAnswer{
			"w1": {signalled(closed.Add(-time.Minute)), signalled(closed.Add(-time.Second))},
			"w2": {signalled(closed.Add(-time.Second))},
			"w3": {noOnboarding(closed.Add(time.Second))},
		}
		return observed{
			status: workflows.Status{State: workflows.StateCompletedValidated, Attempt: 1, Timeline: []workflows.TimelineEntry{
				webhook("w1", workflows.NoteApplied),
				{Kind: workflows.KindState, State: workflows.StateSuccess},
				webhook("w1", workflows.NoteDuplicate),
				webhook("w2", workflows.NoteEnded),
			}},
			execution:       enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED,
			closedAt:        closed,
			identifications: 1,
			kycRequests:     1,
			deliveries:      []treezorsim.Delivery{ok("w1"), ok("w1"), ok("w2"), ok("w3")},
			answers:         func(id string) []BridgeAnswer { return answers[id] },
		}
	}

	tests := []struct {
		name      string
		change    func(o *observed)
		wantLost  string
		wantWrong string
	}{
		{name: "clean flow"},
		{name: "still running", change: func(o *observed) {
			o.execution, o.closedAt = enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, time.Time{}
		}, wantLost: "workflow Running"},
		{name: "a validated onboarding whose execution failed", change: func(o *observed) {
			o.execution = enumspb.WORKFLOW_EXECUTION_STATUS_FAILED
		}, wantLost: "workflow Failed"},
		{name: "other terminal state", change: func(o *observed) { o.status.State = workflows.StateCompletedRefused },
			wantWrong: "state COMPLETED_REFUSED, want COMPLETED_VALIDATED"},
		{name: "second identification", change: func(o *observed) { o.identifications = 2 },
			wantWrong: "2 identifications at Treezor, workflow attempt 1, script 1"},
		{name: "attempt count disagrees", change: func(o *observed) { o.status.Attempt = 2 },
			wantWrong: "1 identifications at Treezor, workflow attempt 2"},
		{name: "second KYC review request", change: func(o *observed) { o.kycRequests = 2 },
			wantWrong: "2 KYC review requests, want 1"},
		{name: "timeline truncated", change: func(o *observed) { o.status.TimelineDropped = 3 },
			wantWrong: "timeline dropped 3 entries"},
		{name: "delivery given up", change: func(o *observed) {
			o.deliveries = append(o.deliveries, treezorsim.Delivery{WebhookID: "w4", Webhook: "qes.created", Attempts: 30, StatusCode: 503})
		}, wantLost: "webhook w4 (qes.created) given up after 30 attempts"},
		{name: "signalled but missing from the timeline", change: func(o *observed) {
			o.status.Timeline = o.status.Timeline[:3] // w2's entry is gone
		}, wantLost: "webhook w2 (qes.finalized) signalled 1 times, 0 in the timeline"},
		{name: "fewer entries than signals", change: func(o *observed) {
			o.status.Timeline = append(o.status.Timeline[:2], o.status.Timeline[3]) // one w1 entry is gone
		}, wantLost: "webhook w1 (qes.finalized) signalled 2 times, 1 in the timeline"},
		{name: "no-onboarding while the workflow ran", change: func(o *observed) {
			o.answers = func(string) []BridgeAnswer { return []BridgeAnswer{noOnboarding(closed.Add(-time.Second))} }
			o.status.Timeline = nil
		}, wantLost: "answered no-onboarding 1 times before the workflow closed"},
		{name: "2xx the bridge never gave", change: func(o *observed) {
			o.answers = func(string) []BridgeAnswer { return nil }
			o.status.Timeline = nil
		}, wantLost: "answered 2xx but neither signalled nor late"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := base()
			if tc.change != nil {
				tc.change(&o)
			}
			v := judge(success, o)
			if tc.wantLost == "" {
				require.Empty(t, v.lost)
			} else {
				require.NotEmpty(t, v.lost)
				require.Contains(t, v.lost[0], tc.wantLost)
			}
			if tc.wantWrong == "" {
				require.Empty(t, v.wrong)
			} else {
				require.Len(t, v.wrong, 1)
				require.Contains(t, v.wrong[0], tc.wantWrong)
			}
		})
	}

	t.Run("counts", func(t *testing.T) {
		o := base()
		o.status.Timeline = append(o.status.Timeline, webhook("w2", workflows.NoteDuplicate)) // signalled once, recorded twice
		v := judge(success, o)
		require.Empty(t, v.lost)
		require.Equal(t, 2, v.duplicates)
		require.Equal(t, 2, v.afterEnd, "w2 recorded after the end, w3 answered no-onboarding after the close")
		require.Equal(t, 1, v.unseenSignals)
	})
}

// TestJudgePayins shows the oracle's payin rule (payinMatters): only a VALIDATED SEPA
// credit transfer into one of the user's wallets must reach the running workflow, by its
// webhook or by the wallet's payins the workflow read; any other payin may be acknowledged
// "no onboarding"; no genuine payin may be answered 4xx.
func TestJudgePayins(t *testing.T) {
	closed := time.Date(2026, 1, 2, 10, 0, 0, 0, time.UTC)
	running := closed.Add(-time.Minute)
	success := script{kind: "success-de-sepa", country: "DE", attempts: []attemptPlan{{success: true}}, kyc: treezorsim.KYCValidate,
		expect: workflows.StateCompletedValidated}
	answer := func(status int, outcome string) BridgeAnswer {
		return BridgeAnswer{Status: status, Outcome: outcome, At: running}
	}
	noOnboarding := answer(200, webhookbridge.OutcomeNoOnboarding)
	signalled := answer(200, webhookbridge.OutcomeSignalled)
	sepa := treezorsim.SentPayin{PayinID: "501", WalletID: "7002", PaymentMethodID: "20", Status: "VALIDATED"}
	readFromWallet := workflows.TimelineEntry{Kind: workflows.KindActivity, EventType: activities.ListWalletPayinsName,
		State: workflows.StateAwaitingSEPA, Note: "validated SEPA transfer 501 already received"}
	listedNothing := readFromWallet
	listedNothing.Note = "no validated SEPA transfer received yet"

	tests := []struct {
		name           string
		payin          func(p *treezorsim.SentPayin)
		answers        []BridgeAnswer
		timeline       []workflows.TimelineEntry
		wantLost       string
		wantNotNeeded  int
		wantFromWallet int
	}{
		{name: "SEPA transfer signalled", answers: []BridgeAnswer{signalled},
			timeline: []workflows.TimelineEntry{{Kind: workflows.KindWebhook, WebhookID: "p1"}}},
		{name: "SEPA transfer answered no-onboarding while the workflow ran", answers: []BridgeAnswer{noOnboarding},
			timeline: []workflows.TimelineEntry{listedNothing}, wantLost: "answered no-onboarding 1 times before the workflow closed"},
		{name: "SEPA transfer answered no-onboarding once, signalled by another delivery",
			answers: []BridgeAnswer{noOnboarding, signalled}, timeline: []workflows.TimelineEntry{{Kind: workflows.KindWebhook, WebhookID: "p1"}}},
		{name: "SEPA transfer signalled but missing from the timeline", answers: []BridgeAnswer{noOnboarding, signalled},
			wantLost: "signalled 1 times, 0 in the timeline"},
		{name: "SEPA Instant transfer answered no-onboarding", payin: func(p *treezorsim.SentPayin) { p.PaymentMethodID = "27" },
			answers: []BridgeAnswer{noOnboarding}, wantLost: "answered no-onboarding"},
		{name: "SEPA transfer read from the wallet instead", answers: []BridgeAnswer{noOnboarding},
			timeline: []workflows.TimelineEntry{readFromWallet}, wantFromWallet: 1},
		{name: "another payin read from the wallet does not cover this one", payin: func(p *treezorsim.SentPayin) { p.PayinID = "50" },
			answers: []BridgeAnswer{noOnboarding}, timeline: []workflows.TimelineEntry{readFromWallet}, wantLost: "answered no-onboarding"},
		{name: "card top-up", payin: func(p *treezorsim.SentPayin) { p.PaymentMethodID = "25" },
			answers: []BridgeAnswer{noOnboarding}, wantNotNeeded: 1},
		{name: "PENDING transfer", payin: func(p *treezorsim.SentPayin) { p.Status = "PENDING" },
			answers: []BridgeAnswer{noOnboarding}, wantNotNeeded: 1},
		{name: "transfer into a wallet that is not the user's", payin: func(p *treezorsim.SentPayin) { p.WalletID = "9999" },
			answers: []BridgeAnswer{noOnboarding}, wantNotNeeded: 1},
		{name: "card top-up answered 4xx", payin: func(p *treezorsim.SentPayin) { p.PaymentMethodID = "25" },
			answers: []BridgeAnswer{answer(400, webhookbridge.OutcomeMalformed), noOnboarding}, wantLost: "answered 4xx 1 times"},
		{name: "card top-up answered 2xx the bridge never gave", payin: func(p *treezorsim.SentPayin) { p.PaymentMethodID = "25" },
			wantLost: "answered 2xx but neither signalled nor late"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := sepa
			if tc.payin != nil {
				tc.payin(&p)
			}
			o := observed{
				status: workflows.Status{State: workflows.StateCompletedValidated, Attempt: 1,
					Timeline: append([]workflows.TimelineEntry{{Kind: workflows.KindState, State: workflows.StateAwaitingSEPA}}, tc.timeline...)},
				execution:       enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED,
				closedAt:        closed,
				identifications: 1,
				kycRequests:     1,
				wallets:         []string{"7001", "7002"},
				deliveries: []treezorsim.Delivery{{WebhookID: "p1", Webhook: "payin.update", ObjectID: p.PayinID, OK: true, Attempts: 1,
					StatusCode: 200, Payin: &p}},
				answers: func(string) []BridgeAnswer { return tc.answers },
			}
			v := judge(success, o)
			require.Empty(t, v.wrong)
			if tc.wantLost == "" {
				require.Empty(t, v.lost)
			} else {
				require.Len(t, v.lost, 1)
				require.Contains(t, v.lost[0], tc.wantLost)
			}
			require.Equal(t, tc.wantNotNeeded, v.payinsNotNeeded, "payins not needed")
			require.Equal(t, tc.wantFromWallet, v.sepaFromWallet, "SEPA transfers read from the wallet")
		})
	}
}

// TestScriptsCoverTheCatalog checks the generated scripts: every kind appears, the codes
// come from the right part of the reason catalog, and the expectations follow the story.
func TestScriptsCoverTheCatalog(t *testing.T) {
	b := newScriptBuilder(newRNG(1))
	scripts := b.scripts(10 * len(scriptKinds))
	kinds := map[string]int{}
	for _, s := range scripts {
		kinds[s.kind]++
		require.NotEmpty(t, s.attempts, s.kind)
		require.LessOrEqual(t, len(s.attempts), chaosMaxAttempts, s.kind)
		last := s.attempts[len(s.attempts)-1]
		require.Equal(t, last.success, s.kyc != "", "%s: the KYC review follows a success only", s.kind)
		switch s.expect {
		case workflows.StateCompletedValidated:
			require.Equal(t, treezorsim.KYCValidate, s.kyc, s.kind)
		case workflows.StateCompletedRefused:
			require.Equal(t, treezorsim.KYCRefuse, s.kyc, s.kind)
		case workflows.StateFailed:
			require.Len(t, s.attempts, chaosMaxAttempts, s.kind)
		case workflows.StateDeclined, workflows.StateRejected:
			require.Len(t, s.attempts, 1, s.kind)
		default:
			t.Fatalf("%s: unexpected expectation %s", s.kind, s.expect)
		}
		for _, at := range s.attempts {
			final := at.actions[len(at.actions)-1]
			for _, a := range at.actions[:len(at.actions)-1] {
				require.Equal(t, treezorsim.ActionReviewPending, a.Kind, "%s: only a review may come first", s.kind)
			}
			switch final.Kind {
			case treezorsim.ActionAbort:
				require.True(t, final.ReasonCode >= 3001 && final.ReasonCode <= 3021, "%s: abort %d", s.kind, final.ReasonCode)
				require.Len(t, at.actions, 1, "%s: an abort is not possible under review", s.kind)
			case treezorsim.ActionCancel:
				require.True(t, final.ReasonCode >= 3101 && final.ReasonCode <= 3141, "%s: cancel %d", s.kind, final.ReasonCode)
			case treezorsim.ActionFraud:
				require.True(t, final.ReasonCode >= 3201 && final.ReasonCode <= 3215, "%s: fraud %d", s.kind, final.ReasonCode)
			case treezorsim.ActionSuccess:
				require.True(t, at.success)
			default:
				t.Fatalf("%s: unexpected final action %s", s.kind, final.Kind)
			}
		}
	}
	for _, k := range scriptKinds {
		require.Equal(t, 10, kinds[k.name], k.name)
	}
}
