package treezorsim

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/qesflow/qesflow/treezor"
)

func TestActionWebhookSequences(t *testing.T) {
	type want struct {
		types  []string
		result string
		code   int
	}
	qesTriple := []string{treezor.EventQESCreated, treezor.EventQESProcessing, treezor.EventQESFinalized}
	tests := []struct {
		name   string
		action Action
		want   want
	}{
		{"success", Success(), want{append(slices.Clone(qesTriple), treezor.EventDocumentCreate, treezor.EventDocumentCreate), treezor.ResultSuccess, 0}},
		{"success data changed", Action{Kind: ActionSuccess, Result: treezor.ResultSuccessDataChanged},
			want{append(slices.Clone(qesTriple), treezor.EventDocumentCreate, treezor.EventDocumentCreate), treezor.ResultSuccessDataChanged, 0}},
		{"abort", Abort(3011), want{[]string{treezor.EventQESAborted}, treezor.ResultAborted, 3011}},
		{"cancel", Cancel(3101), want{qesTriple, treezor.ResultCanceled, 3101}},
		{"fraud confirmed", Fraud(3201), want{qesTriple, treezor.ResultFraudSuspicionConfirmed, 3201}},
		{"fraud pending", Action{Kind: ActionFraud, ReasonCode: 3215, Result: treezor.ResultFraudSuspicionPending},
			want{qesTriple, treezor.ResultFraudSuspicionPending, 3215}},
		{"unknown aborted code", Abort(3099), want{[]string{treezor.EventQESAborted}, treezor.ResultAborted, 3099}},
	}
	h := newHarness(t)
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			userID := fmt.Sprint(7000 + i)
			ident := h.initiate(userID, "FR")
			require.NoError(t, h.sim.Act(ident.IdentificationID, tc.action))
			h.waitIdle()

			got := h.rec.forUser(userID)
			require.Equal(t, tc.want.types, eventTypes(got))
			require.Equal(t, webhookIDsOf(got), h.sim.DeliveredOK(userID))
			final := got[len(tc.want.types)-1]
			if tc.action.Kind == ActionSuccess {
				final = got[2]
			}
			require.Equal(t, tc.want.result, final.event.Result)
			require.Equal(t, tc.want.code, final.event.ReasonCode)
			if tc.want.code != 0 {
				require.Equal(t, treezor.LookupReason(tc.want.code).Message, final.event.ReasonMessage)
			}
			for _, r := range got {
				require.Equal(t, userID, r.event.UserID)
				require.NotEmpty(t, r.event.WebhookID)
				require.Equal(t, h.clock.Now(), r.event.CreatedAt.UTC(), "webhook_created_at is the simulator's clock in 1e-4 s")
				if r.env.Object == objectQES {
					require.Equal(t, ident.IdentificationID, r.event.IdentificationID)
					require.Equal(t, ident.IdentificationID, r.env.ObjectID)
				}
			}
			snap, _ := h.sim.Identification(ident.IdentificationID)
			require.Equal(t, tc.want.result, snap.Result)
			if tc.action.Kind == ActionSuccess {
				docs := got[3:]
				require.Equal(t, snap.Documents, []string{docs[0].event.DocumentID, docs[1].event.DocumentID})
				require.Equal(t, []int{9, 2}, []int{docs[0].event.DocumentTypeID, docs[1].event.DocumentTypeID})
				for _, d := range docs {
					require.Equal(t, "PENDING", d.event.DocumentStatus)
					_, ok := h.sim.DocumentContent(d.event.DocumentID)
					require.True(t, ok)
				}
			}
		})
	}
	ids := map[string]bool{}
	for _, d := range h.rec.all() {
		require.False(t, ids[d.event.WebhookID], "webhook ids are unique")
		ids[d.event.WebhookID] = true
	}
}

