package treezorsim

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/qesflow/qesflow/treezor"
)

const (
	testClientID      = "test-client"
	testClientSecret  = "test-client-secret"
	testWebhookSecret = "test-webhook-secret"
	waitTimeout       = 20 * time.Second
)

// testClock is an injectable clock that only moves when told.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func newTestClock() *testClock {
	return &testClock{t: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// harness is a simulator behind a real HTTP server, a webhook receiver and the real
// treezor.Client pointed at it.
type harness struct {
	t      *testing.T
	sim    *Simulator
	srv    *httptest.Server
	rec    *receiver
	client *treezor.Client
	clock  *testClock
}

type harnessOption func(*Config)

func newHarness(t *testing.T, opts ...harnessOption) *harness {
	t.Helper()
	return newHarnessWithLogger(t, zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel)), opts...)
}

func newHarnessWithLogger(t *testing.T, logger *zap.Logger, opts ...harnessOption) *harness {
	t.Helper()
	rec := newReceiver(t, testWebhookSecret)
	clock := newTestClock()
	cfg := Config{
		ClientID: testClientID, ClientSecret: testClientSecret, WebhookSecret: testWebhookSecret,
		WebhookURL: rec.srv.URL, Now: clock.Now, Seed: 42,
		WebhookRetryInterval: 5 * time.Millisecond,
		DownloadsEnabled:     true,
	}
	for _, o := range opts {
		o(&cfg)
	}
	sim := New(cfg, logger)
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	t.Cleanup(sim.Close) // runs first: ends hanging calls so that srv.Close does not wait
	client, err := treezor.NewClient(treezor.Config{
		BaseURL: srv.URL, ClientID: testClientID, ClientSecret: testClientSecret, Timeout: 10 * time.Second,
	})
	require.NoError(t, err)
	return &harness{t: t, sim: sim, srv: srv, rec: rec, client: client, clock: clock}
}

// completeUser is a user with every field QES needs.
func completeUser(id, country string) User {
	return User{UserID: id, Firstname: "Ada", Lastname: "Lovelace", Email: "ada@example.com", Country: country, Phone: "+33612345678"}
}

// initiate creates a complete user and starts a QES for it through the real client.
func (h *harness) initiate(userID, country string) treezor.Identification {
	h.t.Helper()
	h.sim.CreateUser(completeUser(userID, country))
	ident, err := h.client.InitiateQES(context.Background(), userID, "", "")
	require.NoError(h.t, err)
	return ident
}

// waitIdle waits until every queued webhook was delivered or given up.
func (h *harness) waitIdle() {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	require.NoError(h.t, h.sim.WaitIdle(ctx))
}

// token fetches an access token with the given scope ("" for the default) over raw HTTP.
func (h *harness) token(scope string) string {
	h.t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {testClientID}, "client_secret": {testClientSecret}}
	if scope != "" {
		form.Set("scope", scope)
	}
	resp, err := http.PostForm(h.srv.URL+"/oauth/token", form)
	require.NoError(h.t, err)
	defer resp.Body.Close()
	require.Equal(h.t, http.StatusOK, resp.StatusCode)
	var out struct {
		AccessToken string `json:"access_token"`
	}
	require.NoError(h.t, json.NewDecoder(resp.Body).Decode(&out))
	return out.AccessToken
}

// do sends a raw API request with a bearer token (none if token is "") and returns the
// status and body.
func (h *harness) do(method, path, token string, body any) (int, []byte) {
	h.t.Helper()
	var reader io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		require.NoError(h.t, err)
		reader = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, h.srv.URL+path, reader)
	require.NoError(h.t, err)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(h.t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(h.t, err)
	return resp.StatusCode, b
}

