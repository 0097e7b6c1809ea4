package starter

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/qesflow/qesflow/treezorsim"
	"github.com/qesflow/qesflow/workflows"
)

// TestListOnboardings lists onboardings of a real Temporal server (worker, bridge,
// simulator) through the API: filters by state, status, country and update time, pages
// through everything, and shows each scope its view.
func TestListOnboardings(t *testing.T) {
	env := newFlowEnv(t, Config{})
	before := time.Now().UTC()

	waiting := env.fullUser("FR")
	env.onboarding(env.create(waiting, keyOnboarding, map[string]any{"country": "fr"}))
	german := env.fullUser("DE")
	env.onboarding(env.create(german, keyOnboarding, map[string]any{"country": "DE"}))
	fraud := env.fullUser("FR")
	env.onboarding(env.create(fraud, keyOnboarding, map[string]any{"country": "FR"}))
	identID, _ := env.identification(fraud)
	require.NoError(t, env.sim.Act(identID, treezorsim.Fraud(3207)))
	env.waitState(fraud, workflows.StateComplianceReview)
	env.waitState(waiting, workflows.StateAwaitingUser)
	env.waitState(german, workflows.StateAwaitingUser)

	// Everything so far has changed for the last time before middle.
	eventually(t, "the first three listed", func() bool {
		return len(listAll(t, env.api, keyCompliance, "")) == 3
	})
	middle := time.Now().UTC()
	time.Sleep(50 * time.Millisecond) // a clock step between middle and the next changes

	incomplete := env.sim.CreateUser(treezorsim.User{Firstname: "Grace", Lastname: "Hopper", Country: "FR"})
	r := env.create(incomplete, keyOnboarding, map[string]any{"country": "FR"})
	require.Equal(t, http.StatusUnprocessableEntity, r.Status, "body: %s", r.Body)
	cancelled := env.fullUser("FR")
	env.onboarding(env.create(cancelled, keyOnboarding, nil))
	r = env.api.do(http.MethodPost, "/v1/onboardings/"+cancelled+"/cancel", keyOnboarding, `{"reason":"user left"}`)
	require.Equal(t, http.StatusOK, r.Status, "body: %s", r.Body)
	env.waitClosed(cancelled)

	all := []string{waiting, german, fraud, incomplete, cancelled}
	eventually(t, "every onboarding listed in its last state", func() bool {
		items := listAll(t, env.api, keyCompliance, "")
		return len(items) == len(all) && itemOf(items, cancelled).State == string(workflows.StateOperatorCancelled) &&
			itemOf(items, incomplete).State == string(workflows.StateUserDataIncomplete)
	})

	t.Run("filters", func(t *testing.T) {
		env.api.t = t
		tests := []struct {
			name, key, query string
			want             []string
		}{
			{"internal state", keyCompliance, "state=COMPLIANCE_REVIEW", []string{fraud}},
			{"several states", keyCompliance, "state=AWAITING_USER&state=cancelled", []string{waiting, german, cancelled}},
			{"comma-separated states", keyBoth, "state=AWAITING_USER,USER_DATA_INCOMPLETE", []string{waiting, german, incomplete}},
			{"user status, onboarding scope", keyOnboarding, "status=ACTION_REQUIRED", []string{waiting, german, incomplete}},
			{"a fraud case reads under review", keyOnboarding, "status=UNDER_REVIEW", []string{fraud}},
			{"ended", keyOnboarding, "status=CANCELLED", []string{cancelled}},
			{"state and status both", keyCompliance, "state=AWAITING_USER,COMPLIANCE_REVIEW&status=UNDER_REVIEW", []string{fraud}},
			{"country from the start", keyCompliance, "country=de", []string{german}},
			{"country and status", keyOnboarding, "country=FR&status=ACTION_REQUIRED", []string{waiting, incomplete}},
			{"updated before the first start", keyCompliance, "updatedBefore=" + before.Format(time.RFC3339Nano), nil},
			{"updated before the middle", keyCompliance, "updatedBefore=" + middle.Format(time.RFC3339Nano), []string{waiting, german, fraud}},
			{"updated before now", keyOnboarding, "updatedBefore=" + time.Now().Add(time.Minute).UTC().Format(time.RFC3339), all},
			{"no match", keyCompliance, "state=EXPIRED", nil},
		}
		for _, tc := range tests {
			got := userIDs(listAll(t, env.api, tc.key, tc.query))
			want := slices.Clone(tc.want)
			slices.Sort(want)
			require.Equal(t, want, got, tc.name)
		}
	})

	t.Run("each scope sees its view", func(t *testing.T) {
		env.api.t = t
		r := env.api.do(http.MethodGet, "/v1/onboardings?pageSize=100", keyOnboarding, nil)
		require.Equal(t, http.StatusOK, r.Status)
		var raw struct {
			Onboardings []map[string]any `json:"onboardings"`
		}
		r.decode(t, &raw)
		require.Len(t, raw.Onboardings, len(all))
		for _, it := range raw.Onboardings {
			for _, internal := range []string{"state", "kycReview", "reasonCode"} {
				require.NotContains(t, it, internal, "the onboarding scope sees no %s: %v", internal, it)
			}
			require.Contains(t, workflows.UserStatuses(), it["status"])
		}
		items := listAll(t, env.api, keyCompliance, "")
		f := itemOf(items, fraud)
		require.Equal(t, string(workflows.StateComplianceReview), f.State)
		require.Equal(t, 3207, f.ReasonCode)
		require.Equal(t, workflows.UserStatusUnderReview, f.Status)
		c := itemOf(items, cancelled)
		require.True(t, c.Final)
		require.NotNil(t, c.ClosedAt)
		require.Equal(t, workflows.UserStatusCancelled, c.Status)
		w := itemOf(items, waiting)
		require.False(t, w.Final)
		require.Nil(t, w.ClosedAt)
		require.Equal(t, "FR", w.Country)
		require.Equal(t, workflows.WorkflowID(waiting), w.WorkflowID)
		require.False(t, w.UpdatedAt.Before(w.StartedAt), "%v before %v", w.UpdatedAt, w.StartedAt)

		// The onboarding scope cannot filter by internal state.
		r = env.api.do(http.MethodGet, "/v1/onboardings?state=COMPLIANCE_REVIEW", keyOnboarding, nil)
		require.Equal(t, http.StatusForbidden, r.Status)
		require.Equal(t, "compliance", r.problem(t).RequiredScope)
	})

	t.Run("pages", func(t *testing.T) {
		env.api.t = t
		var seen []string
		token, pages := "", 0
		for {
			q := url.Values{"pageSize": {"2"}}
			if token != "" {
				q.Set("pageToken", token)
			}
			page := listPage(t, env.api, keyCompliance, q.Encode())
			pages++
			require.LessOrEqual(t, len(page.Onboardings), 2)
			seen = append(seen, userIDs(page.Onboardings)...)
			if page.NextPageToken == "" {
				break
			}
			require.NotContains(t, page.NextPageToken, "=", "URL-safe, unpadded")
			token = page.NextPageToken
			require.Less(t, pages, 10, "paging does not end")

			// The token continues this listing only.
			r := env.api.do(http.MethodGet, "/v1/onboardings?pageSize=2&status=CLOSED&pageToken="+url.QueryEscape(token), keyCompliance, nil)
			require.Equal(t, http.StatusBadRequest, r.Status)
			require.Equal(t, "pageToken", r.problem(t).Field)
		}
		require.GreaterOrEqual(t, pages, 3)
		slices.Sort(seen)
		want := slices.Clone(all)
		slices.Sort(want)
		require.Equal(t, want, seen, "every onboarding once")
	})
}