func TestReviewPendingThenFinalized(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.DocumentsPerSuccess = 1 })
	ident := h.initiate("7101", "FR")
	require.NoError(t, h.sim.Act(ident.IdentificationID, ReviewPending()))
	require.ErrorIs(t, h.sim.Act(ident.IdentificationID, Abort(3011)), ErrInvalidAction)
	require.ErrorIs(t, h.sim.Act(ident.IdentificationID, ReviewPending()), ErrInvalidAction)
	require.NoError(t, h.sim.Act(ident.IdentificationID, Success()))
	h.waitIdle()

	got := h.rec.forUser("7101")
	require.Equal(t, []string{treezor.EventQESCreated, treezor.EventQESProcessing, treezor.EventQESFinalized, treezor.EventDocumentCreate}, eventTypes(got))
	require.Equal(t, treezor.ResultReviewPending, got[1].event.Result)
	require.Equal(t, treezor.ResultSuccess, got[2].event.Result)
}

func TestInvalidActionsChangeNothing(t *testing.T) {
	h := newHarness(t)
	ident := h.initiate("7201", "FR")
	tests := []struct {
		name    string
		id      string
		action  Action
		wantErr error
	}{
		{"unknown action", ident.IdentificationID, Action{Kind: "explode"}, ErrInvalidAction},
		{"abort with a canceled code", ident.IdentificationID, Abort(3101), ErrInvalidAction},
		{"abort without code", ident.IdentificationID, Action{Kind: ActionAbort}, ErrInvalidAction},
		{"cancel with an aborted code", ident.IdentificationID, Cancel(3011), ErrInvalidAction},
		{"fraud with a canceled code", ident.IdentificationID, Fraud(3101), ErrInvalidAction},
		{"success with a code", ident.IdentificationID, Action{Kind: ActionSuccess, ReasonCode: 3011}, ErrInvalidAction},
		{"fraud with a success result", ident.IdentificationID, Action{Kind: ActionFraud, ReasonCode: 3201, Result: treezor.ResultSuccess}, ErrInvalidAction},
		{"unknown identification", "TRZ-NOPE", Success(), ErrUnknownIdentification},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.ErrorIs(t, h.sim.Act(tc.id, tc.action), tc.wantErr)
		})
	}
	require.Zero(t, h.sim.Stats().WebhooksEmitted)
	snap, _ := h.sim.Identification(ident.IdentificationID)
	require.Equal(t, StateInitiated, snap.State)

	require.NoError(t, h.sim.Act(ident.IdentificationID, Abort(3004)))
	require.ErrorIs(t, h.sim.Act(ident.IdentificationID, Success()), ErrIdentificationClosed)
	require.Equal(t, 1, h.sim.Stats().WebhooksEmitted)

	// The JSON endpoint maps the errors to statuses.
	for _, tc := range []struct {
		id     string
		body   any
		status int
	}{
		{ident.IdentificationID, map[string]any{"action": "success"}, http.StatusConflict},
		{"TRZ-NOPE", map[string]any{"action": "success"}, http.StatusNotFound},
		{ident.IdentificationID, map[string]any{"action": "abort", "reasonCode": 1}, http.StatusBadRequest},
	} {
		status, body := h.do(http.MethodPost, "/sim/identifications/"+tc.id+"/actions", "", tc.body)
		require.Equal(t, tc.status, status, string(body))
	}
}

func TestSimActionEndpoint(t *testing.T) {
	h := newHarness(t)
	ident := h.initiate("7301", "FR")
	status, body := h.do(http.MethodPost, "/sim/identifications/"+ident.IdentificationID+"/actions", "",
		map[string]any{"action": "cancel", "reasonCode": 3109})
	require.Equal(t, http.StatusOK, status, string(body))
	require.Contains(t, string(body), `"result":"CANCELED"`)
	h.waitIdle()
	got := h.rec.forUser("7301")
	require.Len(t, got, 3)
	require.Equal(t, 3109, got[2].event.ReasonCode)
	require.Equal(t, "ID_EXPIRED", got[2].event.ReasonMessage)
}

