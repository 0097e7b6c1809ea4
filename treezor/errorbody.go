package treezor

import (
	"bytes"
	"encoding/json"
	"io"
	"strings"
	"unicode/utf8"
)

// maxMessageLen bounds the Treezor message kept in an APIError.
const maxMessageLen = 300

// parseErrorBody reads Treezor's error details from any of its three body formats:
// {"errors":[{"type","code","message","docUrl"}]}, legacy {"errorCode","errorMessage"},
// and {"error": "..."} or {"error": {...}} (OAuth adds "error_description").
// Unparseable bodies give an empty APIError (the status tells the rest).
func parseErrorBody(body []byte) *APIError {
	var doc struct {
		Errors           json.RawMessage `json:"errors"`
		ErrorCode        flexString      `json:"errorCode"`
		ErrorMessage     flexString      `json:"errorMessage"`
		Error            json.RawMessage `json:"error"`
		ErrorDescription flexString      `json:"error_description"`
		Message          flexString      `json:"message"`
	}
	e := &APIError{}
	if err := json.Unmarshal(body, &doc); err != nil {
		return e
	}
	if d, ok := firstErrorDetail(doc.Errors); ok {
		e.Type, e.Code, e.Message = string(d.Type), string(d.Code), string(d.Message)
	} else if d, ok := errorField(doc.Error); ok {
		e.Type, e.Code, e.Message = string(d.Type), string(d.Code), string(d.Message)
	}
	if e.Code == "" {
		e.Code = string(doc.ErrorCode)
	}
	if e.Message == "" {
		e.Message = firstNonEmpty(string(doc.ErrorMessage), string(doc.ErrorDescription), string(doc.Message))
	}
	e.Type, e.Code, e.Message = clip(e.Type, 100), clip(e.Code, 100), clip(e.Message, maxMessageLen)
	e.FromTreezor = e.Type != "" || e.Code != "" || e.Message != ""
	return e
}

type errorDetail struct {
	Type    flexString `json:"type"`
	Code    flexString `json:"code"`
	Message flexString `json:"message"`
	DocURL  flexString `json:"docUrl"`
}

// firstErrorDetail decodes the first entry of "errors" (a list, or a single object).
func firstErrorDetail(raw json.RawMessage) (errorDetail, bool) {
	raw = bytes.TrimSpace(raw)
	var d errorDetail
	if len(raw) == 0 {
		return d, false
	}
	if raw[0] == '[' {
		var list []errorDetail
		if json.Unmarshal(raw, &list) != nil || len(list) == 0 {
			return d, false
		}
		return list[0], true
	}
	if json.Unmarshal(raw, &d) != nil {
		return d, false
	}
	return d, true
}

// errorField decodes "error" as a string (its Type, as OAuth uses it) or an object.
func errorField(raw json.RawMessage) (errorDetail, bool) {
	raw = bytes.TrimSpace(raw)
	var d errorDetail
	if len(raw) == 0 || string(raw) == "null" {
		return d, false
	}
	if raw[0] == '"' {
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return d, false
		}
		// OAuth's "invalid_client" is a type; a sentence is a message.
		if s = strings.TrimSpace(s); strings.ContainsAny(s, " \t") {
			d.Message = flexString(s)
		} else {
			d.Type = flexString(s)
		}
		return d, true
	}
	if raw[0] != '{' {
		return d, false
	}
	var obj struct {
		errorDetail
		ErrorCode    flexString `json:"errorCode"`
		ErrorMessage flexString `json:"errorMessage"`
	}
	if json.Unmarshal(raw, &obj) != nil {
		return d, false
	}
	d = obj.errorDetail
	if d.Code == "" {
		d.Code = obj.ErrorCode
	}
	if d.Message == "" {
		d.Message = obj.ErrorMessage
	}
	return d, true
}

// clip shortens s to at most n bytes on a rune boundary and flattens newlines.
func clip(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// readLimited reads at most limit bytes of r.
func readLimited(r io.Reader, limit int64) ([]byte, error) {
	return io.ReadAll(io.LimitReader(r, limit))
}
