package treezor

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// ErrInconsistent marks a webhook whose unsigned event type does not match its signed
// payload (the root key or the fields the type requires are missing). Treezor never sends
// one, and no redelivery can make it valid: it is refused, not retried. Errors wrapping it
// also wrap ErrMalformed.
var ErrInconsistent = errors.New("webhook type does not match its signed payload")

// inconsistent returns an error wrapping ErrInconsistent and ErrMalformed.
func inconsistent(format string, args ...any) error {
	return fmt.Errorf("%w (%w): %s", ErrInconsistent, ErrMalformed, fmt.Sprintf(format, args...))
}

// Event normalises the envelope into an Event. Known types (qes.*, user.kycreview,
// user.kycrequest, document.create, payin.create/update) are decoded from the signed
// object_payload only: the unsigned envelope gives the type (checked against the payload),
// the webhook id (a hint) and the time, never an identifier to route by. Other types give a
// generic Event with Known=false and no error. PayloadHash is set on every event.
//
// A known type whose payload lacks the type's root key, or the fields the type requires,
// gives an error wrapping ErrInconsistent; one whose payload has the root key but cannot be
// decoded gives an error wrapping ErrMalformed.
func (e *Envelope) Event() (Event, error) {
	ev := Event{WebhookID: e.WebhookID, Type: e.Webhook, CreatedAt: e.CreatedAt, PayloadHash: PayloadHash(e.ObjectPayload)}
	decode, known := eventDecoders[e.Webhook]
	if !known {
		return ev, nil
	}
	ev.Known = true
	if err := decode(e.ObjectPayload, &ev); err != nil {
		return Event{}, fmt.Errorf("decode %s webhook %s: %w", e.Webhook, e.WebhookID, err)
	}
	return ev, nil
}

// PayloadHash is the hex SHA-256 of the signed object_payload bytes as received.
func PayloadHash(payload []byte) string {
	sum := sha256.Sum256(payload)
	return hex.EncodeToString(sum[:])
}

// eventDecoders fill an Event from the signed payload of one webhook type.
var eventDecoders = map[string]func(json.RawMessage, *Event) error{
	EventQESCreated:     decodeQES,
	EventQESProcessing:  decodeQES,
	EventQESAborted:     decodeQES,
	EventQESFinalized:   decodeQES,
	EventUserKYCReview:  decodeUser,
	EventUserKYCRequest: decodeUser,
	EventDocumentCreate: decodeDocument,
	EventPayinCreate:    decodePayin,
	EventPayinUpdate:    decodePayin,
}

type qesItem struct {
	UserID           phpString  `json:"userId"`
	IdentificationID phpString  `json:"identificationId"`
	Result           phpString  `json:"result"`
	Reason           flexReason `json:"reason"`
	// Some payloads carry the reason at item level.
	ReasonCode    phpInt    `json:"reasonCode"`
	ReasonMessage phpString `json:"reasonMessage"`
}

func decodeQES(payload json.RawMessage, ev *Event) error {
	var it qesItem
	if err := firstItem(payload, "qes", &it); err != nil {
		return err
	}
	ev.UserID = string(it.UserID)
	ev.IdentificationID = string(it.IdentificationID)
	ev.Result = strings.ToUpper(string(it.Result))
	ev.ReasonCode, ev.ReasonMessage = int(it.ReasonCode), string(it.ReasonMessage)
	if it.Reason.Code != 0 || it.Reason.Message != "" {
		ev.ReasonCode, ev.ReasonMessage = it.Reason.Code, it.Reason.Message
	}
	return qesFieldsMatch(ev)
}

// qesFieldsMatch checks that a QES payload says what its event type says: qes.finalized
// carries a result, and qes.aborted carries an abort (the ABORTED result or a reason code).
// A qes.created relabelled qes.aborted or qes.finalized is refused this way.
func qesFieldsMatch(ev *Event) error {
	switch ev.Type {
	case EventQESFinalized:
		if ev.Result == "" {
			return inconsistent("qes.finalized without a result")
		}
	case EventQESAborted:
		aborted := ev.Result == "" || ClassifyResult(ev.Result) == ResultClassAborted
		if !aborted || (ev.Result == "" && ev.ReasonCode == 0) {
			return inconsistent("qes.aborted without an abort result or reason")
		}
	}
	return nil
}

// userItem is a users item as the API answers it (used by the client).
type userItem struct {
	UserID           flexString `json:"userId"`
	KYCReview        KYCReview  `json:"kycReview"`
	KYCLevel         flexInt    `json:"kycLevel"`
	KYCReviewComment flexString `json:"kycReviewComment"`
}

