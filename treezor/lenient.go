package treezor

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// flexString decodes a JSON string or number (kept as its literal text); null is "".
type flexString string

// UnmarshalJSON implements json.Unmarshaler.
func (f *flexString) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0 || string(b) == "null":
		*f = ""
	case b[0] == '"':
		s, err := unquote(b)
		if err != nil {
			return err
		}
		*f = flexString(strings.TrimSpace(s))
	case b[0] == '-' || (b[0] >= '0' && b[0] <= '9'):
		var n json.Number
		if err := json.Unmarshal(b, &n); err != nil {
			return err
		}
		*f = flexString(n.String())
	default:
		return fmt.Errorf("want a string or a number, got %.20s", b)
	}
	return nil
}

// flexInt decodes a JSON integer, an integral float, or a string holding one; null and
// "" are 0.
type flexInt int

// UnmarshalJSON implements json.Unmarshaler.
func (f *flexInt) UnmarshalJSON(b []byte) error {
	var s flexString
	if err := s.UnmarshalJSON(b); err != nil {
		return err
	}
	n, err := parseLenientInt(string(s))
	if err != nil {
		return err
	}
	*f = flexInt(n)
	return nil
}

func parseLenientInt(s string) (int, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	if n, err := strconv.Atoi(s); err == nil {
		return n, nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || v != math.Trunc(v) || math.Abs(v) > math.MaxInt32 {
		return 0, fmt.Errorf("%q is not an integer", s)
	}
	return int(v), nil
}

// unquote decodes the JSON string literal b. A literal without escapes, control characters
// and invalid UTF-8 (nearly every identifier Treezor sends) is its own content and is sliced
// out directly: json.Unmarshal would first validate b again and set up a decoder, which costs
// several times more for each of the many small fields of a webhook. Everything else goes
// through json.Unmarshal, so the result is the same either way.
func unquote(b []byte) (string, error) {
	if s, ok := plainString(b); ok {
		return s, nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return "", err
	}
	return s, nil
}

// plainString returns the content of b when b is a complete JSON string literal that needs
// no unescaping and no UTF-8 repair.
func plainString(b []byte) (string, bool) {
	if len(b) < 2 || b[0] != '"' || b[len(b)-1] != '"' {
		return "", false
	}
	inner := b[1 : len(b)-1]
	ascii := true
	for _, c := range inner {
		switch {
		case c == '"' || c == '\\' || c < 0x20:
			return "", false
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	if !ascii && !utf8.Valid(inner) {
		return "", false
	}
	return string(inner), true
}

// phpString is a flexString that also takes what PHP's json_encode writes for an empty or
// unset value: false, [] and {} are "", true is "1" (as PHP prints it). Webhook payload fields
// use it.
type phpString string

// UnmarshalJSON implements json.Unmarshaler.
func (p *phpString) UnmarshalJSON(b []byte) error {
	switch t := bytes.TrimSpace(b); {
	case string(t) == "false" || isEmptyPHPValue(t):
		*p = ""
		return nil
	case string(t) == "true":
		*p = "1"
		return nil
	}
	var s flexString
	if err := s.UnmarshalJSON(b); err != nil {
		return err
	}
	*p = phpString(s)
	return nil
}

// phpInt is a flexInt that also takes PHP's empty values (false, [], {} are 0; true is 1).
type phpInt int

// UnmarshalJSON implements json.Unmarshaler.
func (p *phpInt) UnmarshalJSON(b []byte) error {
	var s phpString
	if err := s.UnmarshalJSON(b); err != nil {
		return err
	}
	n, err := parseLenientInt(string(s))
	if err != nil {
		return err
	}
	*p = phpInt(n)
	return nil
}

// isEmptyPHPValue reports whether b is an empty JSON array or object: what PHP's json_encode
// writes for an empty array, whichever of the two the field was meant to be.
func isEmptyPHPValue(b []byte) bool {
	b = bytes.TrimSpace(b)
	if len(b) < 2 || (b[0] != '[' && b[0] != '{') {
		return false
	}
	closing := byte(']')
	if b[0] == '{' {
		closing = '}'
	}
	return b[len(b)-1] == closing && len(bytes.TrimSpace(b[1:len(b)-1])) == 0
}

// flexReason decodes the reason of a QES webhook in every shape PHP gives it: an object
// {"reasonCode","reasonMessage"}, an empty array or object, null, a bare code (number or
// numeric string) or a bare message string.
type flexReason struct {
	Code    int
	Message string
}

// UnmarshalJSON implements json.Unmarshaler.
func (r *flexReason) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	*r = flexReason{}
	switch {
	case len(b) == 0 || string(b) == "null" || isEmptyPHPValue(b):
		return nil
	case b[0] == '{':
		var obj struct {
			ReasonCode    phpInt    `json:"reasonCode"`
			ReasonMessage phpString `json:"reasonMessage"`
		}
		if err := json.Unmarshal(b, &obj); err != nil {
			return fmt.Errorf("reason: %w", err)
		}
		r.Code, r.Message = int(obj.ReasonCode), string(obj.ReasonMessage)
		return nil
	case b[0] == '[':
		// A non-empty list: PHP's form of a list of reasons; the first one counts.
		var list []flexReason
		if err := json.Unmarshal(b, &list); err != nil {
			return fmt.Errorf("reason: %w", err)
		}
		*r = list[0]
		return nil
	}
	var s phpString
	if err := s.UnmarshalJSON(b); err != nil {
		return fmt.Errorf("reason: %w", err)
	}
	if n, err := parseLenientInt(string(s)); err == nil {
		r.Code = n
		return nil
	}
	r.Message = string(s)
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
