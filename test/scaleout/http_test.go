package scaleout

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// httpClient sends the JSON requests of the test.
type httpClient struct{ c *http.Client }

func newHTTPClient() *httpClient {
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConnsPerHost = 64
	// POST /v1/onboardings waits up to the API's update timeout (30 s).
	return &httpClient{c: &http.Client{Transport: transport, Timeout: 45 * time.Second}}
}

// statusError is a non-2xx answer.
type statusError struct {
	method, url string
	status      int
	body        string
}

func (e *statusError) Error() string {
	return fmt.Sprintf("%s %s: %d %s", e.method, e.url, e.status, e.body)
}

// transient reports whether an error may pass by itself: a network error or a 5xx answer
// (a timeout of the API's update, Temporal busy, a query to a worker that just died).
func transient(err error) bool {
	se, ok := err.(*statusError)
	return !ok || se.status >= 500
}

// do sends body as JSON (nil: no body) with the API key (empty: none) and decodes a 2xx
// answer into out (nil: discard). Any other answer is a *statusError.
func (h *httpClient) do(ctx context.Context, method, url, key string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := h.c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return fmt.Errorf("%s %s: read answer: %w", method, url, err)
	}
	if resp.StatusCode/100 != 2 {
		return &statusError{method: method, url: url, status: resp.StatusCode, body: string(bytes.TrimSpace(b[:min(len(b), 300)]))}
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("%s %s: decode answer: %w", method, url, err)
		}
	}
	return nil
}

// retry calls fn until it succeeds, fails with a non-transient error, or ctx is done.
func retry(ctx context.Context, what string, fn func() error) error {
	for {
		err := fn()
		if err == nil || !transient(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: %w (last error: %v)", what, ctx.Err(), err)
		case <-time.After(500 * time.Millisecond):
		}
	}
}
