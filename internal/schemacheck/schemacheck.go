// Package schemacheck validates HTTP exchanges against an OpenAPI 3.1 document, for tests
// only: the API, end-to-end and chaos suites send every request through Transport, so a
// response that disagrees with the document fails the test that caused it.
package schemacheck

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	"github.com/pb33f/libopenapi-validator/config"
	valerrors "github.com/pb33f/libopenapi-validator/errors"
)

// Checker validates exchanges against an OpenAPI 3.1 document with
// libopenapi-validator (JSON Schema 2020-12, so 3.1 keywords such as type arrays and
// const are enforced).
type Checker struct {
	mu sync.Mutex // the validator's caches are not documented as safe for concurrent use
	v  validator.Validator
}

// New parses doc; the document itself must be valid.
func New(doc []byte) (*Checker, error) {
	d, err := libopenapi.NewDocument(doc)
	if err != nil {
		return nil, fmt.Errorf("parse OpenAPI document: %w", err)
	}
	v, errs := validator.NewValidator(d, config.WithFormatAssertions())
	if len(errs) > 0 {
		return nil, fmt.Errorf("build validator: %v", errs)
	}
	if ok, verrs := v.ValidateDocument(); !ok {
		return nil, fmt.Errorf("the OpenAPI document is invalid: %s", describe(verrs))
	}
	return &Checker{v: v}, nil
}

// Check returns what in the exchange disagrees with the document: the response must be
// one the operation declares, with a body that matches its schema; a request the document
// refuses must be refused by the server (4xx), since clients generated from the document
// rely on both. reqBody and respBody are the bodies already read.
func (c *Checker) Check(req *http.Request, reqBody []byte, resp *http.Response, respBody []byte) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	if !c.documented(req) {
		return nil // no operation: the harness's route check and the 404/405 tests cover these
	}
	vreq := req.Clone(req.Context())
	vreq.Body = io.NopCloser(bytes.NewReader(reqBody))
	if ok, errs := c.v.ValidateHttpRequest(vreq); !ok && (resp.StatusCode < 400 || resp.StatusCode >= 500) {
		out = append(out, fmt.Sprintf("the server answered %d to a request the document refuses: %s",
			resp.StatusCode, describe(errs)))
	}
	vreq = req.Clone(req.Context())
	vreq.Body = io.NopCloser(bytes.NewReader(reqBody))
	vresp := *resp
	vresp.Body = io.NopCloser(bytes.NewReader(respBody))
	if ok, errs := c.v.ValidateHttpResponse(vreq, &vresp); !ok {
		out = append(out, fmt.Sprintf("response %d does not match the document: %s", resp.StatusCode, describe(errs)))
	}
	return out
}

// documented reports whether the document has an operation for the request's method and path.
func (c *Checker) documented(req *http.Request) bool {
	vreq := req.Clone(req.Context())
	vreq.Body = http.NoBody
	_, errs := c.v.ValidateHttpRequest(vreq)
	for _, e := range errs {
		if e.ValidationType == "path" {
			return false
		}
	}
	return true
}

func describe(errs []*valerrors.ValidationError) string {
	var b strings.Builder
	for _, e := range errs {
		fmt.Fprintf(&b, "\n  - %s: %s", e.Message, e.Reason)
		for _, se := range e.SchemaValidationErrors {
			fmt.Fprintf(&b, "\n      %s at %s", se.Reason, se.FieldPath)
		}
	}
	return b.String()
}

// Transport is an http.RoundTripper for tests: every exchange goes through Check, and a
// mismatch fails the test that sent the request (T.Errorf).
type Transport struct {
	T       testing.TB
	Checker *Checker
	Next    http.RoundTripper // nil: http.DefaultTransport
}

// RoundTrip sends req through Next and checks the exchange.
func (s Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	var reqBody []byte
	if req.Body != nil {
		var err error
		if reqBody, err = io.ReadAll(req.Body); err != nil {
			return nil, err
		}
		_ = req.Body.Close()
		req = req.Clone(req.Context())
		req.Body = io.NopCloser(bytes.NewReader(reqBody))
	}
	next := s.Next
	if next == nil {
		next = http.DefaultTransport
	}
	resp, err := next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	respBody, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(respBody))
	for _, m := range s.Checker.Check(req, reqBody, resp, respBody) {
		s.T.Errorf("%s %s: %s\nresponse body: %s", req.Method, req.URL.Path, m, respBody)
	}
	return resp, nil
}
