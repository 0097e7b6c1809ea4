package hostile

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"

	"github.com/qesflow/qesflow/devstack"
	"github.com/qesflow/qesflow/treezorsim"
	"github.com/qesflow/qesflow/webhookbridge"
	"github.com/qesflow/qesflow/workflows"
)

// TestCapturedVerdictReplayedIntoANewOnboarding captures the genuine signed webhooks the
// simulator delivered for one onboarding (qes.finalized SUCCESS, user.kycreview REFUSED),
// then replays them byte for byte through the real bridge once the same user has a new
// onboarding, and while another user's onboarding runs. Neither onboarding changes: same
// state, attempt, identification and KYC review, the same user-safe API status, and no
// command in either history (no activity, timer or search attribute upsert).
func TestCapturedVerdictReplayedIntoANewOnboarding(t *testing.T) {
	s := startStack(t)
	tap := tapWebhooks(t, s)
	const userA, userB = "replay-a", "replay-b"

	// Onboarding 1 of user A: identified, then refused by the KYC review (a new one may start).
	identA1 := runningOnboarding(t, s, userA)
	require.NoError(t, s.Sim.Act(identA1, treezorsim.Success()))
	waitSnapshot(t, s, userA, "KYC_REVIEW_PENDING", func(sn snapshot) bool { return sn.State == workflows.StateKYCReviewPending })
	require.Eventually(t, func() bool { return s.Sim.DecideKYC(userA, treezorsim.KYCRefuse, "replay test") == nil },
		callTimeout, 100*time.Millisecond)
	waitSnapshot(t, s, userA, "COMPLETED_REFUSED", func(sn snapshot) bool { return sn.State == workflows.StateCompletedRefused })
	finalized := tap.delivered(t, `"qes.finalized"`, `"SUCCESS"`)
	verdict := tap.delivered(t, `"user.kycreview"`, `"kycReview":"3"`) // REFUSED, not the PENDING one before it

	// Onboarding 2 of user A, and user B's onboarding.
	var second struct {
		IdentificationID string `json:"identificationId"`
	}
	require.Equal(t, http.StatusCreated, postJSON(t, s.APIURL+"/v1/onboardings", s.Credentials.OnboardingKey,
		map[string]string{"userId": userA}, &second))
	identA2 := second.IdentificationID
	require.NotEqual(t, identA1, identA2)
	runningOnboarding(t, s, userB)
	type view struct {
		snap    snapshot
		kyc     string
		status  string // GET /v1/onboardings/{userId}, as the onboarding backend reads it
		history map[enumspb.EventType]int
	}
	look := func(userID string) view {
		st := details(t, s, userID)
		resp := send(t, request{method: http.MethodGet, url: s.APIURL, rawPath: "/v1/onboardings/" + userID,
			header: map[string]string{"Authorization": "Bearer " + s.Credentials.OnboardingKey}})
		require.Equal(t, http.StatusOK, resp.status, "%s", resp.body)
		sn := workflowSnapshot(t, s, userID)
		sn.Timeline, sn.LastUpdate = 0, time.Time{} // the replay is recorded as a duplicate; compared below
		return view{snap: sn, kyc: st.KYCReview.String(), status: string(resp.body), history: commandEvents(t, s, userID)}
	}
	beforeA := waitSnapshot(t, s, userA, "AWAITING_USER", func(sn snapshot) bool { return sn.State == workflows.StateAwaitingUser })
	waitSnapshot(t, s, userB, "AWAITING_USER", func(sn snapshot) bool { return sn.State == workflows.StateAwaitingUser })
	// The dev stack delivers outbound events: the baseline is taken once the onboardings have
	// delivered what they queued, so a delivery's activity is not counted as the replay's doing.
	for _, user := range []string{userA, userB} {
		require.Eventually(t, func() bool {
			ev := details(t, s, user).Events
			return ev == nil || (ev.Pending == 0 && ev.Delivered == ev.Queued)
		}, callTimeout, 100*time.Millisecond, "%s: events still pending", user)
	}
	a, b := look(userA), look(userB)
	require.Equal(t, workflows.StateAwaitingUser, a.snap.State)

	for _, c := range []struct{ name, body string }{{"qes.finalized SUCCESS", finalized}, {"user.kycreview REFUSED", verdict}} {
		resp := send(t, request{method: http.MethodPost, url: s.BridgeURL, rawPath: webhookbridge.Path,
			header: map[string]string{"Content-Type": "application/json"}, body: []byte(c.body)})
		require.Less(t, resp.status, 300, "%s: a genuine signature is accepted, the workflow decides (%s)", c.name, resp.body)
		t.Logf("%s replayed: %d %s", c.name, resp.status, bytes.TrimSpace(resp.body))
	}
	// The verdict names user A: its signal reaches onboarding 2, which records it as a
	// payload onboarding 1 applied (once recorded, nothing else can follow from it).
	duplicate := func() ([]workflows.TimelineEntry, bool) {
		timeline := details(t, s, userA).Timeline
		for _, e := range timeline {
			if e.EventType == "user.kycreview" && strings.HasPrefix(e.Note, workflows.NoteDuplicate) && strings.Contains(e.Note, "REFUSED") {
				return timeline, true
			}
		}
		return timeline, false
	}
	for deadline := time.Now().Add(callTimeout); ; time.Sleep(100 * time.Millisecond) {
		timeline, ok := duplicate()
		if ok {
			break
		}
		require.True(t, time.Now().Before(deadline), "onboarding 2 never recorded the replayed verdict as a duplicate: %+v", timeline)
	}

	require.Equal(t, a, look(userA), "the replay changed user A's new onboarding")
	require.Equal(t, b, look(userB), "the replay changed user B's onboarding")
	require.Equal(t, beforeA.IdentificationID, identA2, "onboarding 2 still waits on its own identification")
	require.Equal(t, "NONE", a.kyc, "no KYC verdict in onboarding 2")
}

