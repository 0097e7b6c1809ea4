package treezorsim

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/qesflow/qesflow/treezor"
)

// Webhook objects.
const (
	objectQES      = "qes"
	objectUser     = "user"
	objectDocument = "document"
	objectPayin    = "payin"
)

// webhookSpec is one webhook to emit, before it is signed.
type webhookSpec struct {
	event    string
	object   string
	objectID string
	payload  any
}

// outgoing is one delivery of a signed webhook.
type outgoing struct {
	seq         uint64 // identifies this delivery in its queue (duplicates share the webhook id)
	held        bool   // held back until the user's next action (WebhookVariants.HoldRate)
	contentType string // "" is application/json
	userID      string
	webhookID   string
	event       string
	objectID    string
	body        []byte
	duplicate   bool
	delay       time.Duration
	attempts    int        // attempts made so far (kept across restarts with a StateFile)
	payin       *SentPayin // what a payin.* webhook said of its payin; nil for other events
}

// envelope is Treezor's flat webhook envelope. object_payload is embedded byte for byte
// as it was signed.
type envelope struct {
	Webhook                string          `json:"webhook"`
	WebhookID              string          `json:"webhook_id"`
	WebhookCreatedAt       int64           `json:"webhook_created_at"`
	Object                 string          `json:"object"`
	ObjectID               string          `json:"object_id"`
	ObjectPayload          json.RawMessage `json:"object_payload"`
	ObjectPayloadSignature string          `json:"object_payload_signature"`
}

// emitLocked signs the webhooks one action produces for a user, applies the delivery chaos
// (duplicates, reordering, delays) and queues them in the user's ordered queue.
// Caller holds s.mu.
func (s *Simulator) emitLocked(userID string, specs []webhookSpec) error {
	if s.closed {
		return ErrClosed
	}
	batch := make([]outgoing, 0, len(specs))
	for _, spec := range specs {
		o, err := s.signLocked(userID, spec)
		if err != nil {
			return err
		}
		s.counters.webhooksEmitted++
		s.changedLocked()
		batch = append(batch, o)
		if s.chaos.DuplicateRate > 0 && s.rng.Float64() < s.chaos.DuplicateRate {
			extra := 1 + s.rng.IntN(2)
			s.counters.duplicates += extra
			for range extra {
				dup := o
				dup.duplicate = true
				batch = append(batch, dup)
			}
		}
	}
	if len(batch) > 1 && s.chaos.ReorderRate > 0 && s.rng.Float64() < s.chaos.ReorderRate {
		s.shuffleLocked(batch)
	}
	if s.chaos.MaxDelay > 0 {
		for i := range batch {
			batch[i].delay = time.Duration(s.rng.Int64N(int64(s.chaos.MaxDelay)))
		}
	}
	// What an earlier action held back goes behind this action's webhooks.
	released := s.takeHeldLocked(userID)
	s.holdLocked(batch)
	s.enqueueLocked(userID, batch)
	s.queues[userID] = append(s.queues[userID], released...)
	return nil
}

// signLocked encodes, canonicalizes and signs one webhook. Caller holds s.mu.
func (s *Simulator) signLocked(userID string, spec webhookSpec) (outgoing, error) {
	raw, err := s.shapePayloadLocked(spec)
	if err != nil {
		return outgoing{}, fmt.Errorf("encode %s payload: %w", spec.event, err)
	}
	// Treezor's payloads are PHP json_encode output; embed exactly that form, or with the
	// RawPayload variant the same JSON with raw UTF-8 and unescaped "/".
	payload, err := treezor.Canonicalize(raw)
	if err != nil {
		return outgoing{}, fmt.Errorf("canonicalize %s payload: %w", spec.event, err)
	}
	sig, err := treezor.Sign(s.cfg.WebhookSecret, payload)
	if err != nil {
		return outgoing{}, fmt.Errorf("sign %s payload: %w", spec.event, err)
	}
	if s.variants.RawPayload {
		payload = raw
	}
	env := envelope{
		Webhook:                spec.event,
		WebhookID:              s.newUUID(),
		WebhookCreatedAt:       s.now().UnixNano() / 1e5,
		Object:                 spec.object,
		ObjectID:               spec.objectID,
		ObjectPayload:          payload,
		ObjectPayloadSignature: sig,
	}
	body, err := s.envelopeBodyLocked(env)
	if err != nil {
		return outgoing{}, fmt.Errorf("encode %s envelope: %w", spec.event, err)
	}
	return outgoing{
		userID: userID, webhookID: env.WebhookID, event: spec.event, objectID: spec.objectID,
		body: body, contentType: s.contentTypeLocked(), payin: sentPayin(spec),
	}, nil
}

// SentPayin is what a payin.* webhook told of its payin, as the simulator meant it (before
// any delivery variant reshaped the payload): a test reads it to know which payins a
// receiver had to act on.
type SentPayin struct {
	PayinID         string `json:"payinId"`
	WalletID        string `json:"walletId"`
	PaymentMethodID string `json:"paymentMethodId"`
	Status          string `json:"payinStatus"`
}

// SEPACreditTransfer reports whether the payin is a received SEPA credit transfer
// (paymentMethodId 20, or 27 for SCT Inst: docs.treezor.com/guide/transfers/credit-transfer.html).
func (p SentPayin) SEPACreditTransfer() bool {
	return p.PaymentMethodID == paymentMethodSCT || p.PaymentMethodID == paymentMethodSCTInst
}

// sentPayin reads the payin of a payin.* webhook spec, or nil.
func sentPayin(spec webhookSpec) *SentPayin {
	if spec.object != objectPayin {
		return nil
	}
	root, _ := spec.payload.(map[string]any)
	items, _ := root["payins"].([]map[string]string)
	if len(items) == 0 {
		return nil
	}
	it := items[0]
	return &SentPayin{PayinID: it["payinId"], WalletID: it["walletId"], PaymentMethodID: it["paymentMethodId"], Status: it["payinStatus"]}
}

// shuffleLocked shuffles a batch into an order different from the original one (when
// one exists). Caller holds s.mu.
func (s *Simulator) shuffleLocked(batch []outgoing) {
	original := webhookIDs(batch)
	for range 10 {
		s.rng.Shuffle(len(batch), func(i, j int) { batch[i], batch[j] = batch[j], batch[i] })
		if !slices.Equal(webhookIDs(batch), original) {
			return
		}
	}
}

func webhookIDs(batch []outgoing) []string {
	ids := make([]string, len(batch))
	for i, o := range batch {
		ids[i] = o.webhookID
	}
	return ids
}

// qesPayload is the object_payload of qes.* webhooks.
func qesPayload(ident *identification, result string, reasonCode int) any {
	item := map[string]any{"userId": ident.UserID, "identificationId": ident.ID}
	if result != "" {
		item["result"] = result
	}
	if reasonCode != 0 {
		item["reason"] = map[string]any{
			"reasonCode":    reasonCode,
			"reasonMessage": treezor.LookupReason(reasonCode).Message,
		}
	}
	return map[string]any{"qes": []any{item}}
}

func qesSpec(event string, ident *identification, result string, reasonCode int) webhookSpec {
	return webhookSpec{event: event, object: objectQES, objectID: ident.ID, payload: qesPayload(ident, result, reasonCode)}
}