// postForm posts an HTML form to the simulator's pages and returns status and body.
func (h *harness) postForm(path string, form url.Values) (int, string) {
	h.t.Helper()
	resp, err := http.PostForm(h.srv.URL+path, form)
	require.NoError(h.t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(h.t, err)
	return resp.StatusCode, string(b)
}

func (h *harness) get(path string) (int, string) {
	h.t.Helper()
	resp, err := http.Get(h.srv.URL + path)
	require.NoError(h.t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(h.t, err)
	return resp.StatusCode, string(b)
}

// received is one webhook the receiver accepted: verified, decoded and normalised.
type received struct {
	event       treezor.Event
	env         *treezor.Envelope
	payload     map[string]any
	body        []byte
	contentType string
}

// receiver is a webhook endpoint that checks each delivery the way the bridge does:
// DecodeEnvelope, Verify, Event. It can fail the first N deliveries with 503 and hold
// deliveries with a hook.
type receiver struct {
	t      *testing.T
	secret string
	srv    *httptest.Server

	mu        sync.Mutex
	failFirst int
	failAll   bool
	calls     int
	got       []received
	problems  []string
	hook      func(treezor.Event) // called before answering 2xx; may block
	// variants accepts the WebhookVariants forms: text/plain, and a payload embedded with
	// raw UTF-8 and unescaped "/" (still verified against its signature).
	variants bool
}

func newReceiver(t *testing.T, secret string) *receiver {
	r := &receiver{t: t, secret: secret}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(req.Body)
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	r.mu.Lock()
	r.calls++
	fail := r.failAll || r.calls <= r.failFirst
	hook := r.hook
	r.mu.Unlock()
	if fail {
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	got, problem := r.check(req, body)
	if problem != "" {
		r.mu.Lock()
		r.problems = append(r.problems, problem)
		r.mu.Unlock()
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	if hook != nil {
		hook(got.event)
	}
	r.mu.Lock()
	r.got = append(r.got, got)
	r.mu.Unlock()
	w.WriteHeader(http.StatusOK)
}

// check verifies one delivery; it returns a problem description when it is not valid.
func (r *receiver) check(req *http.Request, body []byte) (received, string) {
	r.mu.Lock()
	variants := r.variants
	r.mu.Unlock()
	contentType := req.Header.Get("Content-Type")
	if req.Method != http.MethodPost || (contentType != "application/json" && !(variants && contentType == "text/plain")) {
		return received{}, "not a JSON POST"
	}
	env, err := treezor.DecodeEnvelope(body)
	if err != nil {
		return received{}, "decode: " + err.Error()
	}
	if err := treezor.Verify([]string{r.secret}, env); err != nil {
		return received{}, "verify: " + err.Error()
	}
	canonical, err := treezor.Canonicalize(env.ObjectPayload)
	if err != nil || (!variants && !bytes.Equal(canonical, env.ObjectPayload)) {
		return received{}, "object_payload is not embedded in its canonical (signed) form"
	}
	ev, err := env.Event()
	if err != nil {
		return received{}, "event: " + err.Error()
	}
	if !ev.Known {
		return received{}, "unknown webhook type " + env.Webhook
	}
	var payload map[string]any
	if err := json.Unmarshal(env.ObjectPayload, &payload); err != nil {
		return received{}, "payload: " + err.Error()
	}
	return received{event: ev, env: env, payload: payload, body: body, contentType: contentType}, ""
}

func (r *receiver) acceptVariants() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.variants = true
}

func (r *receiver) setFailFirst(n int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failFirst = n
}

func (r *receiver) setFailAll(fail bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failAll = fail
}

func (r *receiver) setHook(hook func(treezor.Event)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.hook = hook
}

// forUser returns the webhooks received for a user, in arrival order. It fails the test
// if any delivery was invalid.
func (r *receiver) forUser(userID string) []received {
	r.t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	require.Empty(r.t, r.problems, "invalid webhook deliveries")
	var out []received
	for _, g := range r.got {
		if g.event.UserID == userID {
			out = append(out, g)
		}
	}
	return out
}

func (r *receiver) callCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.calls
}

func (r *receiver) all() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.got...)
}

func eventTypes(rs []received) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.event.Type
	}
	return out
}

func webhookIDsOf(rs []received) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.event.WebhookID
	}
	return out
}

// eventually polls cond until it holds or the wait times out.
func eventually(t *testing.T, cond func() bool, msg string) {
	t.Helper()
	require.Eventually(t, cond, waitTimeout, 5*time.Millisecond, msg)
}

func contains(haystack, needle string) bool { return strings.Contains(haystack, needle) }