// webhookTap sits between the simulator and the bridge and keeps every delivered body.
type webhookTap struct {
	mu     sync.Mutex
	bodies [][]byte
}

// tapWebhooks points the stack's simulator at a proxy in front of the real bridge.
func tapWebhooks(t *testing.T, s *devstack.Stack) *webhookTap {
	t.Helper()
	tap := &webhookTap{}
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, "read", http.StatusBadRequest)
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), callTimeout)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.BridgeURL+webhookbridge.Path, bytes.NewReader(body))
		if err != nil {
			http.Error(w, "request", http.StatusInternalServerError)
			return
		}
		req.Header.Set("Content-Type", r.Header.Get("Content-Type"))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			http.Error(w, "bridge", http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		answer, _ := io.ReadAll(resp.Body)
		if resp.StatusCode < 300 {
			tap.mu.Lock()
			tap.bodies = append(tap.bodies, body)
			tap.mu.Unlock()
		}
		w.Header().Set("Content-Type", resp.Header.Get("Content-Type"))
		w.WriteHeader(resp.StatusCode)
		_, _ = w.Write(answer)
	}))
	t.Cleanup(proxy.Close)
	s.Sim.SetWebhookURL(proxy.URL + webhookbridge.Path)
	return tap
}

// delivered waits for a body the bridge accepted that contains every marker and returns it.
func (tap *webhookTap) delivered(t *testing.T, markers ...string) string {
	t.Helper()
	var found []byte
	require.Eventually(t, func() bool {
		tap.mu.Lock()
		defer tap.mu.Unlock()
	next:
		for _, b := range tap.bodies {
			plain := bytes.ReplaceAll(b, []byte(`\`), nil) // the payload may be a JSON string
			for _, m := range markers {
				if !bytes.Contains(plain, []byte(m)) {
					continue next
				}
			}
			found = b
			return true
		}
		return false
	}, callTimeout, 50*time.Millisecond, "no delivered webhook contains %q", markers)
	return string(found)
}

// details reads the internal status through Temporal.
func details(t *testing.T, s *devstack.Stack, userID string) workflows.Status {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	v, err := s.Client.QueryWorkflow(ctx, workflows.WorkflowID(userID), "", workflows.QueryStatus)
	require.NoError(t, err)
	var st workflows.Status
	require.NoError(t, v.Get(&st))
	return st
}

// commandEvents counts the events of the user's current run that only a workflow command
// writes: activities, timers, search attribute upserts, markers, ends.
func commandEvents(t *testing.T, s *devstack.Stack, userID string) map[enumspb.EventType]int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	it := s.Client.GetWorkflowHistory(ctx, workflows.WorkflowID(userID), "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	out := map[enumspb.EventType]int{}
	for it.HasNext() {
		ev, err := it.Next()
		require.NoError(t, err)
		switch ev.GetEventType() {
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED, enumspb.EVENT_TYPE_TIMER_STARTED, enumspb.EVENT_TYPE_TIMER_CANCELED,
			enumspb.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES, enumspb.EVENT_TYPE_MARKER_RECORDED,
			enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED,
			enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED:
			out[ev.GetEventType()]++
		}
	}
	return out
}
