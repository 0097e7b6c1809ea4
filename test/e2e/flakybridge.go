package e2e

import (
	"bytes"
	"encoding/json"
	"io"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"github.com/qesflow/qesflow/treezor"
)

// BridgeAnswer is the bridge's answer to one delivery that reached it.
type BridgeAnswer struct {
	Status  int       // the bridge's HTTP status
	Outcome string    // the bridge's outcome label, e.g. webhookbridge.OutcomeSignalled
	At      time.Time // when the bridge answered
	// Replaced is set when the sender got an injected 503 instead of this answer: the
	// bridge did its work, the answer was lost on the way back.
	Replaced bool
}

// FlakyStats counts what a FlakyBridge did.
type FlakyStats struct {
	Passed   int // deliveries handed to the bridge whose answer reached the sender
	Refused  int // deliveries answered 503 without reaching the bridge
	Replaced int // deliveries the bridge handled whose answer was replaced by a 503
	Lost     int // deliveries answered 200 without reaching the bridge (LossRate)
}

// FlakyConfig says how unreliable a FlakyBridge is.
type FlakyConfig struct {
	// FaultRate is the share of deliveries answered 503 + Retry-After.
	FaultRate float64
	// AnswerLostShare is the share of those faults that reach the bridge first: the bridge
	// does its work, its answer is replaced by the 503.
	AnswerLostShare float64
	// LossRate is the share of deliveries answered 200 "signalled" without reaching the
	// bridge: a broken bridge that loses webhooks, for checking that a suite notices.
	LossRate float64
	// Seed makes the draws reproducible.
	Seed uint64
}

// FlakyBridge wraps the webhook bridge like an unreliable load balancer: a random share
// of deliveries is answered 503 + Retry-After, either before the bridge sees them or after
// it handled them (the answer is lost), so that the sender retries. It records the
// bridge's answer to every delivery that reached it, by webhook id.
type FlakyBridge struct {
	next         http.Handler
	cfg          FlakyConfig
	mu           sync.Mutex
	rng          *rand.Rand
	answers      map[string][]BridgeAnswer
	stats        FlakyStats
	unidentified int
}

// NewFlakyBridge wraps next.
func NewFlakyBridge(next http.Handler, cfg FlakyConfig) *FlakyBridge {
	return &FlakyBridge{
		next:    next,
		cfg:     cfg,
		rng:     rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x5deece66d)),
		answers: map[string][]BridgeAnswer{},
	}
}

type fate int

const (
	fatePass fate = iota
	fateRefuse
	fateReplace
	fateLose
)

func (f *FlakyBridge) draw() fate {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.cfg.LossRate > 0 && f.rng.Float64() < f.cfg.LossRate {
		return fateLose
	}
	if f.rng.Float64() >= f.cfg.FaultRate {
		return fatePass
	}
	if f.rng.Float64() < f.cfg.AnswerLostShare {
		return fateReplace
	}
	return fateRefuse
}

// ServeHTTP answers the delivery as drawn.
func (f *FlakyBridge) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch f.draw() {
	case fateRefuse:
		f.count(func(s *FlakyStats) { s.Refused++ })
		refuse(w)
	case fateLose:
		f.count(func(s *FlakyStats) { s.Lost++ })
		f.lose(w, r)
	case fateReplace:
		rec := f.pass(r)
		f.count(func(s *FlakyStats) { s.Replaced++ })
		f.record(rec, true)
		refuse(w)
	default:
		rec := f.pass(r)
		f.count(func(s *FlakyStats) { s.Passed++ })
		f.record(rec, false)
		rec.copyTo(w)
	}
}

// pass hands the delivery to the bridge and keeps its answer.
func (f *FlakyBridge) pass(r *http.Request) *bufferedWriter {
	rec := newBufferedWriter()
	f.next.ServeHTTP(rec, r)
	return rec
}

// lose answers 200 "signalled" for a delivery the bridge never sees.
func (f *FlakyBridge) lose(w http.ResponseWriter, r *http.Request) {
	var flat struct {
		WebhookID string `json:"webhook_id"`
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	_ = json.Unmarshal(body, &flat)
	webhookID := flat.WebhookID
	if env, err := treezor.DecodeEnvelope(body); err == nil { // either envelope form
		webhookID = env.WebhookID
	}
	rec := newBufferedWriter()
	rec.Header().Set("Content-Type", "application/json")
	rec.WriteHeader(http.StatusOK)
	_ = json.NewEncoder(rec).Encode(map[string]string{"status": "signalled", "webhookId": webhookID})
	f.record(rec, false)
	rec.copyTo(w)
}

func refuse(w http.ResponseWriter) {
	w.Header().Set("Retry-After", "1")
	http.Error(w, "injected fault: bridge unavailable", http.StatusServiceUnavailable)
}

// record stores the bridge's answer under the webhook id it names.
func (f *FlakyBridge) record(rec *bufferedWriter, replaced bool) {
	var body struct {
		Status    string `json:"status"`
		WebhookID string `json:"webhookId"`
	}
	_ = json.Unmarshal(rec.body.Bytes(), &body) // a non-JSON answer has no id: counted below
	f.mu.Lock()
	defer f.mu.Unlock()
	if body.WebhookID == "" {
		f.unidentified++
		return
	}
	f.answers[body.WebhookID] = append(f.answers[body.WebhookID], BridgeAnswer{
		Status: rec.status, Outcome: body.Status, At: time.Now(), Replaced: replaced,
	})
}

func (f *FlakyBridge) count(fn func(*FlakyStats)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(&f.stats)
}

// Answers returns the bridge's answers to the deliveries of one webhook, in order.
func (f *FlakyBridge) Answers(webhookID string) []BridgeAnswer {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]BridgeAnswer(nil), f.answers[webhookID]...)
}

// Stats returns the counters.
func (f *FlakyBridge) Stats() FlakyStats {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.stats
}

// Unidentified counts bridge answers that named no webhook id (refused before decoding).
func (f *FlakyBridge) Unidentified() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.unidentified
}

// bufferedWriter keeps an answer so that it can be inspected, then sent or dropped.
type bufferedWriter struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func newBufferedWriter() *bufferedWriter {
	return &bufferedWriter{header: http.Header{}}
}

func (b *bufferedWriter) Header() http.Header { return b.header }

func (b *bufferedWriter) WriteHeader(status int) {
	if b.status == 0 {
		b.status = status
	}
}

func (b *bufferedWriter) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	return b.body.Write(p)
}

func (b *bufferedWriter) copyTo(w http.ResponseWriter) {
	for k, v := range b.header {
		w.Header()[k] = v
	}
	status := b.status
	if status == 0 {
		status = http.StatusOK
	}
	w.WriteHeader(status)
	_, _ = w.Write(b.body.Bytes())
}
