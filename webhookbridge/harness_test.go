package webhookbridge_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/qesflow/qesflow/internal/httpserver"
	"github.com/qesflow/qesflow/treezor"
	"github.com/qesflow/qesflow/treezorsim"
	"github.com/qesflow/qesflow/treezorsim/simtest"
	"github.com/qesflow/qesflow/webhookbridge"
	"github.com/qesflow/qesflow/worker"
	"github.com/qesflow/qesflow/workflows"
)

// Webhook secrets of the tests: the bridge accepts both (rotation).
const (
	testSecret    = "whsec-current-7f3a"
	retiredSecret = "whsec-retired-19bc"
)

// bridgeUnderTest is a bridge served over loopback HTTP by internal/httpserver, in front of
// a real Temporal server with a real worker running the real workflow.
type bridgeUnderTest struct {
	t       *testing.T
	c       client.Client
	url     string
	reg     *prometheus.Registry
	logs    *observer.ObservedLogs
	treezor *simtest.Server // nil: the test creates its users itself
}

// startTreezor serves the Treezor simulator; it delivers no webhook (the tests post their
// own, signed with the bridge's secrets).
func startTreezor(t *testing.T) *simtest.Server {
	t.Helper()
	return simtest.Start(t, treezorsim.Config{DownloadsEnabled: true})
}

// startWorker runs the real worker (workflow and activities) against the simulator.
func startWorker(t *testing.T, c client.Client, tz *simtest.Server) {
	t.Helper()
	w, err := worker.New(c, worker.Options{Treezor: tz.Client(t), DocumentDir: t.TempDir(), StopTimeout: 5 * time.Second})
	require.NoError(t, err)
	require.NoError(t, w.Start())
	t.Cleanup(w.Stop)
}

// startBridge serves the bridge for c on a free loopback port until the test ends.
func startBridge(t *testing.T, c client.Client, tz *simtest.Server) *bridgeUnderTest {
	t.Helper()
	return startBridgeWith(t, c, tz, retiredSecret, testSecret)
}

// startBridgeWith is startBridge with the given webhook secrets.
func startBridgeWith(t *testing.T, c client.Client, tz *simtest.Server, secrets ...string) *bridgeUnderTest {
	t.Helper()
	core, logs := observer.New(zap.DebugLevel)
	logger := zap.New(core)
	reg := prometheus.NewRegistry()
	handler, err := webhookbridge.New(webhookbridge.Config{
		Secrets:        secrets,
		Temporal:       c,
		Logger:         logger,
		Registry:       reg,
		SignalTimeout:  3 * time.Second,
		LookupAttempts: 2,
		LookupInterval: 200 * time.Millisecond,
	})
	require.NoError(t, err)
	srv := httpserver.New(httpserver.Options{Name: "bridge", Addr: "127.0.0.1:0", Handler: handler, Logger: logger, Registry: reg})
	require.NoError(t, srv.Listen())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
	})
	return &bridgeUnderTest{t: t, c: c, url: "http://" + srv.Addr(), reg: reg, logs: logs, treezor: tz}
}

// startOnboarding creates user at Treezor, starts its onboarding and waits until it awaits
// the user, with the identification id Treezor handed out.
func (b *bridgeUnderTest) startOnboarding(user string) workflows.Status {
	b.t.Helper()
	if b.treezor != nil {
		b.treezor.User(user)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := b.c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:        workflows.WorkflowID(user),
		TaskQueue: workflows.TaskQueue,
	}, workflows.WorkflowName, workflows.Input{UserID: user})
	require.NoError(b.t, err)
	return b.waitFor(user, func(s workflows.Status) bool {
		return s.State == workflows.StateAwaitingUser && s.IdentificationID != ""
	})
}

// status queries the onboarding's internal status.
func (b *bridgeUnderTest) status(user string) (workflows.Status, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	v, err := b.c.QueryWorkflow(ctx, workflows.WorkflowID(user), "", workflows.QueryStatus)
	if err != nil {
		return workflows.Status{}, err
	}
	var s workflows.Status
	return s, v.Get(&s)
}