func TestDeliveryRetriesAfterFailures(t *testing.T) {
	h := newHarness(t)
	ident := h.initiate("8001", "FR")
	h.rec.setFailFirst(3)
	require.NoError(t, h.sim.Act(ident.IdentificationID, Cancel(3102)))
	h.waitIdle()

	got := h.rec.forUser("8001")
	require.Equal(t, []string{treezor.EventQESCreated, treezor.EventQESProcessing, treezor.EventQESFinalized}, eventTypes(got), "order kept across retries")
	deliveries := h.sim.Deliveries("8001")
	require.Len(t, deliveries, 3)
	require.Equal(t, 4, deliveries[0].Attempts)
	require.True(t, deliveries[0].OK)
	stats := h.sim.Stats()
	require.Equal(t, 3, stats.WebhooksRetried)
	require.Equal(t, 3, stats.WebhooksDelivered)
	require.Zero(t, stats.WebhooksFailed)
	require.Zero(t, stats.Pending)
}

func TestDeliveryGivesUpAfterMaxAttempts(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.WebhookMaxAttempts = 3 })
	ident := h.initiate("8101", "FR")
	h.rec.setFailAll(true)
	require.NoError(t, h.sim.Act(ident.IdentificationID, Abort(3016)))
	h.waitIdle()

	require.Empty(t, h.sim.DeliveredOK("8101"))
	d := h.sim.Deliveries("8101")
	require.Len(t, d, 1)
	require.False(t, d[0].OK)
	require.Equal(t, 3, d[0].Attempts)
	require.Equal(t, http.StatusServiceUnavailable, d[0].StatusCode)
	stats := h.sim.Stats()
	require.Equal(t, 1, stats.WebhooksFailed)
	require.Equal(t, 2, stats.WebhooksRetried)
}

func TestWebhookURLSetLater(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.WebhookURL = "" })
	ident := h.initiate("8201", "FR")
	require.NoError(t, h.sim.Act(ident.IdentificationID, Abort(3011)))
	eventually(t, func() bool { return h.sim.Stats().WebhooksRetried > 0 }, "deliveries wait for a URL")
	h.sim.SetWebhookURL(h.rec.srv.URL)
	h.waitIdle()
	require.Equal(t, []string{treezor.EventQESAborted}, eventTypes(h.rec.forUser("8201")))
}

func TestSlowUserDoesNotBlockOthers(t *testing.T) {
	h := newHarness(t)
	slow := h.initiate("8301", "FR")
	fast := h.initiate("8302", "FR")
	release := make(chan struct{})
	h.rec.setHook(func(ev treezor.Event) {
		if ev.UserID == "8301" {
			<-release
		}
	})
	require.NoError(t, h.sim.Act(slow.IdentificationID, Cancel(3103)))
	require.NoError(t, h.sim.Act(fast.IdentificationID, Cancel(3103)))
	eventually(t, func() bool { return len(h.sim.DeliveredOK("8302")) == 3 }, "the other user's webhooks get through")
	require.Empty(t, h.sim.DeliveredOK("8301"))
	close(release)
	h.waitIdle()
	require.Len(t, h.sim.DeliveredOK("8301"), 3)
}

func TestDuplicateChaos(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.DuplicateRate = 1 })
	ident := h.initiate("8401", "FR")
	require.NoError(t, h.sim.Act(ident.IdentificationID, Fraud(3207)))
	h.waitIdle()

	got := h.rec.forUser("8401")
	stats := h.sim.Stats()
	require.Equal(t, 3, stats.WebhooksEmitted)
	require.Equal(t, len(got)-3, stats.DuplicatesSent)
	byID := map[string][]received{}
	for _, r := range got {
		byID[r.event.WebhookID] = append(byID[r.event.WebhookID], r)
	}
	require.Len(t, byID, 3)
	for id, copies := range byID {
		require.GreaterOrEqual(t, len(copies), 2, "webhook %s duplicated", id)
		require.LessOrEqual(t, len(copies), 3)
		for _, c := range copies[1:] {
			require.Equal(t, copies[0].body, c.body, "a duplicate is the same delivery again")
		}
	}
	dups := 0
	for _, d := range h.sim.Deliveries("8401") {
		if d.Duplicate {
			dups++
		}
	}
	require.Equal(t, stats.DuplicatesSent, dups)
}

