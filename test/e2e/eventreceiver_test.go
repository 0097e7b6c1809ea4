package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"sort"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/qesflow/qesflow/outbound"
	"github.com/qesflow/qesflow/outbound/outboundtest"
)

// Chaos settings of the onboarding backend that receives the outbound events.
const (
	eventSenderTimeout = time.Second             // the sender gives up on a request after this
	eventStall         = 1500 * time.Millisecond // a stalled answer outlasts the sender's timeout
	eventFaultRate     = 0.10                    // deliveries answered 503
	eventStallRate     = 0.03                    // deliveries accepted, then answered too late
	eventDrainTimeout  = 2 * time.Minute         // how long the suite waits for pending events
)

// eventDelivery is one verified request the chaos receiver saw.
type eventDelivery struct {
	id       string
	event    outbound.Event
	accepted bool // the receiver took it (2xx, or accepted and answered after the timeout)
}

// chaosReceiver is the onboarding backend of the chaos stack: it verifies every delivery
// with the Standard Webhooks library, answers 503 or stalls on a seeded share, and keeps
// what it accepted, deduplicated on webhook-id as a receiver does.
type chaosReceiver struct {
	url string
	wh  *standardwebhooks.Webhook

	mu         sync.Mutex
	rng        *rand.Rand
	seen       map[string]bool            // webhook ids accepted
	byUser     map[string][]eventDelivery // accepted, first of each id, in arrival order
	duplicates int                        // deliveries of an already accepted webhook id
	refused    int                        // answered 503
	stalled    int                        // accepted and answered after the sender's timeout
	outOfOrder []string                   // per user: a lower sequence after a higher one
	failures   []string                   // requests that did not verify or decode
	requests   int
}

// newChaosReceiver starts the receiver on loopback; it stops with the test.
func newChaosReceiver(t *testing.T, secret string, seed uint64) *chaosReceiver {
	t.Helper()
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		t.Fatal(err)
	}
	r := &chaosReceiver{wh: wh, rng: newRNG(seed), seen: map[string]bool{}, byUser: map[string][]eventDelivery{}}
	srv := httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(srv.Close)
	r.url = srv.URL + "/events"
	return r
}

func (r *chaosReceiver) serve(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(req.Body)
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	stall := r.take(body, req.Header)
	if stall < 0 {
		w.WriteHeader(int(-stall))
		return
	}
	time.Sleep(stall) // the sender has given up by then and retries with the same id
	w.WriteHeader(http.StatusNoContent)
}

// take verifies and records one request; it returns how long to stall before answering
// 204, or minus the status to answer at once.
func (r *chaosReceiver) take(body []byte, header http.Header) time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.requests++
	if err := r.wh.Verify(body, header); err != nil {
		r.failures = append(r.failures, "verify: "+err.Error())
		return -http.StatusUnauthorized
	}
	d := eventDelivery{id: header.Get(standardwebhooks.HeaderWebhookID)}
	if err := json.Unmarshal(body, &d.event); err != nil {
		r.failures = append(r.failures, "decode: "+err.Error())
		return -http.StatusBadRequest
	}
	if r.seen[d.id] {
		r.duplicates++
		return 0 // already taken: acknowledged again
	}
	draw := r.rng.Float64()
	if draw < eventFaultRate {
		r.refused++
		return -http.StatusServiceUnavailable
	}
	user := d.event.Data.UserID
	prev := r.byUser[user]
	if n := len(prev); n > 0 && d.event.Data.Sequence < prev[n-1].event.Data.Sequence {
		r.outOfOrder = append(r.outOfOrder, fmt.Sprintf("user %s: event %d (%s) after %d",
			user, d.event.Data.Sequence, d.event.Type, prev[n-1].event.Data.Sequence))
	}
	d.accepted = true
	r.seen[d.id] = true
	r.byUser[user] = append(prev, d)
	if draw < eventFaultRate+eventStallRate {
		r.stalled++
		return eventStall
	}
	return 0
}

