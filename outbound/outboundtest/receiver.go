// Package outboundtest is an onboarding backend for tests: a loopback HTTP receiver that
// verifies every delivery with the Standard Webhooks specification's own Go library.
package outboundtest

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/qesflow/qesflow/outbound"
)

// Secret is a test signing secret made of seed (32 bytes are used, padded with '-').
func Secret(seed string) string {
	b := []byte(seed + "--------------------------------")[:32]
	return outbound.SecretPrefix + base64.StdEncoding.EncodeToString(b)
}

// Delivery is one request the receiver verified.
type Delivery struct {
	ID    string
	Event outbound.Event
	// Status is what the receiver answered.
	Status int
	// Body and Header are the request as received, to verify again or read in full.
	Body   []byte
	Header http.Header
}

// Receiver verifies deliveries and answers with Status (default 204); Answer, when set,
// decides the status of each verified delivery instead.
type Receiver struct {
	URL string
	srv *httptest.Server
	wh  *standardwebhooks.Webhook

	mu       sync.Mutex
	status   int
	answer   func(Delivery) int
	all      []Delivery
	failures []error
}

// NewReceiver starts a receiver that verifies with secret; it stops with the test.
func NewReceiver(t testing.TB, secret string) *Receiver {
	t.Helper()
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		t.Fatal(err)
	}
	r := &Receiver{wh: wh, status: http.StatusNoContent}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	r.URL = r.srv.URL + "/events"
	t.Cleanup(r.srv.Close)
	return r
}

func (r *Receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.wh.Verify(body, req.Header); err != nil {
		r.failures = append(r.failures, err)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	d := Delivery{ID: req.Header.Get(standardwebhooks.HeaderWebhookID), Body: body, Header: req.Header.Clone()}
	if err := json.Unmarshal(body, &d.Event); err != nil {
		r.failures = append(r.failures, err)
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	d.Status = r.status
	if r.answer != nil {
		d.Status = r.answer(d)
	}
	r.all = append(r.all, d)
	w.WriteHeader(d.Status)
}

// SetStatus makes the receiver answer status to every verified delivery (503: down).
func (r *Receiver) SetStatus(status int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.status = status
}

// SetAnswer lets f decide each answer (nil: Status again).
func (r *Receiver) SetAnswer(f func(Delivery) int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.answer = f
}

// All are every verified request, accepted or not, in arrival order.
func (r *Receiver) All() []Delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Delivery(nil), r.all...)
}

// Accepted are the verified deliveries answered 2xx, the first of each webhook id only (a
// receiver deduplicates on it), in arrival order.
func (r *Receiver) Accepted() []Delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Delivery
	seen := map[string]bool{}
	for _, d := range r.all {
		if d.Status >= 200 && d.Status < 300 && !seen[d.ID] {
			seen[d.ID] = true
			out = append(out, d)
		}
	}
	return out
}

// Failures are the requests that did not verify.
func (r *Receiver) Failures() []error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]error(nil), r.failures...)
}
