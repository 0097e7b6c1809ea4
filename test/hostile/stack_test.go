package hostile

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/qesflow/qesflow/devstack"
	"github.com/qesflow/qesflow/embedded"
	"github.com/qesflow/qesflow/workflows"
)

// callTimeout bounds one HTTP exchange; generous, the box is shared.
const callTimeout = 60 * time.Second

// startStack runs an ephemeral dev stack on free ports for one test.
func startStack(t *testing.T) *devstack.Stack {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s, err := devstack.Start(ctx, devstack.Config{
		Ephemeral: true, DataDir: t.TempDir(),
		TemporalPort: 0, APIPort: 0, BridgePort: 0, SimPort: 0, UIPort: embedded.UIDisabled,
	})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Stop()) })
	return s
}

// httpClient never follows redirects: a redirect is an answer to check, not to follow.
var httpClient = &http.Client{
	Timeout:       callTimeout,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// request is one HTTP request to send as is.
type request struct {
	method string
	url    string // base URL; the path goes in rawPath
	// rawPath is sent byte for byte as the request target (no cleaning, no re-escaping).
	rawPath string
	header  map[string]string
	body    []byte
	// chunked sends the body without Content-Length.
	chunked bool
}

// response is one answer, body read.
type response struct {
	status int
	header http.Header
	body   []byte
}

// send performs r over real HTTP.
func send(t *testing.T, r request) response {
	t.Helper()
	var body io.Reader
	if r.body != nil {
		body = bytes.NewReader(r.body)
		if r.chunked {
			body = io.MultiReader(bytes.NewReader(r.body)) // hides the length
		}
	}
	req, err := http.NewRequest(r.method, r.url+"/", body)
	require.NoError(t, err)
	req.URL.Opaque = r.rawPath
	for k, v := range r.header {
		req.Header.Set(k, v)
	}
	resp, err := httpClient.Do(req)
	require.NoError(t, err, "%s %s", r.method, r.rawPath)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

// postJSON sends v as JSON and decodes a 2xx answer into out.
func postJSON(t *testing.T, target, key string, v, out any) int {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	h := map[string]string{"Content-Type": "application/json"}
	if key != "" {
		h["Authorization"] = "Bearer " + key
	}
	u, err := url.Parse(target)
	require.NoError(t, err)
	resp := send(t, request{method: http.MethodPost, url: u.Scheme + "://" + u.Host, rawPath: u.EscapedPath(), header: h, body: b})
	if out != nil && resp.status < 300 {
		require.NoError(t, json.Unmarshal(resp.body, out), "%s", resp.body)
	}
	return resp.status
}

// runningOnboarding creates a sandbox user in the simulator and starts its onboarding through
// the API; it returns the identification id the workflow now waits on.
func runningOnboarding(t *testing.T, s *devstack.Stack, userID string) string {
	t.Helper()
	require.Equal(t, http.StatusOK, postJSON(t, s.SimURL+"/sim/users", "", map[string]string{
		"userId": userID, "firstname": "Alex", "lastname": "Muster", "email": "alex@example.com",
		"country": "FR", "phone": "+33600000000",
	}, nil))
	var started struct {
		IdentificationID string `json:"identificationId"`
		Status           string `json:"status"`
	}
	require.Equal(t, http.StatusCreated, postJSON(t, s.APIURL+"/v1/onboardings", s.Credentials.OnboardingKey,
		map[string]string{"userId": userID}, &started))
	require.NotEmpty(t, started.IdentificationID)
	return started.IdentificationID
}

// snapshot is what a request that reached the workflow would change.
type snapshot struct {
	State            workflows.State
	Attempt          int
	IdentificationID string
	Timeline         int // entries, dropped ones included
	LastUpdate       time.Time
}

// workflowSnapshot queries the onboarding's internal status.
func workflowSnapshot(t *testing.T, s *devstack.Stack, userID string) snapshot {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	v, err := s.Client.QueryWorkflow(ctx, workflows.WorkflowID(userID), "", workflows.QueryStatus)
	require.NoError(t, err)
	var st workflows.Status
	require.NoError(t, v.Get(&st))
	return snapshot{
		State: st.State, Attempt: st.Attempt, IdentificationID: st.IdentificationID,
		Timeline: len(st.Timeline) + st.TimelineDropped, LastUpdate: st.UpdatedAt,
	}
}

// waitSnapshot polls until the onboarding's snapshot satisfies cond.
func waitSnapshot(t *testing.T, s *devstack.Stack, userID string, what string, cond func(snapshot) bool) snapshot {
	t.Helper()
	var last snapshot
	require.Eventually(t, func() bool {
		last = workflowSnapshot(t, s, userID)
		return cond(last)
	}, callTimeout, 100*time.Millisecond, "onboarding of %s never reached %s (last %+v)", userID, what, last)
	return last
}

// requireServing checks /healthz and /readyz of a server.
func requireServing(t *testing.T, baseURL string) {
	t.Helper()
	for _, path := range []string{"/healthz", "/readyz"} {
		resp := send(t, request{method: http.MethodGet, url: baseURL, rawPath: path})
		require.Equal(t, http.StatusOK, resp.status, "%s%s: %s", baseURL, path, resp.body)
	}
}
