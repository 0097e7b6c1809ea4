package treezorsim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/qesflow/qesflow/treezor"
)

// TreezorRetryInterval is the wait between delivery attempts Treezor is reported to keep
// (about one minute); WebhookVariants.TreezorRetryCadence uses it.
const TreezorRetryInterval = time.Minute

// DefaultHoldMax is the default of WebhookVariants.HoldMax.
const DefaultHoldMax = time.Second

// PayinPlaceholderUserID is the userId Treezor gives a received SEPA credit transfer at first
// in production ("Valued to 3 initially in Production. DO NOT USE.",
// docs.treezor.com/guide/transfers/credit-transfer.html).
const PayinPlaceholderUserID = "3"

// WebhookVariants switch on the forms of delivery Treezor documents besides the simplest one,
// so that a receiver that only handles the simplest one fails a test. The zero value sends
// every webhook in the flat envelope, as application/json, with the payload in its canonical
// (escaped) form.
type WebhookVariants struct {
	// Wrapped is the fraction of webhooks sent in the wrapped envelope
	// {"messageId","webhookId","webhook":{…}} (user.kycrequest always is, as documented).
	Wrapped float64
	// TextPlain is the fraction of webhooks sent as text/plain instead of application/json.
	TextPlain float64
	// RawPayload embeds object_payload with raw UTF-8 and unescaped "/" (the signature is
	// still over the escaped form), and adds such characters to the payloads.
	RawPayload bool
	// PHPShapes sends PHP json_encode shapes: "reason": [] and "result": "" on qes.created
	// and qes.processing, numeric ids as JSON numbers.
	PHPShapes bool
	// OmitQESUserID sends qes.* payloads without userId (routed by identification id).
	OmitQESUserID bool
	// HoldRate is the probability that the last webhook of an action is held back until the
	// webhooks of the user's next action were queued (or HoldMax passed): reordering across
	// actions, not only within one.
	HoldRate float64
	// HoldMax bounds a hold when no further action comes (default DefaultHoldMax).
	HoldMax time.Duration
	// KYCRequest sends user.kycrequest (wrapped) after PUT /Kycreview.
	KYCRequest bool
	// PayinPlaceholderUser gives payins Treezor's placeholder userId (PayinPlaceholderUserID).
	PayinPlaceholderUser bool
	// OtherPayins precedes each SEPA credit transfer with a card top-up (paymentMethodId 25)
	// into the same wallet, which must not count as the SEPA step.
	OtherPayins bool
	// PayinOtherWallet gives each new user a second wallet and sends the SEPA credit
	// transfer into it: payins are matched by any of the user's wallets.
	PayinOtherWallet bool
	// TreezorRetryCadence retries failed deliveries every TreezorRetryInterval instead of
	// Config.WebhookRetryInterval.
	TreezorRetryCadence bool
}

// AllWebhookVariants switches every variant on, with mixed forms and a hold rate of 0.3.
func AllWebhookVariants() WebhookVariants {
	return WebhookVariants{
		Wrapped: 0.5, TextPlain: 0.5, RawPayload: true, PHPShapes: true, OmitQESUserID: true,
		HoldRate: 0.3, KYCRequest: true, PayinPlaceholderUser: true, OtherPayins: true,
		PayinOtherWallet: true,
	}
}

// ParseWebhookVariants reads a comma-separated list of variant names: wrapped[=fraction],
// text[=fraction], raw, php, no-qes-user, hold[=rate], kycrequest, payin-placeholder,
// other-payins, other-wallet, treezor-retries, or "all" (every variant but treezor-retries). "" is none.
func ParseWebhookVariants(spec string) (WebhookVariants, error) {
	var v WebhookVariants
	for _, item := range strings.Split(spec, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		name, value, hasValue := strings.Cut(item, "=")
		fraction := 1.0
		if hasValue {
			f, err := strconv.ParseFloat(value, 64)
			if err != nil || f < 0 || f > 1 {
				return WebhookVariants{}, fmt.Errorf("webhook variant %q: want a fraction in [0, 1]", item)
			}
			fraction = f
		}
		switch name {
		case "all":
			held := v.TreezorRetryCadence
			v = AllWebhookVariants()
			v.TreezorRetryCadence = held
		case "wrapped":
			v.Wrapped = fraction
		case "text":
			v.TextPlain = fraction
		case "hold":
			v.HoldRate = fraction
		case "raw":
			v.RawPayload = true
		case "php":
			v.PHPShapes = true
		case "no-qes-user":
			v.OmitQESUserID = true
		case "kycrequest":
			v.KYCRequest = true
		case "payin-placeholder":
			v.PayinPlaceholderUser = true
		case "other-payins":
			v.OtherPayins = true
		case "other-wallet":
			v.PayinOtherWallet = true
		case "treezor-retries":
			v.TreezorRetryCadence = true
		default:
			return WebhookVariants{}, fmt.Errorf("unknown webhook variant %q", name)
		}
		if hasValue && name != "wrapped" && name != "text" && name != "hold" {
			return WebhookVariants{}, fmt.Errorf("webhook variant %q takes no value", name)
		}
	}
	return v.normalized(), nil
}

func (v WebhookVariants) normalized() WebhookVariants {
	v.Wrapped, v.TextPlain, v.HoldRate = clamp01(v.Wrapped), clamp01(v.TextPlain), clamp01(v.HoldRate)
	if v.HoldMax <= 0 {
		v.HoldMax = DefaultHoldMax
	}
	return v
}

