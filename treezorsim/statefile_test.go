package treezorsim

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"
	"go.uber.org/zap/zaptest/observer"

	"github.com/qesflow/qesflow/treezor"
)

// node is one run of a simulator opened on a state file: the simulator, its HTTP server
// and the real treezor.Client pointed at it.
type node struct {
	t      *testing.T
	sim    *Simulator
	srv    *httptest.Server
	client *treezor.Client
}

func openNode(t *testing.T, cfg Config) *node {
	t.Helper()
	sim, err := Open(cfg, zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel)))
	require.NoError(t, err)
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	t.Cleanup(sim.Close)
	client, err := treezor.NewClient(treezor.Config{
		BaseURL: srv.URL, ClientID: testClientID, ClientSecret: testClientSecret, Timeout: 10 * time.Second,
	})
	require.NoError(t, err)
	return &node{t: t, sim: sim, srv: srv, client: client}
}

// stop closes the simulator (final save) and its server, as a process exit would.
func (n *node) stop() {
	n.sim.Close()
	n.srv.Close()
}

func (n *node) waitIdle() {
	n.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	require.NoError(n.t, n.sim.WaitIdle(ctx))
}

func (n *node) token() string {
	n.t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {testClientID}, "client_secret": {testClientSecret}}
	resp, err := http.PostForm(n.srv.URL+"/oauth/token", form)
	require.NoError(n.t, err)
	defer resp.Body.Close()
	require.Equal(n.t, http.StatusOK, resp.StatusCode)
	var out struct {
		AccessToken string `json:"access_token"`
	}
	require.NoError(n.t, json.NewDecoder(resp.Body).Decode(&out))
	return out.AccessToken
}

// switchEndpoint is a webhook endpoint answering a switchable status; it records the
// webhook id and user of every attempt.
type switchEndpoint struct {
	srv    *httptest.Server
	status atomic.Int32

	mu       sync.Mutex
	attempts []attemptSeen
}

type attemptSeen struct {
	webhookID, userID string
	status            int
}

func newSwitchEndpoint(t *testing.T) *switchEndpoint {
	e := &switchEndpoint{}
	e.status.Store(http.StatusOK)
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		status := int(e.status.Load())
		seen := attemptSeen{status: status}
		if env, err := treezor.DecodeEnvelope(body); err == nil {
			if ev, err := env.Event(); err == nil {
				seen.webhookID, seen.userID = ev.WebhookID, ev.UserID
			}
		}
		e.mu.Lock()
		e.attempts = append(e.attempts, seen)
		e.mu.Unlock()
		w.WriteHeader(status)
	}))
	t.Cleanup(e.srv.Close)
	return e
}

func (e *switchEndpoint) seen() []attemptSeen {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.attempts)
}

func persistentConfig(path, webhookURL string, clock *testClock) Config {
	return Config{
		ClientID: testClientID, ClientSecret: testClientSecret, WebhookSecret: testWebhookSecret,
		WebhookURL: webhookURL, Now: clock.Now, Seed: 42, StateFile: path,
		WebhookRetryInterval: 5 * time.Millisecond, WebhookMaxAttempts: 1_000_000, DownloadsEnabled: true,
	}
}

