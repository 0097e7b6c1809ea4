package starter

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"unicode/utf8"
)

var errBodyTooLarge = errors.New("request body too large")

// decodeJSONBody reads at most MaxBodyBytes and decodes one JSON object into dst, refusing
// bodies that are not UTF-8, unknown fields and trailing data. An empty body is accepted
// when optional. Error messages describe the problem without echoing the body.
func decodeJSONBody(w http.ResponseWriter, r *http.Request, dst any, optional bool) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return errBodyTooLarge
		}
		// The cause (a timeout, a reset) names socket addresses: not for the client.
		return errors.New("the request body could not be read in time or was cut off")
	}
	if !utf8.Valid(body) {
		// JSON must be UTF-8 (RFC 8259 §8.1); decoding would silently replace the bytes.
		return errors.New("the body is not valid UTF-8")
	}
	if len(bytes.TrimSpace(body)) == 0 {
		if optional {
			return nil
		}
		return errors.New("a JSON object is required")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return jsonError(err)
	}
	if dec.More() {
		return errors.New("one JSON object expected, found trailing data")
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("one JSON object expected, found trailing data")
	}
	return nil
}

// jsonError rewrites decoder errors so that they name fields, never values.
func jsonError(err error) error {
	var syntax *json.SyntaxError
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return fmt.Errorf("malformed JSON at byte %d", syntax.Offset)
	case errors.As(err, &typeErr):
		if typeErr.Field != "" {
			return fmt.Errorf("field %q must be a JSON %s", typeErr.Field, typeErr.Type.Kind())
		}
		return errors.New("a JSON object is required")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return errors.New("truncated JSON")
	}
	// json: unknown field "x" names the field only.
	return fmt.Errorf("%s", trimJSONPrefix(err.Error()))
}

func trimJSONPrefix(s string) string {
	const p = "json: "
	if len(s) > len(p) && s[:len(p)] == p {
		return s[len(p):]
	}
	return s
}
