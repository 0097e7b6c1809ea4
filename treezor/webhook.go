package treezor

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Envelope is one Treezor webhook as delivered: the event type, its id and time, the
// object it is about and the signed object_payload.
type Envelope struct {
	// Webhook is the event type, e.g. "qes.finalized".
	Webhook string
	// WebhookID is Treezor's id of this delivery's event (stable across redeliveries).
	WebhookID string
	// CreatedAt is webhook_created_at in UTC (zero when absent).
	CreatedAt time.Time
	Object    string
	ObjectID  string
	// ObjectPayload holds the signed bytes: the object exactly as received, or the
	// content of the string when Treezor sent the payload as a JSON string.
	ObjectPayload json.RawMessage
	// Signature is object_payload_signature (base64).
	Signature string
	// MessageID is the outer messageId of the wrapped form (empty in the flat form).
	MessageID string
}

// flatEnvelope is the wire form of the flat envelope.
type flatEnvelope struct {
	Webhook          json.RawMessage `json:"webhook"`
	WebhookID        flexString      `json:"webhook_id"`
	WebhookCreatedAt flexString      `json:"webhook_created_at"`
	Object           flexString      `json:"object"`
	ObjectID         flexString      `json:"object_id"`
	ObjectPayload    json.RawMessage `json:"object_payload"`
	Signature        flexString      `json:"object_payload_signature"`
}

// wrappedEnvelope is the outer part of the wrapped form {"messageId","webhookId","webhook":{…}}
// (docs.treezor.com/guide/user-verification/events.html, user.kycrequest). The signature and
// the creation time are read inside "webhook" first, then at the outer level.
type wrappedEnvelope struct {
	MessageID        flexString `json:"messageId"`
	WebhookID        flexString `json:"webhookId"`
	WebhookCreatedAt flexString `json:"webhook_created_at"`
	Signature        flexString `json:"object_payload_signature"`
}

// DecodeEnvelope decodes a webhook body in the flat form or the wrapped form
// {"messageId","webhookId","webhook":{…flat…}}. Errors wrap ErrMalformed.
func DecodeEnvelope(body []byte) (*Envelope, error) {
	env, err := decodeEnvelope(body)
	if err != nil {
		return nil, fmt.Errorf("decode webhook envelope: %w", err)
	}
	return env, nil
}

func decodeEnvelope(body []byte) (*Envelope, error) {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return nil, fmt.Errorf("%w: not a JSON object", ErrMalformed)
	}
	var flat flatEnvelope
	if err := json.Unmarshal(trimmed, &flat); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	inner := bytes.TrimSpace(flat.Webhook)
	if len(inner) > 0 && inner[0] == '{' {
		return decodeWrapped(trimmed, inner)
	}
	return fromFlat(flat)
}

func decodeWrapped(outer, inner []byte) (*Envelope, error) {
	var w wrappedEnvelope
	if err := json.Unmarshal(outer, &w); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	var flat flatEnvelope
	if err := json.Unmarshal(inner, &flat); err != nil {
		return nil, fmt.Errorf("%w: webhook: %v", ErrMalformed, err)
	}
	if t := bytes.TrimSpace(flat.Webhook); len(t) > 0 && t[0] == '{' {
		return nil, fmt.Errorf("%w: webhook nested twice", ErrMalformed)
	}
	if flat.Signature == "" {
		flat.Signature = w.Signature
	}
	if flat.WebhookCreatedAt == "" {
		flat.WebhookCreatedAt = w.WebhookCreatedAt
	}
	env, err := fromFlat(flat)
	if err != nil {
		return nil, err
	}
	env.MessageID = string(w.MessageID)
	if env.WebhookID == "" {
		env.WebhookID = string(w.WebhookID)
	}
	return env, nil
}