func TestStateSurvivesRestart(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "sim", "state.json")
	clock := newTestClock()
	endpoint := newSwitchEndpoint(t)

	// First run: a successful identification, a pending KYC review, an undelivered webhook.
	first := openNode(t, persistentConfig(path, endpoint.srv.URL, clock))
	oldNumericIDs := []string{first.sim.CreateUser(User{}), first.sim.CreateUser(User{})}
	first.sim.CreateUser(completeUser("u0", "DE"))
	require.NoError(t, first.sim.Payin("u0")) // the first random draws: webhook ids
	for _, id := range []string{"u1", "u2", "u3"} {
		first.sim.CreateUser(completeUser(id, "FR"))
	}
	ident1, err := first.client.InitiateQES(ctx, "u1", "https://app.example.com/back", "tag-1")
	require.NoError(t, err)
	require.NoError(t, first.sim.Act(ident1.IdentificationID, Success()))
	_, err = first.client.RequestKYCReview(ctx, "u2", "kyc-tag")
	require.NoError(t, err)
	first.waitIdle()
	snap1, _ := first.sim.Identification(ident1.IdentificationID)
	require.Len(t, snap1.Documents, 2)
	content1, ok := first.sim.DocumentContent(snap1.Documents[0])
	require.True(t, ok)
	oldToken := first.token()

	endpoint.status.Store(http.StatusServiceUnavailable)
	ident3, err := first.client.InitiateQES(ctx, "u3", "", "")
	require.NoError(t, err)
	require.NoError(t, first.sim.Act(ident3.IdentificationID, Abort(3011)))
	failedFor := func(userID string) []string {
		var ids []string
		for _, a := range endpoint.seen() {
			if a.userID == userID && a.status == http.StatusServiceUnavailable {
				ids = append(ids, a.webhookID)
			}
		}
		return ids
	}
	eventually(t, func() bool { return len(failedFor("u3")) >= 2 }, "the u3 webhook is being retried")
	undelivered := failedFor("u3")[0]
	first.stop()
	before := first.sim.Stats()
	oldWebhookIDs := map[string]bool{}
	for _, a := range endpoint.seen() {
		oldWebhookIDs[a.webhookID] = true
	}
	info, err := os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), info.Mode().Perm(), "the state file holds user data")

	// Second run on the same file, with a receiver that answers 200 and checks signatures.
	rec := newReceiver(t, testWebhookSecret)
	second := openNode(t, persistentConfig(path, rec.srv.URL, clock))
	stats := second.sim.Stats()
	require.Equal(t, before.IdentificationsCreated, stats.IdentificationsCreated)
	require.Equal(t, before.KYCReviewRequests, stats.KYCReviewRequests)
	require.Equal(t, before.WebhooksEmitted, stats.WebhooksEmitted)
	require.Equal(t, before.TokensIssued, stats.TokensIssued)

	// The undelivered webhook is delivered, unchanged, with its earlier attempts counted.
	second.waitIdle()
	got := rec.forUser("u3")
	require.Equal(t, []string{undelivered}, webhookIDsOf(got))
	require.Equal(t, treezor.EventQESAborted, got[0].event.Type)
	require.Equal(t, 3011, got[0].event.ReasonCode)
	deliveries := second.sim.Deliveries("u3")
	require.True(t, deliveries[len(deliveries)-1].OK)
	require.GreaterOrEqual(t, deliveries[len(deliveries)-1].Attempts, 2, "attempts carry over")
	require.Equal(t, before.WebhooksDelivered+1, second.sim.Stats().WebhooksDelivered)

	// The pending KYC review survived and can be decided; its webhook is the
	// first random draw of this run, like the payin's were in the first run.
	require.Equal(t, []string{"u2"}, second.sim.PendingKYCReviews())
	require.NoError(t, second.sim.DecideKYC("u2", KYCValidate, "documents in order"))
	second.waitIdle()
	u2 := rec.forUser("u2")
	require.NotEmpty(t, u2)
	require.Equal(t, treezor.EventUserKYCReview, u2[len(u2)-1].event.Type)
	require.Equal(t, treezor.KYCReviewValidated, u2[len(u2)-1].event.KYCReview)

	// Users, identifications, pages, documents and tokens are back.
	u1, ok := second.sim.User("u1")
	require.True(t, ok)
	require.Equal(t, completeUser("u1", "FR"), u1)
	status, page := getPage(t, second.srv.URL+"/identifications/"+ident1.IdentificationID)
	require.Equal(t, http.StatusOK, status)
	require.Contains(t, page, ident1.IdentificationID)
	snap2, ok := second.sim.Identification(ident1.IdentificationID)
	require.True(t, ok)
	require.Equal(t, snap1, snap2)
	docURL, err := second.client.DocumentDownloadURL(ctx, snap1.Documents[0])
	require.NoError(t, err)
	body, err := second.client.DownloadDocument(ctx, docURL)
	require.NoError(t, err)
	content2, err := io.ReadAll(body)
	require.NoError(t, err)
	require.NoError(t, body.Close())
	require.Equal(t, content1, content2)
	req, err := http.NewRequest(http.MethodGet, second.srv.URL+"/v1/users/u1", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+oldToken)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	require.Equal(t, http.StatusOK, resp.StatusCode, "a token issued before the restart still works")

	// accessTag replays return the first answers; new ids never collide with old ones.
	replayed, err := second.client.InitiateQES(ctx, "u1", "https://app.example.com/back", "tag-1")
	require.NoError(t, err)
	require.Equal(t, ident1, replayed)
	kyc, err := second.client.RequestKYCReview(ctx, "u2", "kyc-tag")
	require.NoError(t, err)
	require.Equal(t, treezor.KYCReviewPending, kyc.KYCReview)
	fresh, err := second.client.InitiateQES(ctx, "u1", "", "tag-2")
	require.NoError(t, err)
	require.NotContains(t, []string{ident1.IdentificationID, ident3.IdentificationID}, fresh.IdentificationID)
	require.NoError(t, second.sim.Act(fresh.IdentificationID, Success()))
	freshSnap, _ := second.sim.Identification(fresh.IdentificationID)
	oldNumericIDs = append(oldNumericIDs, snap1.Documents...)
	for _, id := range append(freshSnap.Documents, second.sim.CreateUser(User{})) {
		require.NotContains(t, oldNumericIDs, id, "numeric ids continue past the old ones")
	}

	for _, r := range rec.all() {
		if r.event.WebhookID != undelivered {
			require.False(t, oldWebhookIDs[r.event.WebhookID], "webhook id %s reused after the restart", r.event.WebhookID)
		}
	}
	stats = second.sim.Stats()
	require.Equal(t, 2, stats.IdentificationsCreated["u1"])
	require.Equal(t, 1, stats.IdentificationsCreated["u3"])
	require.Equal(t, 1, stats.KYCReviewRequests["u2"])
	require.Equal(t, before.AccessTagReplays+2, stats.AccessTagReplays)
	require.Equal(t, before.TokensIssued+1, stats.TokensIssued)
}