// TestListOnboardingsRefusesBadFilters sends bad and hostile filters through the real
// handler over a recording Temporal: each is 400 (or 403) naming the parameter, and none
// reaches visibility; the accepted ones reach it as the query built from checked values.
func TestListOnboardingsRefusesBadFilters(t *testing.T) {
	stub := &recordingTemporal{}
	handler, err := New(Config{Temporal: stub, Keys: testKeys()})
	require.NoError(t, err)
	get := func(key, rawQuery string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodGet, "http://api.test/v1/onboardings", nil)
		req.URL.RawQuery = rawQuery
		req.Header.Set("Authorization", "Bearer "+key)
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, req)
		return rec
	}
	refused := []struct {
		name, key, query, field string
		status                  int
	}{
		{"unknown state", keyCompliance, "state=SLEEPING", "state", 400},
		{"quote in a state", keyCompliance, "state=" + url.QueryEscape("AWAITING_USER' OR '1'='1"), "state", 400},
		{"state closing the IN list", keyCompliance, "state=" + url.QueryEscape("AWAITING_USER') OR (QESState != '"), "state", 400},
		{"empty state in a list", keyCompliance, "state=AWAITING_USER,", "state", 400},
		{"unknown status", keyOnboarding, "status=FRAUD", "status", 400},
		{"status injection", keyOnboarding, "status=" + url.QueryEscape("CLOSED' OR WorkflowType != '"), "status", 400},
		{"state and status disjoint", keyCompliance, "state=AWAITING_USER&status=CLOSED", "status", 400},
		{"country of three letters", keyCompliance, "country=DEU", "country", 400},
		{"country injection", keyCompliance, "country=" + url.QueryEscape("DE' OR '1'='1"), "country", 400},
		{"country with a quote", keyCompliance, "country=" + url.QueryEscape("D'"), "country", 400},
		{"country not letters", keyCompliance, "country=1%00", "country", 400},
		{"empty country", keyCompliance, "country=", "country", 400},
		{"two countries", keyCompliance, "country=DE&country=FR", "country", 400},
		{"date without zone", keyCompliance, "updatedBefore=2026-12-01T00:00:00", "updatedBefore", 400},
		{"date injection", keyCompliance, "updatedBefore=" + url.QueryEscape("2026-12-01T00:00:00Z' OR '1'='1"), "updatedBefore", 400},
		{"date only", keyCompliance, "updatedBefore=2026-12-01", "updatedBefore", 400},
		{"page size zero", keyCompliance, "pageSize=0", "pageSize", 400},
		{"page size too large", keyCompliance, "pageSize=101", "pageSize", 400},
		{"page size not a number", keyCompliance, "pageSize=ten", "pageSize", 400},
		{"page token not base64", keyCompliance, "pageToken=%25%25%25", "pageToken", 400},
		{"page token of another API", keyCompliance, "pageToken=AAAAAAAAAAAAAAAA", "pageToken", 400},
		{"empty page token", keyCompliance, "pageToken=", "pageToken", 400},
		{"misspelt filter", keyCompliance, "sate=AWAITING_USER", "sate", 400},
		{"raw visibility query", keyCompliance, "query=" + url.QueryEscape("WorkflowType != ''"), "query", 400},
		{"internal state with the onboarding scope", keyOnboarding, "state=COMPLIANCE_REVIEW", "", 403},
	}
	for _, tc := range refused {
		rec := get(tc.key, tc.query)
		require.Equal(t, tc.status, rec.Code, "%s: %s", tc.name, rec.Body)
		checkProblem(t, rec, tc.status)
		var p problem
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &p))
		require.Equal(t, tc.field, p.Field, tc.name)
		require.Empty(t, stub.take(), "%s reached Temporal", tc.name)
	}

	const base = "WorkflowType = 'QESOnboarding' AND ExecutionStatus != 'ContinuedAsNew'"
	accepted := []struct {
		name, key, query, want string
	}{
		{"no filter", keyOnboarding, "", base},
		{"states sorted and unique", keyCompliance, "state=fraud_suspected,AWAITING_USER&state=AWAITING_USER",
			base + " AND QESState IN ('AWAITING_USER', 'FRAUD_SUSPECTED')"},
		{"status as states", keyOnboarding, "status=CANCELLED", base + " AND QESState IN ('CANCELLED')"},
		{"country upper-cased", keyCompliance, "country=de", base + " AND QESCountry = 'DE'"},
		{"date in UTC", keyCompliance, "updatedBefore=" + url.QueryEscape("2026-12-01T01:00:00+01:00"),
			base + " AND (QESUpdatedAt < '2026-12-01T00:00:00Z' OR (QESUpdatedAt IS NULL AND StartTime < '2026-12-01T00:00:00Z'))"},
	}
	for _, tc := range accepted {
		rec := get(tc.key, tc.query)
		require.Equal(t, http.StatusServiceUnavailable, rec.Code, "%s: the stub's Temporal is down: %s", tc.name, rec.Body)
		calls := stub.take()
		require.Len(t, calls, 1, tc.name)
		require.Equal(t, "list", calls[0].method)
		require.Equal(t, tc.want, calls[0].arg, tc.name)
	}
}