func fromFlat(f flatEnvelope) (*Envelope, error) {
	// f.Webhook was checked by the decoder already: decode it in place rather than through
	// json.Unmarshal, which would validate it again.
	var typ flexString
	if err := typ.UnmarshalJSON(orNull(f.Webhook)); err != nil {
		return nil, fmt.Errorf("%w: webhook: %v", ErrMalformed, err)
	}
	if typ == "" {
		return nil, fmt.Errorf("%w: webhook (the event type) is missing", ErrMalformed)
	}
	created, err := parseCreatedAt(string(f.WebhookCreatedAt))
	if err != nil {
		return nil, err
	}
	payload, err := signedPayload(f.ObjectPayload)
	if err != nil {
		return nil, err
	}
	return &Envelope{
		Webhook:       string(typ),
		WebhookID:     string(f.WebhookID),
		CreatedAt:     created,
		Object:        string(f.Object),
		ObjectID:      string(f.ObjectID),
		ObjectPayload: payload,
		Signature:     string(f.Signature),
	}, nil
}

func orNull(b json.RawMessage) []byte {
	if len(b) == 0 {
		return []byte("null")
	}
	return b
}

// signedPayload returns the bytes Treezor signed: the raw value as received, or the
// content of a JSON string. Absent or null gives nil.
func signedPayload(raw json.RawMessage) (json.RawMessage, error) {
	t := bytes.TrimSpace(raw)
	if len(t) == 0 || string(t) == "null" {
		return nil, nil
	}
	if t[0] != '"' {
		return raw, nil // already a copy: json.RawMessage never aliases the decoded body
	}
	var s string
	if err := json.Unmarshal(t, &s); err != nil {
		return nil, fmt.Errorf("%w: object_payload: %v", ErrMalformed, err)
	}
	return json.RawMessage(s), nil
}

// createdAtUnitsPerSecond: webhook_created_at counts 1e-4 s.
const createdAtUnitsPerSecond = 10000

// maxCreatedAtUnits is the end of year 9999.
const maxCreatedAtUnits = 253402300799 * createdAtUnitsPerSecond

// parseCreatedAt turns webhook_created_at (1e-4 s since the epoch) into UTC; "" and 0
// are the zero time.
func parseCreatedAt(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "0" {
		return time.Time{}, nil
	}
	units, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		f, ferr := strconv.ParseFloat(s, 64)
		if ferr != nil || math.IsNaN(f) || f < 0 || f > maxCreatedAtUnits {
			return time.Time{}, fmt.Errorf("%w: webhook_created_at %q is not a timestamp", ErrMalformed, s)
		}
		units = int64(f)
	}
	if units < 0 || units > maxCreatedAtUnits {
		return time.Time{}, fmt.Errorf("%w: webhook_created_at %q is out of range", ErrMalformed, s)
	}
	if units == 0 {
		return time.Time{}, nil
	}
	sec := units / createdAtUnitsPerSecond
	nsec := (units % createdAtUnitsPerSecond) * int64(time.Second/createdAtUnitsPerSecond)
	return time.Unix(sec, nsec).UTC(), nil
}

// createdAtUnits is the inverse of parseCreatedAt.
func createdAtUnits(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()*createdAtUnitsPerSecond + int64(t.Nanosecond())/int64(time.Second/createdAtUnitsPerSecond)
}

// EncodeEnvelope writes e in the flat form, object_payload as the raw JSON value (for the
// simulator and tests). The payload must be valid JSON.
func EncodeEnvelope(e *Envelope) ([]byte, error) {
	if e == nil || e.Webhook == "" {
		return nil, fmt.Errorf("encode webhook envelope: %w: webhook type is missing", ErrInvalidArgument)
	}
	payload := bytes.TrimSpace(e.ObjectPayload)
	if len(payload) == 0 {
		payload = []byte("null")
	}
	if !json.Valid(payload) {
		return nil, fmt.Errorf("encode webhook envelope: %w: object_payload is not valid JSON", ErrInvalidArgument)
	}
	var b bytes.Buffer
	field := func(name string, value any, first bool) {
		if !first {
			b.WriteByte(',')
		}
		key, _ := json.Marshal(name)
		b.Write(key)
		b.WriteByte(':')
		v, _ := json.Marshal(value) // strings and int64 never fail
		b.Write(v)
	}
	b.WriteByte('{')
	field("webhook", e.Webhook, true)
	field("webhook_id", e.WebhookID, false)
	field("webhook_created_at", createdAtUnits(e.CreatedAt), false)
	field("object", e.Object, false)
	field("object_id", e.ObjectID, false)
	b.WriteString(`,"object_payload":`)
	b.Write(payload)
	field("object_payload_signature", e.Signature, false)
	b.WriteByte('}')
	return b.Bytes(), nil
}