// accepted returns the user's accepted events in arrival order.
func (r *chaosReceiver) accepted(userID string) []eventDelivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]eventDelivery(nil), r.byUser[userID]...)
}

// eventSender is the sender of the stack's workers, to the chaos receiver.
func eventSender(t *testing.T, r *chaosReceiver, secret string) *outbound.Sender {
	t.Helper()
	secrets, err := outbound.ParseSecrets(secret)
	if err != nil {
		t.Fatal(err)
	}
	s, err := outbound.NewSender(outbound.Config{
		Endpoints: []outbound.Endpoint{{Name: "chaos-backend", URL: r.url}},
		Secrets:   secrets,
		Timeout:   eventSenderTimeout,
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// eventChaosSecret signs the chaos stack's outbound events.
var eventChaosSecret = outboundtest.Secret("chaos-events")

// eventVerdict sums the oracle over the outbound events.
type eventVerdict struct {
	delivered, lost, outOfOrder, duplicates, refused, stalled, requests int
}

// checkEvents waits (bounded) for every flow's queued events to reach the receiver, then
// checks per user that the distinct events accepted are exactly 1..queued, in order, and
// that the last one is final when the onboarding ended.
func checkEvents(ctx context.Context, t *testing.T, flows []*flow, api *apiClient, r *chaosReceiver) eventVerdict {
	queued := make([]int, len(flows))
	ended := make([]bool, len(flows))
	for i, f := range flows {
		st, err := api.details(ctx, f.userID)
		if err != nil {
			t.Errorf("chaos: events of flow %s: read details: %v", f.userID, err)
			continue
		}
		if st.Events == nil {
			t.Errorf("chaos: flow %s: no event delivery state in its details", f.userID)
			continue
		}
		queued[i] = st.Events.Queued
		ended[i] = st.State.Terminal()
		if st.Events.Undelivered > 0 {
			t.Errorf("chaos: flow %s: %d events undelivered", f.userID, st.Events.Undelivered)
		}
	}
	drain, cancel := context.WithTimeout(ctx, eventDrainTimeout)
	defer cancel()
	_ = poll(drain, 500*time.Millisecond, func() (bool, error) {
		for i, f := range flows {
			if len(r.accepted(f.userID)) < queued[i] {
				return false, nil
			}
		}
		return true, nil
	})
	var v eventVerdict
	for i, f := range flows {
		acc := r.accepted(f.userID)
		v.delivered += len(acc)
		seqs := make([]int, 0, len(acc))
		for _, d := range acc {
			seqs = append(seqs, d.event.Data.Sequence)
		}
		sort.Ints(seqs)
		got := map[int]bool{}
		for _, s := range seqs {
			got[s] = true
		}
		var missing []int
		for s := 1; s <= queued[i]; s++ {
			if !got[s] {
				missing = append(missing, s)
			}
		}
		if len(missing) > 0 || len(acc) != queued[i] {
			v.lost += len(missing)
			t.Errorf("chaos: flow %s: %d events queued, %d accepted (sequences %v), missing %v",
				f.userID, queued[i], len(acc), seqs, missing)
		}
		if ended[i] && len(acc) > 0 && !acc[len(acc)-1].event.Data.Final {
			t.Errorf("chaos: flow %s ended but its last event %d (%s) is not final",
				f.userID, acc[len(acc)-1].event.Data.Sequence, acc[len(acc)-1].event.Type)
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range r.outOfOrder {
		t.Errorf("chaos: event out of order: %s", s)
	}
	for _, s := range r.failures {
		t.Errorf("chaos: event receiver: %s", s)
	}
	v.outOfOrder = len(r.outOfOrder)
	v.duplicates, v.refused, v.stalled, v.requests = r.duplicates, r.refused, r.stalled, r.requests
	return v
}
