package e2e

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// echoBridge answers like the webhook bridge: 200 {"status":"signalled","webhookId":…},
// taking the id from the X-Webhook-Id header, and counts the deliveries it saw.
type echoBridge struct{ seen int }

func (e *echoBridge) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	e.seen++
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_ = json.NewEncoder(w).Encode(map[string]string{"status": "signalled", "webhookId": r.Header.Get("X-Webhook-Id")})
}

func deliver(h http.Handler, id string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, "/webhooks/treezor", nil)
	req.Header.Set("X-Webhook-Id", id)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestFlakyBridge(t *testing.T) {
	tests := []struct {
		name            string
		rate, after     float64
		wantSeen        int
		wantStatus      int
		wantAnswers     int
		wantReplaced    bool
		refused, passed int
	}{
		{name: "no faults", rate: 0, after: 0, wantSeen: 10, wantStatus: http.StatusOK, wantAnswers: 1, passed: 10},
		{name: "refused before the bridge", rate: 1, after: 0, wantSeen: 0, wantStatus: http.StatusServiceUnavailable, refused: 10},
		{name: "answer lost after the bridge", rate: 1, after: 1, wantSeen: 10, wantStatus: http.StatusServiceUnavailable, wantAnswers: 1, wantReplaced: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			next := &echoBridge{}
			f := NewFlakyBridge(next, FlakyConfig{FaultRate: tc.rate, AnswerLostShare: tc.after, Seed: 7})
			for i := range 10 {
				id := "wh-" + strconv.Itoa(i)
				rec := deliver(f, id)
				require.Equal(t, tc.wantStatus, rec.Code)
				if rec.Code == http.StatusServiceUnavailable {
					require.NotEmpty(t, rec.Header().Get("Retry-After"))
				}
				answers := f.Answers(id)
				require.Len(t, answers, tc.wantAnswers)
				for _, a := range answers {
					require.Equal(t, "signalled", a.Outcome)
					require.Equal(t, http.StatusOK, a.Status)
					require.Equal(t, tc.wantReplaced, a.Replaced)
				}
			}
			require.Equal(t, tc.wantSeen, next.seen)
			st := f.Stats()
			require.Equal(t, tc.refused, st.Refused)
			require.Equal(t, tc.passed, st.Passed)
			require.Equal(t, 10, st.Passed+st.Refused+st.Replaced)
		})
	}
}

func TestFlakyBridgeRateAndAnswerWithoutID(t *testing.T) {
	f := NewFlakyBridge(&echoBridge{}, FlakyConfig{FaultRate: 0.1, AnswerLostShare: 0.5, Seed: 42})
	for range 2000 {
		deliver(f, "")
	}
	st := f.Stats()
	faulted := st.Refused + st.Replaced
	require.InDelta(t, 200, faulted, 60, "about 10%% of deliveries are answered 503: %+v", st)
	require.Positive(t, st.Refused)
	require.Positive(t, st.Replaced)
	require.Equal(t, st.Passed+st.Replaced, f.Unidentified(), "answers without a webhook id are counted, not recorded")
}

func TestFlakyBridgeLosesDeliveries(t *testing.T) {
	next := &echoBridge{}
	f := NewFlakyBridge(next, FlakyConfig{LossRate: 1, Seed: 3})
	req := httptest.NewRequest(http.MethodPost, "/webhooks/treezor", strings.NewReader(`{"webhook_id":"wh-lost"}`))
	rec := httptest.NewRecorder()
	f.ServeHTTP(rec, req)
	require.Equal(t, http.StatusOK, rec.Code)
	require.Zero(t, next.seen, "the bridge never saw the delivery")
	require.Equal(t, []BridgeAnswer{{Status: http.StatusOK, Outcome: "signalled", At: f.Answers("wh-lost")[0].At}}, f.Answers("wh-lost"))
	require.Equal(t, 1, f.Stats().Lost)
}
