package starter

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/qesflow/qesflow/internal/testenv"
	"github.com/qesflow/qesflow/outbound"
	"github.com/qesflow/qesflow/treezorsim"
	"github.com/qesflow/qesflow/treezorsim/simtest"
	"github.com/qesflow/qesflow/webhookbridge"
	"github.com/qesflow/qesflow/worker"
	"github.com/qesflow/qesflow/workflows"
)

// flowEnv is the whole product on loopback: a real in-process Temporal server, the real
// worker (workflow and activities), the real webhook bridge, the Treezor simulator (the only
// stand-in: Treezor itself) and the API under test.
type flowEnv struct {
	t       *testing.T
	tc      client.Client
	sim     *simtest.Server
	api     *apiHarness
	allLogs *observer.ObservedLogs // worker, bridge and simulator logs
}

func newFlowEnv(t *testing.T, cfg Config) *flowEnv { return newFlowEnvWith(t, cfg, nil) }

// newFlowEnvWith is newFlowEnv with a worker that delivers outbound events with events.
func newFlowEnvWith(t *testing.T, cfg Config, events *outbound.Sender) *flowEnv {
	t.Helper()
	ts := testenv.NewTemporal(t)
	tc := ts.GetDefaultClient()
	core, logs := observer.New(zap.InfoLevel)
	logger := zap.New(core)

	sim := simtest.Start(t, treezorsim.Config{WebhookRetryInterval: 200 * time.Millisecond}, logger.Named("sim"))
	opts := worker.Options{Treezor: sim.Client(t), Logger: logger.Named("worker")}
	if events != nil {
		opts.Events = events
	}
	w, err := worker.New(tc, opts)
	require.NoError(t, err)
	require.NoError(t, w.Start())
	t.Cleanup(w.Stop)

	bridge, err := webhookbridge.New(webhookbridge.Config{
		Secrets: []string{treezorsim.DevWebhookSecret}, Temporal: tc, Logger: logger.Named("bridge"),
	})
	require.NoError(t, err)
	bridgeSrv := httptest.NewServer(bridge)
	t.Cleanup(bridgeSrv.Close)
	sim.SetWebhookURL(bridgeSrv.URL + webhookbridge.Path)

	return &flowEnv{t: t, tc: tc, sim: sim, api: startAPI(t, tc, cfg), allLogs: logs}
}

// fullUser creates a simulator user with every field QES needs.
func (e *flowEnv) fullUser(country string) string {
	return e.sim.CreateUser(treezorsim.User{
		Firstname: "Ada", Lastname: "Lovelace", Email: "ada@example.com", Country: country, Phone: "+33612345678",
	})
}

// create posts an onboarding and returns the answer.
func (e *flowEnv) create(userID, key string, extra map[string]any) apiResponse {
	e.t.Helper()
	body := map[string]any{"userId": userID, "redirectUrl": "https://app.example.com/back"}
	for k, v := range extra {
		body[k] = v
	}
	return e.api.do(http.MethodPost, "/v1/onboardings", key, body)
}

// onboarding decodes a 200/201 answer.
func (e *flowEnv) onboarding(r apiResponse) onboardingResponse {
	e.t.Helper()
	require.Contains(e.t, []int{http.StatusOK, http.StatusCreated}, r.Status, "body: %s", r.Body)
	require.Equal(e.t, "no-store", r.Header.Get("Cache-Control"))
	var o onboardingResponse
	r.decode(e.t, &o)
	return o
}

func (e *flowEnv) details(userID string) workflows.Status {
	e.t.Helper()
	r := e.api.do(http.MethodGet, "/v1/onboardings/"+userID+"/details", keyCompliance, nil)
	require.Equal(e.t, http.StatusOK, r.Status, "body: %s", r.Body)
	var st workflows.Status
	r.decode(e.t, &st)
	return st
}

func (e *flowEnv) userStatus(userID string) (workflows.UserStatus, []byte) {
	e.t.Helper()
	r := e.api.do(http.MethodGet, "/v1/onboardings/"+userID, keyOnboarding, nil)
	require.Equal(e.t, http.StatusOK, r.Status, "body: %s", r.Body)
	var us workflows.UserStatus
	r.decode(e.t, &us)
	return us, r.Body
}

// waitState polls the details until the onboarding is in one of states.
func (e *flowEnv) waitState(userID string, states ...workflows.State) workflows.Status {
	e.t.Helper()
	var st workflows.Status
	ok := poll(func() bool {
		st = e.details(userID)
		for _, s := range states {
			if st.State == s {
				return true
			}
		}
		return false
	})
	if !ok {
		e.t.Fatalf("user %s never reached %s; last status: %+v; deliveries: %+v",
			userID, statesString(states), st, e.sim.Deliveries(userID))
	}
	return st
}

// waitClosed waits for the user's latest run to end and returns its result.
func (e *flowEnv) waitClosed(userID string) workflows.Result {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var res workflows.Result
	require.NoError(e.t, e.tc.GetWorkflow(ctx, workflows.WorkflowID(userID), "").Get(ctx, &res))
	return res
}

// identification waits until the simulator issued an identification for the user.
func (e *flowEnv) identification(userID string) (id, url string) {
	e.t.Helper()
	eventually(e.t, "an identification for "+userID, func() bool {
		var ok bool
		id, url, ok = e.sim.LastIdentification(userID)
		return ok
	})
	return id, url
}

func statesString(states []workflows.State) string {
	out := ""
	for i, s := range states {
		if i > 0 {
			out += "|"
		}
		out += string(s)
	}
	return out
}