// webhookUserItem is a users item of a user.* webhook, every field in PHP's shapes.
type webhookUserItem struct {
	UserID           phpString     `json:"userId"`
	KYCReview        flexKYCReview `json:"kycReview"`
	KYCLevel         phpInt        `json:"kycLevel"`
	KYCReviewComment phpString     `json:"kycReviewComment"`
}

// flexKYCReview is a KYCReview that also takes PHP's empty values (false, [], {}) as none.
type flexKYCReview KYCReview

// UnmarshalJSON implements json.Unmarshaler.
func (k *flexKYCReview) UnmarshalJSON(b []byte) error {
	if t := bytes.TrimSpace(b); string(t) == "false" || isEmptyPHPValue(t) {
		*k = flexKYCReview(KYCReviewNone)
		return nil
	}
	return (*KYCReview)(k).UnmarshalJSON(b)
}

// decodeUser decodes user.kycreview and user.kycrequest: a users item with its review state.
func decodeUser(payload json.RawMessage, ev *Event) error {
	var it webhookUserItem
	if err := firstItem(payload, "users", &it); err != nil {
		return err
	}
	ev.UserID = string(it.UserID)
	ev.KYCReview, ev.KYCLevel, ev.KYCReviewComment = KYCReview(it.KYCReview), int(it.KYCLevel), string(it.KYCReviewComment)
	return nil
}

type documentItem struct {
	DocumentID     phpString `json:"documentId"`
	UserID         phpString `json:"userId"`
	DocumentTypeID phpInt    `json:"documentTypeId"`
	DocumentStatus phpString `json:"documentStatus"`
}

func decodeDocument(payload json.RawMessage, ev *Event) error {
	var it documentItem
	if err := firstItem(payload, "documents", &it); err != nil {
		return err
	}
	ev.DocumentID, ev.UserID = string(it.DocumentID), string(it.UserID)
	ev.DocumentTypeID, ev.DocumentStatus = int(it.DocumentTypeID), string(it.DocumentStatus)
	return nil
}

type payinItem struct {
	PayinID         phpString `json:"payinId"`
	UserID          phpString `json:"userId"`
	WalletID        phpString `json:"walletId"`
	PayinStatus     phpString `json:"payinStatus"`
	PaymentMethodID phpInt    `json:"paymentMethodId"`
}

func decodePayin(payload json.RawMessage, ev *Event) error {
	var it payinItem
	if err := firstItem(payload, "payins", &it); err != nil {
		return err
	}
	ev.PayinID, ev.UserID, ev.WalletID = string(it.PayinID), string(it.UserID), string(it.WalletID)
	ev.PayinStatus, ev.PaymentMethodID = strings.ToUpper(string(it.PayinStatus)), int(it.PaymentMethodID)
	return nil
}

// firstItem decodes payload[key][0] into v; payload[key] may also be a single object. A
// payload that is not an object with key is inconsistent with the type (ErrInconsistent);
// a payload[key] that cannot be decoded is malformed (ErrMalformed).
func firstItem[T any](payload json.RawMessage, key string, v *T) error {
	t := bytes.TrimSpace(payload)
	if len(t) == 0 || t[0] != '{' {
		return inconsistent("object_payload is not an object with %q", key)
	}
	var outer map[string]json.RawMessage
	if err := json.Unmarshal(t, &outer); err != nil {
		return fmt.Errorf("%w: object_payload: %v", ErrMalformed, err)
	}
	list, ok := outer[key]
	if !ok {
		return inconsistent("object_payload has no %q", key)
	}
	list = bytes.TrimSpace(list)
	switch {
	case len(list) > 0 && list[0] == '[':
		return decodeFirstOf(list, key, v)
	case len(list) > 0 && list[0] == '{':
		return decodeItem(list, key, v)
	default:
		return fmt.Errorf("%w: object_payload.%s is neither a list nor an object", ErrMalformed, key)
	}
}

// decodeFirstOf decodes the first element of the JSON array list into v. Decoding into a
// one-element array reads the first element and skips the others undecoded, as a list of
// raw items would, without copying every item first and decoding the first one again.
func decodeFirstOf[T any](list []byte, key string, v *T) error {
	// list is a JSON value the decoder checked already: after '[' comes ']' or an element.
	if rest := bytes.TrimSpace(list[1:]); len(rest) > 0 && rest[0] == ']' {
		return fmt.Errorf("%w: object_payload.%s is empty", ErrMalformed, key)
	}
	var first [1]T
	if err := json.Unmarshal(list, &first); err != nil {
		return fmt.Errorf("%w: object_payload.%s[0]: %v", ErrMalformed, key, err)
	}
	*v = first[0]
	return nil
}

func decodeItem[T any](item []byte, key string, v *T) error {
	if err := json.Unmarshal(item, v); err != nil {
		return fmt.Errorf("%w: object_payload.%s[0]: %v", ErrMalformed, key, err)
	}
	return nil
}