func TestReorderChaosIsSeededAndReproducible(t *testing.T) {
	run := func(seed int64) []string {
		h := newHarness(t, func(c *Config) { c.ReorderRate = 1; c.Seed = seed })
		ident := h.initiate("8501", "FR")
		require.NoError(t, h.sim.Act(ident.IdentificationID, Success()))
		h.waitIdle()
		return eventTypes(h.rec.forUser("8501"))
	}
	inOrder := []string{treezor.EventQESCreated, treezor.EventQESProcessing, treezor.EventQESFinalized, treezor.EventDocumentCreate, treezor.EventDocumentCreate}
	first := run(7)
	require.NotEqual(t, inOrder, first, "reordered")
	require.ElementsMatch(t, inOrder, first, "nothing lost")
	require.Equal(t, first, run(7), "same seed, same order")
}

func TestMaxDelayChaosDeliversEverything(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.MaxDelay = 20 * time.Millisecond })
	ident := h.initiate("8601", "FR")
	require.NoError(t, h.sim.Act(ident.IdentificationID, Cancel(3130)))
	h.waitIdle()
	require.Equal(t, []string{treezor.EventQESCreated, treezor.EventQESProcessing, treezor.EventQESFinalized}, eventTypes(h.rec.forUser("8601")))
}

func TestKYCReviewDecisions(t *testing.T) {
	tests := []struct {
		name        string
		skipPending bool
		auto        KYCDecision
		decide      func(h *harness, userID string)
		wantReviews []treezor.KYCReview
		wantLevel   int
		wantComment string
	}{
		{"auto validate", false, KYCValidate, nil, []treezor.KYCReview{treezor.KYCReviewPending, treezor.KYCReviewValidated}, kycLevelRegular, "automatic decision"},
		{"auto refuse without pending webhook", true, KYCRefuse, nil, []treezor.KYCReview{treezor.KYCReviewRefused}, kycLevelRefused, "automatic decision"},
		{"desk over JSON", false, "", func(h *harness, userID string) {
			status, body := h.do(http.MethodPost, "/sim/users/"+userID+"/kycreview", "", map[string]string{"decision": "refuse", "comment": "document unreadable"})
			require.Equal(h.t, http.StatusOK, status, string(body))
		}, []treezor.KYCReview{treezor.KYCReviewPending, treezor.KYCReviewRefused}, kycLevelRefused, "document unreadable"},
		{"Go API", false, "", func(h *harness, userID string) {
			require.NoError(h.t, h.sim.DecideKYC(userID, KYCValidate, "ok"))
		}, []treezor.KYCReview{treezor.KYCReviewPending, treezor.KYCReviewValidated}, kycLevelRegular, "ok"},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, func(c *Config) {
				c.SkipKYCPendingWebhook, c.AutoKYCDecision, c.AutoKYCDelay = tc.skipPending, tc.auto, 10*time.Millisecond
			})
			userID := fmt.Sprint(9000 + i)
			h.sim.CreateUser(completeUser(userID, "FR"))
			_, err := h.client.RequestKYCReview(context.Background(), userID, "kyc-"+userID)
			require.NoError(t, err)
			if tc.decide != nil {
				h.waitIdle()
				tc.decide(h, userID)
			}
			h.waitIdle()

			got := h.rec.forUser(userID)
			var reviews []treezor.KYCReview
			for _, r := range got {
				require.Equal(t, treezor.EventUserKYCReview, r.event.Type)
				reviews = append(reviews, r.event.KYCReview)
			}
			require.Equal(t, tc.wantReviews, reviews)
			last := got[len(got)-1].event
			require.Equal(t, tc.wantLevel, last.KYCLevel)
			require.Equal(t, tc.wantComment, last.KYCReviewComment)
			review, level, _ := h.sim.KYCStatus(userID)
			require.Equal(t, tc.wantReviews[len(tc.wantReviews)-1], review)
			require.Equal(t, tc.wantLevel, level)
			require.Empty(t, h.sim.PendingKYCReviews())
			require.ErrorIs(t, h.sim.DecideKYC(userID, KYCValidate, ""), ErrNoPendingReview)
		})
	}
}