func getPage(t *testing.T, u string) (int, string) {
	t.Helper()
	resp, err := http.Get(u)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

func TestAutomaticKYCDecisionResumesAfterRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	clock := newTestClock()
	rec := newReceiver(t, testWebhookSecret)
	cfg := persistentConfig(path, rec.srv.URL, clock)
	cfg.AutoKYCDecision, cfg.AutoKYCDelay = KYCRefuse, time.Hour

	first := openNode(t, cfg)
	first.sim.CreateUser(completeUser("k1", "FR"))
	_, err := first.client.RequestKYCReview(context.Background(), "k1", "")
	require.NoError(t, err)
	first.stop()
	review, _, _ := first.sim.KYCStatus("k1")
	require.Equal(t, treezor.KYCReviewPending, review, "not decided before the hour is over")

	// The decision was due during the downtime: the next run applies it at once, even
	// though it is configured for the desk now.
	clock.Advance(2 * time.Hour)
	cfg.AutoKYCDecision = ""
	second := openNode(t, cfg)
	second.waitIdle()
	review, level, _ := second.sim.KYCStatus("k1")
	require.Equal(t, treezor.KYCReviewRefused, review)
	require.Equal(t, kycLevelRefused, level)
	got := rec.forUser("k1")
	require.Equal(t, treezor.KYCReviewRefused, got[len(got)-1].event.KYCReview)
	require.Empty(t, second.sim.PendingKYCReviews())
}

func TestOpenRejectsBadStateFiles(t *testing.T) {
	valid := func(t *testing.T) []byte {
		path := filepath.Join(t.TempDir(), "state.json")
		n := openNode(t, persistentConfig(path, "", newTestClock()))
		n.sim.CreateUser(completeUser("b1", "FR"))
		_, err := n.client.InitiateQES(context.Background(), "b1", "", "")
		require.NoError(t, err)
		n.stop()
		b, err := os.ReadFile(path)
		require.NoError(t, err)
		return b
	}(t)
	edit := func(f func(st map[string]any)) []byte {
		var st map[string]any
		require.NoError(t, json.Unmarshal(valid, &st))
		f(st)
		b, err := json.Marshal(st)
		require.NoError(t, err)
		return b
	}
	tests := []struct {
		name    string
		content []byte
		wantErr string
	}{
		{"not JSON", []byte("{\"version\": 1, \"users\": ["), "decode"},
		{"empty", []byte{}, "decode"},
		{"other version", edit(func(st map[string]any) { st["version"] = 2 }), "unsupported state version 2"},
		{"wrong shape", edit(func(st map[string]any) { st["users"] = "everyone" }), "decode"},
		{"identification of an unknown user", edit(func(st map[string]any) { st["users"] = []any{} }), "unknown user b1"},
		{"invalid identification state", edit(func(st map[string]any) {
			st["identifications"].([]any)[0].(map[string]any)["state"] = "HALF_DONE"
		}), "unknown state"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "state.json")
			require.NoError(t, os.WriteFile(path, tc.content, 0o600))
			sim, err := Open(persistentConfig(path, "", newTestClock()), nil)
			require.Nil(t, sim)
			require.ErrorContains(t, err, tc.wantErr)
			require.ErrorContains(t, err, path, "the error names the file")

			// New cannot fail: it logs the error and runs in memory, leaving the file alone.
			core, logs := observer.New(zap.ErrorLevel)
			s := New(persistentConfig(path, "", newTestClock()), zap.New(core))
			s.CreateUser(completeUser("b2", "FR"))
			s.Close()
			require.Equal(t, 1, logs.Len())
			after, err := os.ReadFile(path)
			require.NoError(t, err)
			require.Equal(t, tc.content, after)
		})
	}
}

