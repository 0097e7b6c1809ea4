package devstack

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/qesflow/qesflow/embedded"
	"github.com/qesflow/qesflow/workflows"
)

// startStack runs a dev stack for one test on free ports.
func startStack(t *testing.T, cfg Config) *Stack {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s, err := Start(ctx, cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Stop() })
	return s
}

func freeConfig(dataDir string, ephemeral bool) Config {
	return Config{DataDir: dataDir, Ephemeral: ephemeral, TemporalPort: 0, UIPort: 0, APIPort: 0, BridgePort: 0, SimPort: 0}
}

// call sends one JSON request and decodes the answer into out (when non-nil).
func call(t *testing.T, method, u, key string, body any, out any) int {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		require.NoError(t, err)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, u, rd)
	require.NoError(t, err)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	if out != nil && len(b) > 0 && resp.StatusCode < 300 {
		require.NoError(t, json.Unmarshal(b, out), "decode %s %s: %s", method, u, b)
	}
	return resp.StatusCode
}

func createSimUser(t *testing.T, s *Stack, userID, country string) {
	t.Helper()
	code := call(t, http.MethodPost, s.SimURL+"/sim/users", "", map[string]string{
		"userId": userID, "firstname": "Émilie", "lastname": "Müller", "email": "emilie@example.com",
		"country": country, "phone": "+33600000000",
	}, nil)
	require.Equal(t, http.StatusOK, code)
}

type startAnswer struct {
	UserID            string `json:"userId"`
	WorkflowID        string `json:"workflowId"`
	RunID             string `json:"runId"`
	IdentificationURL string `json:"identificationURL"`
	Status            string `json:"status"`
}

func startOnboarding(t *testing.T, s *Stack, userID string) startAnswer {
	t.Helper()
	var a startAnswer
	code := call(t, http.MethodPost, s.APIURL+"/v1/onboardings", s.Credentials.OnboardingKey, map[string]string{"userId": userID}, &a)
	require.Equal(t, http.StatusCreated, code)
	require.NotEmpty(t, a.IdentificationURL)
	return a
}

func identificationID(t *testing.T, identificationURL string) string {
	t.Helper()
	u, err := url.Parse(identificationURL)
	require.NoError(t, err)
	parts := strings.Split(strings.Trim(u.Path, "/"), "/")
	require.Len(t, parts, 2, "identification URL path %s", u.Path)
	return parts[1]
}

// waitState polls the internal status until the onboarding is in want.
func waitState(t *testing.T, s *Stack, userID string, want workflows.State) workflows.Status {
	t.Helper()
	var st workflows.Status
	require.Eventually(t, func() bool {
		st = workflows.Status{}
		code := call(t, http.MethodGet, s.APIURL+"/v1/onboardings/"+userID+"/details", s.Credentials.ComplianceKey, nil, &st)
		return code == http.StatusOK && st.State == want
	}, 60*time.Second, 100*time.Millisecond, "user %s never reached %s (last %s)", userID, want, st.State)
	return st
}

func simAction(t *testing.T, s *Stack, identificationID, action string) {
	t.Helper()
	code := call(t, http.MethodPost, s.SimURL+"/sim/identifications/"+identificationID+"/actions", "", map[string]any{"action": action}, nil)
	require.Less(t, code, 300, "sim action %s", action)
}

// decideKYC decides the user's KYC review on the simulator's desk. The workflow shows
// KYC_REVIEW_PENDING as soon as it asks for the review, so the desk may not have the request
// yet: a 409 (no pending review) is tried again until it has.
func decideKYC(t *testing.T, s *Stack, userID, decision string) {
	t.Helper()
	var code int
	require.Eventually(t, func() bool {
		code = call(t, http.MethodPost, s.SimURL+"/sim/users/"+userID+"/kycreview", "", map[string]string{"decision": decision, "comment": "checked"}, nil)
		return code != http.StatusConflict
	}, 30*time.Second, 50*time.Millisecond, "no KYC review of user %s reached the desk", userID)
	require.Less(t, code, 300, "kyc decision")
}

// waitReviewAtDesk waits until the user's KYC review request reached the simulator's desk.
func waitReviewAtDesk(t *testing.T, s *Stack, userID string) {
	t.Helper()
	require.Eventually(t, func() bool { return slices.Contains(s.Sim.PendingKYCReviews(), userID) },
		30*time.Second, 50*time.Millisecond, "no KYC review of user %s reached the desk", userID)
}

func TestDevStackFullOnboarding(t *testing.T) {
	s := startStack(t, freeConfig(t.TempDir(), true))
	createSimUser(t, s, "7001", "FR")

	a := startOnboarding(t, s, "7001")
	require.Equal(t, workflows.WorkflowID("7001"), a.WorkflowID)
	require.True(t, strings.HasPrefix(a.IdentificationURL, s.SimURL[:len("http://")]) || strings.Contains(a.IdentificationURL, "localhost"))

	// The identification page a person would open answers.
	resp, err := http.Get(a.IdentificationURL)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)

	simAction(t, s, identificationID(t, a.IdentificationURL), "success")
	waitState(t, s, "7001", workflows.StateKYCReviewPending)
	decideKYC(t, s, "7001", "validate")
	st := waitState(t, s, "7001", workflows.StateCompletedValidated)
	require.Equal(t, "VALIDATED", st.KYCReview.String())

	var us workflows.UserStatus
	require.Equal(t, http.StatusOK, call(t, http.MethodGet, s.APIURL+"/v1/onboardings/7001", s.Credentials.OnboardingKey, nil, &us))
	require.Equal(t, workflows.UserStatusApproved, us.Status)

	// Search attributes, through the visibility API.
	ctx := context.Background()
	require.Eventually(t, func() bool {
		resp, err := s.Client.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Query: `TreezorUserId = "7001" AND QESState = "COMPLETED_VALIDATED" AND KYCReview = "VALIDATED" AND QESAttempt = 1`,
		})
		return err == nil && len(resp.GetExecutions()) == 1
	}, 30*time.Second, 200*time.Millisecond)

	// The Web UI serves its page and its API sees the workflow.
	require.NotEmpty(t, s.UIURL)
	resp, err = http.Get(s.UIURL + "/")
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Contains(t, strings.ToLower(string(body)), "<html")
	q := url.QueryEscape(`TreezorUserId="7001"`)
	require.Eventually(t, func() bool {
		resp, err := http.Get(fmt.Sprintf("%s/api/v1/namespaces/%s/workflows?query=%s", s.UIURL, s.Server.Namespace(), q))
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode == http.StatusOK && strings.Contains(string(b), workflows.WorkflowID("7001"))
	}, 30*time.Second, 200*time.Millisecond)
}

func TestDevStackPortInUseNamesThePart(t *testing.T) {
	s := startStack(t, freeConfig(t.TempDir(), true))
	port := s.apiPort()
	_, err := Start(context.Background(), Config{Ephemeral: true, DataDir: t.TempDir(), APIPort: port, UIPort: embedded.UIDisabled})
	var pe *PortError
	require.ErrorAs(t, err, &pe)
	require.Equal(t, "api", pe.Purpose)
	require.Equal(t, port, pe.Port)
}
