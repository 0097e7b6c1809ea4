package treezor

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// Event normalises the envelope into an Event. Known types (qes.*, user.kycreview,
// document.create, payin.create/update) are decoded from object_payload; other types
// give a generic Event with Known=false and no error. A known type whose payload cannot
// be decoded gives an error wrapping ErrMalformed.
func (e *Envelope) Event() (Event, error) {
	ev := Event{WebhookID: e.WebhookID, Type: e.Webhook, CreatedAt: e.CreatedAt}
	decode, known := eventDecoders[e.Webhook]
	if !known {
		return ev, nil
	}
	ev.Known = true
	if err := decode(e, &ev); err != nil {
		return Event{}, fmt.Errorf("decode %s webhook %s: %w", e.Webhook, e.WebhookID, err)
	}
	return ev, nil
}

// eventDecoders fill an Event from the payload of one webhook type.
var eventDecoders = map[string]func(*Envelope, *Event) error{
	EventQESCreated:     decodeQES,
	EventQESProcessing:  decodeQES,
	EventQESAborted:     decodeQES,
	EventQESFinalized:   decodeQES,
	EventUserKYCReview:  decodeKYCReview,
	EventDocumentCreate: decodeDocument,
	EventPayinCreate:    decodePayin,
	EventPayinUpdate:    decodePayin,
}

type qesItem struct {
	UserID           flexString `json:"userId"`
	IdentificationID flexString `json:"identificationId"`
	Result           flexString `json:"result"`
	Reason           *struct {
		ReasonCode    flexInt    `json:"reasonCode"`
		ReasonMessage flexString `json:"reasonMessage"`
	} `json:"reason"`
	// Some payloads carry the reason at item level.
	ReasonCode    flexInt    `json:"reasonCode"`
	ReasonMessage flexString `json:"reasonMessage"`
}

func decodeQES(e *Envelope, ev *Event) error {
	var it qesItem
	if err := firstItem(e.ObjectPayload, "qes", &it); err != nil {
		return err
	}
	ev.UserID = string(it.UserID)
	ev.IdentificationID = firstNonEmpty(string(it.IdentificationID), e.ObjectID)
	ev.Result = strings.ToUpper(string(it.Result))
	ev.ReasonCode, ev.ReasonMessage = int(it.ReasonCode), string(it.ReasonMessage)
	if it.Reason != nil && (it.Reason.ReasonCode != 0 || it.Reason.ReasonMessage != "") {
		ev.ReasonCode, ev.ReasonMessage = int(it.Reason.ReasonCode), string(it.Reason.ReasonMessage)
	}
	return nil
}

type userItem struct {
	UserID           flexString `json:"userId"`
	KYCReview        KYCReview  `json:"kycReview"`
	KYCLevel         flexInt    `json:"kycLevel"`
	KYCReviewComment flexString `json:"kycReviewComment"`
}

func decodeKYCReview(e *Envelope, ev *Event) error {
	var it userItem
	if err := firstItem(e.ObjectPayload, "users", &it); err != nil {
		return err
	}
	ev.UserID = firstNonEmpty(string(it.UserID), e.ObjectID)
	ev.KYCReview, ev.KYCLevel, ev.KYCReviewComment = it.KYCReview, int(it.KYCLevel), string(it.KYCReviewComment)
	return nil
}

type documentItem struct {
	DocumentID     flexString `json:"documentId"`
	UserID         flexString `json:"userId"`
	DocumentTypeID flexInt    `json:"documentTypeId"`
	DocumentStatus flexString `json:"documentStatus"`
}

func decodeDocument(e *Envelope, ev *Event) error {
	var it documentItem
	if err := firstItem(e.ObjectPayload, "documents", &it); err != nil {
		return err
	}
	ev.DocumentID = firstNonEmpty(string(it.DocumentID), e.ObjectID)
	ev.UserID, ev.DocumentTypeID, ev.DocumentStatus = string(it.UserID), int(it.DocumentTypeID), string(it.DocumentStatus)
	return nil
}

type payinItem struct {
	PayinID     flexString `json:"payinId"`
	UserID      flexString `json:"userId"`
	WalletID    flexString `json:"walletId"`
	PayinStatus flexString `json:"payinStatus"`
}

func decodePayin(e *Envelope, ev *Event) error {
	var it payinItem
	if err := firstItem(e.ObjectPayload, "payins", &it); err != nil {
		return err
	}
	ev.PayinID = firstNonEmpty(string(it.PayinID), e.ObjectID)
	ev.UserID, ev.WalletID, ev.PayinStatus = string(it.UserID), string(it.WalletID), string(it.PayinStatus)
	return nil
}

// firstItem decodes payload[key][0] into v. It tolerates payload[key] being a single
// object, and a payload without key that is the item itself.
func firstItem[T any](payload json.RawMessage, key string, v *T) error {
	if len(bytes.TrimSpace(payload)) == 0 {
		return fmt.Errorf("%w: object_payload is missing", ErrMalformed)
	}
	var outer map[string]json.RawMessage
	if err := json.Unmarshal(payload, &outer); err != nil {
		return fmt.Errorf("%w: object_payload: %v", ErrMalformed, err)
	}
	if outer == nil {
		return fmt.Errorf("%w: object_payload is null", ErrMalformed)
	}
	list, ok := outer[key]
	if !ok {
		return decodeItem(payload, key, v)
	}
	t := bytes.TrimSpace(list)
	switch {
	case len(t) > 0 && t[0] == '[':
		return decodeFirstOf(t, key, v)
	case len(t) > 0 && t[0] == '{':
		return decodeItem(t, key, v)
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

func firstNonEmpty(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}