func TestOpenFailsOnUnwritablePath(t *testing.T) {
	dir := t.TempDir()
	blocker := filepath.Join(dir, "file")
	require.NoError(t, os.WriteFile(blocker, nil, 0o600))
	path := filepath.Join(blocker, "state.json") // a directory that is a file
	_, err := Open(persistentConfig(path, "", newTestClock()), nil)
	require.ErrorContains(t, err, path)
}

func TestSaverWritesEveryChangeWithoutClose(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "state.json")
	rec := newReceiver(t, testWebhookSecret)
	n := openNode(t, persistentConfig(path, rec.srv.URL, newTestClock()))
	var identID string
	steps := []struct {
		name string
		do   func() error
	}{
		{"create user", func() error { n.sim.CreateUser(completeUser("w1", "DE")); return nil }},
		{"update user", func() error { return n.sim.UpdateUser(User{UserID: "w1", Phone: "+4915112345678"}) }},
		{"issue token", func() error { n.token(); return nil }},
		{"initiate QES", func() error {
			ident, err := n.client.InitiateQES(ctx, "w1", "", "tag")
			identID = ident.IdentificationID
			return err
		}},
		{"replay accessTag", func() error { _, err := n.client.InitiateQES(ctx, "w1", "", "tag"); return err }},
		{"act and deliver", func() error { return n.sim.Act(identID, Success()) }},
		{"request KYC review", func() error { _, err := n.client.RequestKYCReview(ctx, "w1", ""); return err }},
		{"decide KYC review", func() error { return n.sim.DecideKYC("w1", KYCValidate, "") }},
		{"payin", func() error { return n.sim.Payin("w1") }},
	}
	for _, step := range steps {
		// Deliveries wait until the step's direct changes are checked and saved, so that the
		// changes of delivering are checked on their own.
		release := make(chan struct{})
		rec.setHook(func(treezor.Event) { <-release })
		require.NoError(t, n.sim.Save())
		require.NoError(t, step.do(), step.name)
		require.True(t, savedOrMarked(t, n.sim, path), "change not marked for saving: %s", step.name)
		require.NoError(t, n.sim.Save())
		close(release)
		n.waitIdle()
		rec.setHook(nil)
		require.True(t, savedOrMarked(t, n.sim, path), "delivery change not marked for saving: %s", step.name)
		// Without any Close or Save, the file catches up with the state.
		eventually(t, func() bool { return fileHoldsState(t, n.sim, path) }, "saved after: "+step.name)
	}
	entries, err := os.ReadDir(filepath.Dir(path))
	require.NoError(t, err)
	require.Len(t, entries, 1, "no temporary file left behind")
}

// savedOrMarked reports whether every change of the state is in the file or marked for
// the saver, while no save runs.
func savedOrMarked(t *testing.T, sim *Simulator, path string) bool {
	sim.saver.mu.Lock()
	defer sim.saver.mu.Unlock()
	sim.mu.Lock()
	dirty := sim.dirty
	sim.mu.Unlock()
	return dirty || fileHoldsState(t, sim, path)
}

// fileHoldsState reports whether the state file holds the simulator's current state.
func fileHoldsState(t *testing.T, sim *Simulator, path string) bool {
	onDisk, err := os.ReadFile(path)
	if err != nil {
		return false
	}
	sim.mu.Lock()
	st := sim.snapshotLocked()
	sim.mu.Unlock()
	st.sort()
	var now bytes.Buffer
	enc := json.NewEncoder(&now)
	enc.SetEscapeHTML(false)
	require.NoError(t, enc.Encode(st))
	return bytes.Equal(onDisk, now.Bytes())
}