func TestKYCDecisionErrors(t *testing.T) {
	h := newHarness(t)
	h.sim.CreateUser(completeUser("9101", "FR"))
	require.ErrorIs(t, h.sim.DecideKYC("9101", KYCValidate, ""), ErrNoPendingReview)
	require.ErrorIs(t, h.sim.DecideKYC("nobody", KYCValidate, ""), ErrUnknownUser)
	_, err := h.client.RequestKYCReview(context.Background(), "9101", "")
	require.NoError(t, err)
	require.ErrorIs(t, h.sim.DecideKYC("9101", "maybe", ""), ErrInvalidDecision)

	for _, tc := range []struct {
		user   string
		body   any
		status int
	}{
		{"9101", map[string]string{"decision": "maybe"}, http.StatusBadRequest},
		{"nobody", map[string]string{"decision": "validate"}, http.StatusNotFound},
		{"9101", map[string]string{"decision": "validate"}, http.StatusOK},
		{"9101", map[string]string{"decision": "validate"}, http.StatusConflict},
	} {
		status, body := h.do(http.MethodPost, "/sim/users/"+tc.user+"/kycreview", "", tc.body)
		require.Equal(t, tc.status, status, string(body))
	}
}

func TestSEPAPayin(t *testing.T) {
	h := newHarness(t)
	h.sim.CreateUser(completeUser("9201", "DE"))
	h.sim.CreateUser(completeUser("9202", "FR"))

	require.NoError(t, h.sim.Payin("9201"))
	status, body := h.do(http.MethodPost, "/sim/users/9201/payins", "", map[string]any{"amount": "25.5"})
	require.Equal(t, http.StatusCreated, status, string(body))
	h.waitIdle()

	got := h.rec.forUser("9201")
	require.Equal(t, []string{treezor.EventPayinCreate, treezor.EventPayinUpdate, treezor.EventPayinCreate, treezor.EventPayinUpdate}, eventTypes(got))
	require.Equal(t, "PENDING", got[0].event.PayinStatus)
	require.Equal(t, "VALIDATED", got[1].event.PayinStatus)
	require.Equal(t, got[0].event.PayinID, got[1].event.PayinID)
	require.NotEqual(t, got[0].event.PayinID, got[2].event.PayinID)
	require.NotEmpty(t, got[1].event.WalletID)
	require.Equal(t, got[1].event.WalletID, got[3].event.WalletID)
	item := got[3].payload["payins"].([]any)[0].(map[string]any)
	require.Equal(t, "25.50", item["amount"])
	require.Equal(t, "EUR", item["currency"])
	require.Equal(t, "20", item["paymentMethodId"])

	require.ErrorIs(t, h.sim.Payin("9202"), ErrNotDE)
	require.ErrorIs(t, h.sim.Payin("nobody"), ErrUnknownUser)
	_, err := h.sim.SEPAPayin("9201", "-1")
	require.ErrorIs(t, err, ErrInvalidAmount)
	for _, tc := range []struct {
		user   string
		body   any
		status int
	}{
		{"9202", map[string]any{}, http.StatusConflict},
		{"9201", map[string]any{"amount": "ten"}, http.StatusBadRequest},
		{"9201", map[string]any{"amount": 0}, http.StatusBadRequest},
	} {
		status, body := h.do(http.MethodPost, "/sim/users/"+tc.user+"/payins", "", tc.body)
		require.Equal(t, tc.status, status, string(body))
	}
	require.Equal(t, 4, h.sim.Stats().WebhooksEmitted)
}

func TestCloseStopsDelivery(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.WebhookRetryInterval = time.Hour })
	ident := h.initiate("9301", "FR")
	h.rec.setFailAll(true)
	require.NoError(t, h.sim.Act(ident.IdentificationID, Success()))
	eventually(t, func() bool { return h.sim.Stats().WebhooksRetried == 1 }, "first attempt failed")
	h.sim.Close() // must not wait for the hour-long retry
	require.ErrorIs(t, h.sim.Act(ident.IdentificationID, Success()), ErrIdentificationClosed)
	h.sim.CreateUser(completeUser("9302", "DE"))
	require.ErrorIs(t, h.sim.Payin("9302"), ErrClosed)
}