// SetWebhookVariants changes the delivery variants of webhooks emitted from now on.
func (s *Simulator) SetWebhookVariants(v WebhookVariants) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.variants = v.normalized()
}

// WebhookVariants returns the current delivery variants.
func (s *Simulator) WebhookVariants() WebhookVariants {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.variants
}

// shapePayloadLocked applies the payload variants to a webhook payload and returns it as
// JSON with raw UTF-8 and unescaped "/" (canonicalised before signing). Caller holds s.mu.
func (s *Simulator) shapePayloadLocked(spec webhookSpec) ([]byte, error) {
	raw, err := json.Marshal(spec.payload)
	if err != nil {
		return nil, err
	}
	v := s.variants
	if !v.RawPayload && !v.PHPShapes && !v.OmitQESUserID && !v.PayinPlaceholderUser {
		return raw, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var root map[string]any
	if err := dec.Decode(&root); err != nil {
		return nil, err
	}
	for key, list := range root {
		items, _ := list.([]any)
		for _, it := range items {
			if item, ok := it.(map[string]any); ok {
				shapeItem(v, spec.event, key, item)
			}
		}
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(root); err != nil {
		return nil, err
	}
	return bytes.TrimRight(b.Bytes(), "\n"), nil
}

// shapeItem applies the variants to one payload item.
func shapeItem(v WebhookVariants, event, key string, item map[string]any) {
	switch key {
	case "qes":
		if v.OmitQESUserID {
			delete(item, "userId")
		}
		if v.PHPShapes && (event == treezor.EventQESCreated || event == treezor.EventQESProcessing) {
			if _, ok := item["reason"]; !ok {
				item["reason"] = []any{}
			}
			if _, ok := item["result"]; !ok {
				item["result"] = ""
			}
		}
	case "users":
		if v.RawPayload {
			item["userTag"] = "qesflow/sim"
			item["countryName"] = "Deutschland/Österreich"
		}
	case "payins":
		if v.PayinPlaceholderUser {
			item["userId"] = PayinPlaceholderUserID
		}
		if v.RawPayload {
			item["messageToUser"] = "Überweisung für Konto/QES"
		}
	}
	if v.PHPShapes {
		for _, id := range []string{"userId", "walletId", "payinId", "documentId"} {
			if s, ok := item[id].(string); ok && isDigits(s) && len(s) < 16 {
				item[id] = json.Number(s)
			}
		}
	}
}

func isDigits(s string) bool {
	if s == "" || s[0] == '0' {
		return false
	}
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// envelopeBodyLocked writes the signed webhook in the flat or the wrapped form. Caller
// holds s.mu.
func (s *Simulator) envelopeBodyLocked(env envelope) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // keep the payload bytes exactly as embedded
	if err := enc.Encode(env); err != nil {
		return nil, err
	}
	flat := bytes.TrimRight(buf.Bytes(), "\n")
	if env.Webhook != treezor.EventUserKYCRequest && !s.chance(s.variants.Wrapped) {
		return flat, nil
	}
	wrapped := bytes.NewBufferString(`{"messageId":`)
	id, _ := json.Marshal(s.newUUID())
	wrapped.Write(id)
	wrapped.WriteString(`,"webhookId":`)
	wid, _ := json.Marshal(env.WebhookID)
	wrapped.Write(wid)
	wrapped.WriteString(`,"webhook":`)
	wrapped.Write(flat)
	wrapped.WriteByte('}')
	return wrapped.Bytes(), nil
}

// contentTypeLocked picks the media type of one webhook. Caller holds s.mu.
func (s *Simulator) contentTypeLocked() string {
	if s.chance(s.variants.TextPlain) {
		return "text/plain"
	}
	return "application/json"
}

// chance draws true with probability p. Caller holds s.mu.
func (s *Simulator) chance(p float64) bool { return p > 0 && s.rng.Float64() < p }

// retryInterval is the wait between delivery attempts.
func (s *Simulator) retryInterval() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.variants.TreezorRetryCadence {
		return TreezorRetryInterval
	}
	return s.cfg.WebhookRetryInterval
}

// holdLocked marks the last webhook of a new batch as held, with probability HoldRate.
// Caller holds s.mu.
func (s *Simulator) holdLocked(batch []outgoing) {
	if len(batch) > 0 && s.chance(s.variants.HoldRate) {
		batch[len(batch)-1].held = true
		s.counters.held++
	}
}

// takeHeldLocked removes the user's held webhooks from its queue and returns them released,
// for the caller to queue again behind what came since. Caller holds s.mu.
func (s *Simulator) takeHeldLocked(userID string) []outgoing {
	q := s.queues[userID]
	var kept, held []outgoing
	for _, o := range q {
		if o.held {
			o.held = false
			held = append(held, o)
			continue
		}
		kept = append(kept, o)
	}
	if len(held) > 0 {
		s.queues[userID] = kept
	}
	return held
}

// nextDeliverableLocked returns the index of the first webhook of the user's queue that is
// not held, or -1. Caller holds s.mu.
func (s *Simulator) nextDeliverableLocked(userID string) int {
	for i, o := range s.queues[userID] {
		if !o.held {
			return i
		}
	}
	return -1
}

// queueIndexLocked returns the position of the queued webhook seq, or -1. Caller holds s.mu.
func (s *Simulator) queueIndexLocked(userID string, seq uint64) int {
	for i, o := range s.queues[userID] {
		if o.seq == seq {
			return i
		}
	}
	return -1
}