// waitFor polls the status until cond holds (generous timeout: the box is shared).
func (b *bridgeUnderTest) waitFor(user string, cond func(workflows.Status) bool) workflows.Status {
	b.t.Helper()
	var last workflows.Status
	require.Eventually(b.t, func() bool {
		s, err := b.status(user)
		if err != nil {
			return false
		}
		last = s
		return cond(s)
	}, 60*time.Second, 50*time.Millisecond, "onboarding of %s never reached the expected status", user)
	return last
}

// answer is the bridge's JSON answer.
type answer struct {
	Status    string `json:"status"`
	WebhookID string `json:"webhookId"`
	Error     string `json:"error"`
}

type reply struct {
	code   int
	header http.Header
	answer answer
}

// post sends a webhook body to the bridge.
func (b *bridgeUnderTest) post(body []byte, contentType string) reply {
	b.t.Helper()
	return postTo(b.t, b.url, bytes.NewReader(body), int64(len(body)), contentType)
}

func postTo(t *testing.T, base string, body io.Reader, length int64, contentType string) reply {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, base+webhookbridge.Path, body)
	require.NoError(t, err)
	req.ContentLength = length
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	var a answer
	require.NoError(t, json.Unmarshal(raw, &a), "answer %q", raw)
	return reply{code: resp.StatusCode, header: resp.Header, answer: a}
}

// requests is the value of qesflow_bridge_requests_total{event_type, outcome}.
func (b *bridgeUnderTest) requests(eventType, outcome string) float64 {
	b.t.Helper()
	return b.counter("qesflow_bridge_requests_total", map[string]string{"event_type": eventType, "outcome": outcome})
}

// counter is the value of the counter name whose labels include want (summed).
func (b *bridgeUnderTest) counter(name string, want map[string]string) float64 {
	b.t.Helper()
	mfs, err := b.reg.Gather()
	require.NoError(b.t, err)
	total := 0.0
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			match := true
			for k, v := range want {
				match = match && labels[k] == v
			}
			if match {
				total += m.GetCounter().GetValue()
			}
		}
	}
	return total
}

// webhook describes one signed delivery.
type webhook struct {
	Type, ID, Object, ObjectID string
	Payload                    any
	Secret                     string    // default testSecret
	Signature                  string    // overrides the computed signature when set
	Unsigned                   bool      // sends an empty signature
	CreatedAt                  time.Time // webhook_created_at; default now
	Wrapped                    bool      // the wrapped form {"messageId","webhookId","webhook":{…}}
}

// body encodes w as Treezor does: flat envelope, object_payload signed.
func (w webhook) body(t *testing.T) []byte {
	t.Helper()
	raw, err := json.Marshal(w.Payload)
	require.NoError(t, err)
	secret := w.Secret
	if secret == "" {
		secret = testSecret
	}
	sig := w.Signature
	if sig == "" && !w.Unsigned {
		sig, err = treezor.Sign(secret, raw)
		require.NoError(t, err)
	}
	created := w.CreatedAt
	if created.IsZero() {
		created = time.Now()
	}
	body, err := treezor.EncodeEnvelope(&treezor.Envelope{
		Webhook: w.Type, WebhookID: w.ID, CreatedAt: created, Object: w.Object, ObjectID: w.ObjectID,
		ObjectPayload: raw, Signature: sig,
	})
	require.NoError(t, err)
	if w.Wrapped {
		return []byte(`{"messageId":"msg-` + w.ID + `","webhookId":"` + w.ID + `","webhook":` + string(body) + `}`)
	}
	return body
}

// qesWebhook is a qes.* webhook for user (empty: no userId in the payload) and identification.
func qesWebhook(typ, webhookID, user, identification, result string, reasonCode int) webhook {
	item := map[string]any{"identificationId": identification, "result": result}
	if user != "" {
		item["userId"] = user
	}
	if reasonCode != 0 {
		item["reason"] = map[string]any{"reasonCode": reasonCode, "reasonMessage": "reason " + string(rune('0'+reasonCode%10))}
	}
	return webhook{Type: typ, ID: webhookID, Object: "qes", ObjectID: identification, Payload: map[string]any{"qes": []any{item}}}
}

// timelineHas reports whether the status timeline records webhookID.
func timelineHas(s workflows.Status, webhookID string) bool {
	for _, e := range s.Timeline {
		if e.WebhookID == webhookID {
			return true
		}
	}
	return false
}
