package treezorsim

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"go.uber.org/zap"
)

// Delivery is the outcome of one webhook delivery (a duplicate is its own delivery).
type Delivery struct {
	WebhookID string `json:"webhookId"`
	Webhook   string `json:"webhook"` // event type, e.g. qes.finalized
	ObjectID  string `json:"objectId"`
	Duplicate bool   `json:"duplicate,omitempty"` // an extra delivery added by the duplicate chaos
	Attempts  int    `json:"attempts"`
	OK        bool   `json:"ok"` // answered 2xx
	// StatusCode is the last answer's status, 0 after a network error.
	StatusCode int       `json:"statusCode"`
	At         time.Time `json:"at"`
	// Payin is what a payin.* webhook said of its payin (nil for other events).
	Payin *SentPayin `json:"payin,omitempty"`
}

var errNoWebhookURL = errors.New("no webhook URL configured")

// enqueueLocked appends a batch to the user's ordered queue and starts its delivery
// goroutine if none runs. Caller holds s.mu.
func (s *Simulator) enqueueLocked(userID string, batch []outgoing) {
	if len(batch) == 0 {
		return
	}
	for i := range batch {
		if batch[i].seq == 0 {
			s.nextSeq++
			batch[i].seq = s.nextSeq
		}
	}
	s.queues[userID] = append(s.queues[userID], batch...)
	s.changedLocked()
	s.busy.add(len(batch))
	if s.active[userID] {
		return
	}
	s.active[userID] = true
	s.wg.Add(1)
	go s.drain(userID)
}

// drain delivers the user's queue in order (skipping held webhooks until they are released),
// one webhook at a time, until it is empty. A webhook leaves the queue only once delivered
// or given up, so that the queue always holds every webhook not yet answered (what a state
// file saves). Close stops the drain and leaves the rest of the queue in place.
func (s *Simulator) drain(userID string) {
	defer s.wg.Done()
	for {
		s.mu.Lock()
		q := s.queues[userID]
		if len(q) == 0 || s.ctx.Err() != nil {
			if len(q) == 0 {
				delete(s.queues, userID)
			}
			delete(s.active, userID)
			s.mu.Unlock()
			s.busy.add(-len(q)) // abandoned by Close
			return
		}
		next := s.nextDeliverableLocked(userID)
		if next < 0 {
			// Only held webhooks are left and no further action came: release them.
			holdMax := s.variants.HoldMax
			s.mu.Unlock()
			if sleep(s.ctx, holdMax) {
				s.mu.Lock()
				s.queues[userID] = append(s.queues[userID], s.takeHeldLocked(userID)...)
				s.mu.Unlock()
			}
			continue
		}
		o := q[next]
		s.mu.Unlock()
		outcome, finished := s.deliver(o)
		if !finished {
			continue // Close: the next round stops
		}
		s.mu.Lock()
		if i := s.queueIndexLocked(userID, o.seq); i >= 0 {
			s.queues[userID] = append(s.queues[userID][:i:i], s.queues[userID][i+1:]...)
		}
		s.recordLocked(o, outcome)
		s.mu.Unlock()
		s.busy.done()
	}
}

// deliveryOutcome is how a delivery ended.
type deliveryOutcome struct {
	attempts, status int
	ok               bool
}

// deliver posts one webhook (the next deliverable one of its user's queue), retrying non-2xx answers and
// network errors every WebhookRetryInterval up to WebhookMaxAttempts attempts in all, each
// retry to the next receiver (see receivers). It reports finished=false when Close
// abandoned it.
func (s *Simulator) deliver(o outgoing) (outcome deliveryOutcome, finished bool) {
	if o.delay > 0 && !sleep(s.ctx, o.delay) {
		return deliveryOutcome{}, false
	}
	log := s.log.With(zap.String("webhook_id", o.webhookID), zap.String("webhook", o.event),
		zap.String("user_id", o.userID), zap.Bool("duplicate", o.duplicate))
	s.mu.Lock()
	turn := s.receivers.start()
	s.mu.Unlock()
	for attempt := o.attempts + 1; ; attempt, turn = attempt+1, turn+1 {
		status, err := s.post(o, turn)
		if s.ctx.Err() != nil {
			return deliveryOutcome{}, false
		}
		if err == nil && status/100 == 2 {
			log.Debug("webhook delivered", zap.Int("attempt", attempt), zap.Int("status", status))
			return deliveryOutcome{attempts: attempt, status: status, ok: true}, true
		}
		log.Info("webhook delivery failed", zap.Int("attempt", attempt), zap.Int("status", status), zap.Error(err))
		if attempt >= s.cfg.WebhookMaxAttempts {
			log.Warn("webhook given up", zap.Int("attempts", attempt))
			return deliveryOutcome{attempts: attempt, status: status}, true
		}
		s.mu.Lock()
		s.counters.retried++
		if i := s.queueIndexLocked(o.userID, o.seq); i >= 0 {
			s.queues[o.userID][i].attempts = attempt
		}
		s.changedLocked()
		s.mu.Unlock()
		if !sleep(s.ctx, s.retryInterval()) {
			return deliveryOutcome{}, false
		}
	}
}

// post sends one attempt to the receiver whose turn it is and returns the answer's status.
// Errors never contain the URL.
func (s *Simulator) post(o outgoing, turn int) (int, error) {
	s.mu.Lock()
	target := s.receivers.at(turn)
	s.mu.Unlock()
	if target == "" {
		return 0, errNoWebhookURL
	}
	req, err := http.NewRequestWithContext(s.ctx, http.MethodPost, target, bytes.NewReader(o.body))
	if err != nil {
		return 0, errors.New("invalid webhook URL")
	}
	contentType := o.contentType
	if contentType == "" {
		contentType = "application/json"
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("User-Agent", "treezorsim")
	resp, err := s.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return 0, fmt.Errorf("post webhook: %w", err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	return resp.StatusCode, nil
}

// recordLocked stores a delivery outcome and counts it. Caller holds s.mu.
func (s *Simulator) recordLocked(o outgoing, outcome deliveryOutcome) {
	if outcome.ok {
		s.counters.delivered++
	} else {
		s.counters.failed++
	}
	s.deliveries[o.userID] = append(s.deliveries[o.userID], Delivery{
		WebhookID: o.webhookID, Webhook: o.event, ObjectID: o.objectID, Duplicate: o.duplicate,
		Attempts: outcome.attempts, OK: outcome.ok, StatusCode: outcome.status, At: s.now(), Payin: o.payin,
	})
	s.changedLocked()
}

// Deliveries returns the finished deliveries of the user's webhooks, in completion order.
func (s *Simulator) Deliveries(userID string) []Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Delivery(nil), s.deliveries[userID]...)
}

// DeliveredOK returns the webhook ids of the user's deliveries answered 2xx, in delivery
// order; a duplicated webhook appears once per successful delivery.
func (s *Simulator) DeliveredOK(userID string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ids []string
	for _, d := range s.deliveries[userID] {
		if d.OK {
			ids = append(ids, d.WebhookID)
		}
	}
	return ids
}

// sleep waits d or until ctx is done; it reports whether the full wait elapsed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