func TestConcurrentMutationsWhileSaving(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	rec := newReceiver(t, testWebhookSecret)
	cfg := persistentConfig(path, rec.srv.URL, newTestClock())
	n := openNode(t, cfg)
	stop := make(chan struct{})
	saverDone := make(chan error, 1)
	go func() {
		for {
			select {
			case <-stop:
				saverDone <- nil
				return
			default:
			}
			if err := n.sim.Save(); err != nil {
				saverDone <- err
				return
			}
		}
	}()
	const workers, perWorker = 4, 8
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range perWorker {
				id := fmt.Sprintf("c%d-%d", w, i)
				n.sim.CreateUser(completeUser(id, "DE"))
				ident, err := n.client.InitiateQES(context.Background(), id, "", "tag-"+id)
				if !assertNoError(t, err) {
					return
				}
				assertNoError(t, n.sim.Act(ident.IdentificationID, Success()))
				_, err = n.client.RequestKYCReview(context.Background(), id, "")
				assertNoError(t, err)
				assertNoError(t, n.sim.UpdateUser(User{UserID: id, Phone: "+4915112345678"}))
			}
		})
	}
	wg.Wait()
	n.waitIdle()
	close(stop)
	require.NoError(t, <-saverDone)
	want := n.sim.Stats()
	n.stop()

	again := openNode(t, cfg)
	got := again.sim.Stats()
	require.Equal(t, want.IdentificationsCreated, got.IdentificationsCreated)
	require.Equal(t, want.WebhooksDelivered, got.WebhooksDelivered)
	require.Len(t, again.sim.PendingKYCReviews(), workers*perWorker)
	for w := range workers {
		for i := range perWorker {
			id := fmt.Sprintf("c%d-%d", w, i)
			u, ok := again.sim.User(id)
			require.True(t, ok)
			require.Equal(t, "+4915112345678", u.Phone)
			idents := again.sim.Identifications(id)
			require.Len(t, idents, 1)
			require.Equal(t, StateFinalized, idents[0].State)
		}
	}
}

// assertNoError reports err from a goroutine other than the test's.
func assertNoError(t *testing.T, err error) bool {
	if err != nil {
		t.Errorf("unexpected error: %v", err)
		return false
	}
	return true
}

// BenchmarkSave measures one save of a state of 10,000 users, each with a successful
// identification (two documents), a pending KYC review, two stored accessTag answers and
// six delivered webhooks. It reports the time s.mu is held for the snapshot (the only part
// that blocks the API) and the file size; ns/op is a whole save (snapshot, encoding, write,
// fsync, rename) plus that extra snapshot.
//
//	go test -run '^$' -bench Save -benchtime 10x ./treezorsim/
func BenchmarkSave(b *testing.B) {
	const users = 10_000
	path := filepath.Join(b.TempDir(), "state.json")
	sim, err := Open(Config{WebhookURL: "http://bridge.invalid/webhooks/treezor", StateFile: path, Seed: 1}, nil)
	require.NoError(b, err)
	defer sim.Close()
	sim.client.Transport = answer200{} // deliveries without sockets: 60,000 of them
	for i := range users {
		id := fmt.Sprintf("%d", 500_000+i)
		sim.CreateUser(completeUser(id, "FR"))
		sim.mu.Lock()
		ident := sim.newIdentificationLocked(sim.users[id], "http://localhost:8090", "https://app.example.com/back")
		sim.rememberLocked(accessTagKey{op: "qes", userID: id, tag: "qes-" + id}, http.StatusCreated, sim.qesAnswer(ident))
		sim.mu.Unlock()
		require.NoError(b, sim.Act(ident.ID, Success()))
		sim.mu.Lock()
		body, err := sim.requestReviewLocked(sim.users[id])
		require.NoError(b, err)
		sim.rememberLocked(accessTagKey{op: "kycreview", userID: id, tag: "kyc-" + id}, http.StatusOK, body)
		sim.mu.Unlock()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	require.NoError(b, sim.WaitIdle(ctx))

	var lockHeld time.Duration
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		sim.mu.Lock()
		_ = sim.snapshotLocked()
		sim.mu.Unlock()
		lockHeld += time.Since(start)
		require.NoError(b, sim.Save())
	}
	b.StopTimer()
	info, err := os.Stat(path)
	require.NoError(b, err)
	b.ReportMetric(float64(info.Size()), "file-bytes")
	b.ReportMetric(float64(lockHeld.Microseconds())/float64(b.N)/1000, "snapshot-ms")
}

// answer200 is a RoundTripper that answers 200 to everything.
type answer200 struct{}

func (answer200) RoundTrip(r *http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: http.StatusOK, Body: http.NoBody, Header: http.Header{}, Request: r}, nil
}