// listPage fetches one page of GET /v1/onboardings?query.
func listPage(t *testing.T, h *apiHarness, key, query string) listResponse {
	t.Helper()
	r := h.do(http.MethodGet, "/v1/onboardings?"+query, key, nil)
	require.Equal(t, http.StatusOK, r.Status, "body: %s", r.Body)
	var page listResponse
	r.decode(t, &page)
	return page
}

// listAll follows the pages of GET /v1/onboardings?query to the end.
func listAll(t *testing.T, h *apiHarness, key, query string) []listItem {
	t.Helper()
	var out []listItem
	token := ""
	for range 50 {
		q, err := url.ParseQuery(query)
		require.NoError(t, err)
		if token != "" {
			q.Set("pageToken", token)
		}
		page := listPage(t, h, key, q.Encode())
		out = append(out, page.Onboardings...)
		if token = page.NextPageToken; token == "" {
			return out
		}
	}
	t.Fatal("paging does not end")
	return nil
}

func userIDs(items []listItem) []string {
	var out []string
	for _, it := range items {
		out = append(out, it.UserID)
	}
	slices.Sort(out)
	return out
}

func itemOf(items []listItem, userID string) listItem {
	for _, it := range items {
		if it.UserID == userID {
			return it
		}
	}
	return listItem{}
}

// TestListPageTokenIsBoundToItsQuery checks the token wrapping directly.
func TestListPageTokenIsBoundToItsQuery(t *testing.T) {
	token := sealPageToken([]byte("temporal-token"), "q1")
	got, err := openPageToken(token, "q1")
	require.NoError(t, err)
	require.Equal(t, "temporal-token", string(got))
	_, err = openPageToken(token, "q2")
	require.ErrorContains(t, err, "other filters")
}
