package devstack

import (
	"bytes"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/qesflow/qesflow/outbound"
	"github.com/qesflow/qesflow/outbound/outboundtest"
	"github.com/qesflow/qesflow/workflows"
)

var (
	eventRow   = regexp.MustCompile(`(?s)<tr class="event">.*?<td class="type">(.*?)</td><td class="user">(.*?)</td><td><pre>(.*?)</pre></td></tr>`)
	refusedRow = regexp.MustCompile(`<strong id="refused">(\d+)</strong>`)
)

type pageEvent struct{ typ, user, payload string }

// eventsPageRows reads the events page: its rows, newest first, and the refused count.
func eventsPageRows(t *testing.T, s *Stack) ([]pageEvent, int) {
	t.Helper()
	resp, err := http.Get(s.EventsURL)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Contains(t, resp.Header.Get("Content-Type"), "text/html")
	var rows []pageEvent
	for _, m := range eventRow.FindAllStringSubmatch(string(b), -1) {
		rows = append(rows, pageEvent{html.UnescapeString(m[1]), html.UnescapeString(m[2]), html.UnescapeString(m[3])})
	}
	m := refusedRow.FindStringSubmatch(string(b))
	require.NotNil(t, m, "no refused count on the page")
	n, _ := strconv.Atoi(m[1])
	return rows, n
}

// TestDevStackEventsPage: the dev stack's worker delivers an onboarding's signed events to
// the stack's own receiver, whose page lists them for the user, newest first; a delivery
// signed with another key is refused (401) and counted, never listed.
func TestDevStackEventsPage(t *testing.T) {
	s := startStack(t, freeConfig(t.TempDir(), true))
	require.Equal(t, s.APIURL+EventsPath, s.EventsURL)
	createSimUser(t, s, "7301", "FR")
	a := startOnboarding(t, s, "7301")
	simAction(t, s, identificationID(t, a.IdentificationURL), "success")
	waitState(t, s, "7301", workflows.StateKYCReviewPending)
	decideKYC(t, s, "7301", "validate")
	waitState(t, s, "7301", workflows.StateCompletedValidated)

	want := []string{outbound.TypeStarted, outbound.TypeUnderReview, outbound.TypeCompleted}
	var mine []pageEvent
	require.Eventually(t, func() bool {
		rows, _ := eventsPageRows(t, s)
		mine = mine[:0]
		for _, r := range rows {
			if r.user == "7301" {
				mine = append(mine, r)
			}
		}
		return len(mine) >= len(want)
	}, 60*time.Second, 200*time.Millisecond, "the page lists %d events of user 7301", len(mine))
	slices.Reverse(mine) // oldest first
	var types []string
	for _, r := range mine {
		types = append(types, r.typ)
	}
	require.Equal(t, want, types)
	require.Contains(t, mine[0].payload, `"identificationUrl": "`+a.IdentificationURL+`"`)
	require.Contains(t, mine[2].payload, `"status": "`+workflows.UserStatusApproved+`"`)
	_, refused := eventsPageRows(t, s)
	require.Equal(t, 0, refused)

	// A delivery signed with a key that is not the stack's: refused, counted, not listed.
	forged, err := outbound.ParseSecret(outboundtest.Secret("not-the-dev-key"))
	require.NoError(t, err)
	body := []byte(`{"type":"onboarding.completed","timestamp":"2026-01-01T00:00:00Z","data":{"userId":"7399","status":"APPROVED"}}`)
	now := time.Now()
	req, err := http.NewRequest(http.MethodPost, s.EventsURL, bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("webhook-id", "msg_forged")
	req.Header.Set("webhook-timestamp", strconv.FormatInt(now.Unix(), 10))
	req.Header.Set("webhook-signature", outbound.Signature([]outbound.Secret{forged}, "msg_forged", now, body))
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)

	rows, refused := eventsPageRows(t, s)
	require.Equal(t, 1, refused)
	for _, r := range rows {
		require.NotEqual(t, "7399", r.user, "a refused delivery is listed")
	}
}

func TestEventsPageIsForThisMachineOnly(t *testing.T) {
	r, err := newEventsReceiver("whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	require.NoError(t, err)
	for _, tc := range []struct {
		remote string
		want   int
	}{
		{"127.0.0.1:5000", http.StatusOK},
		{"[::1]:5000", http.StatusOK},
		{"192.0.2.10:5000", http.StatusForbidden},
		{"[2001:db8::1]:5000", http.StatusForbidden},
	} {
		req := httptest.NewRequest(http.MethodGet, EventsPath, nil)
		req.RemoteAddr = tc.remote
		rec := httptest.NewRecorder()
		r.ServeHTTP(rec, req)
		require.Equal(t, tc.want, rec.Code, tc.remote)
	}
}
