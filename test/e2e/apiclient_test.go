package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/qesflow/qesflow/internal/schemacheck"
	"github.com/qesflow/qesflow/starter"
	"github.com/qesflow/qesflow/workflows"
)

// apiClient calls the onboarding API like an onboarding backend that keeps trying while
// the platform restarts: 5xx answers and transport errors are retried until ctx ends.
type apiClient struct {
	base, key string
	http      *http.Client

	mu        sync.Mutex
	calls     int               // requests sent
	retried   map[string]int    // retried answers by route and status (0: transport error)
	internals []string          // bodies of the first 500 answers: the API could not classify an error
	conflicts map[string]string // the last 409 answer accepted, by path (the chaos report shows it)
}

// newAPIClient sends every request through the schema-checking transport: an answer that
// disagrees with starter/openapi.json fails t.
func newAPIClient(t testing.TB, base, key string) *apiClient {
	checker, err := schemacheck.New(starter.OpenAPIDocument())
	if err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{Timeout: time.Minute, Transport: schemacheck.Transport{T: t, Checker: checker}}
	return &apiClient{base: base, key: key, http: hc, retried: map[string]int{}}
}

// onboardingAnswer is the body of 200/201 answers to POST /v1/onboardings.
type onboardingAnswer struct {
	IdentificationID string `json:"identificationId"`
	Attempt          int    `json:"attempt"`
	Status           string `json:"status"`
}

// problem is the part of an application/problem+json body the driver reads.
type problem struct {
	Type          string   `json:"type"`
	MissingFields []string `json:"missingFields"`
}

// start posts POST /v1/onboardings and returns the status (200, 201 or 422) and body.
func (c *apiClient) start(ctx context.Context, userID, country string) (int, []byte, error) {
	body := map[string]string{"userId": userID, "country": country}
	return c.call(ctx, http.MethodPost, "/v1/onboardings", body, http.StatusOK, http.StatusCreated, http.StatusUnprocessableEntity)
}

func (c *apiClient) restart(ctx context.Context, userID string) error {
	_, _, err := c.call(ctx, http.MethodPost, "/v1/onboardings/"+userID+"/restart",
		workflows.RestartRequest{Reason: "chaos driver"}, http.StatusOK, http.StatusConflict) // 409: a retried call already applied
	return err
}

// decide sends the compliance decision. A 409 means a retried call was already applied;
// one that names COMPLIANCE_REVIEW is a refusal the workflow must not make (issue 18), an
// error.
func (c *apiClient) decide(ctx context.Context, userID, decision string) error {
	path := "/v1/onboardings/" + userID + "/compliance-decision"
	status, body, err := c.call(ctx, http.MethodPost, path,
		workflows.ComplianceDecision{Decision: decision, Note: "chaos driver"}, http.StatusOK, http.StatusConflict)
	if err != nil || status != http.StatusConflict {
		return err
	}
	var p struct {
		State string `json:"state"`
	}
	if json.Unmarshal(body, &p) == nil && p.State == string(workflows.StateComplianceReview) {
		return fmt.Errorf("POST %s: refused under compliance review: %s", path, body)
	}
	return nil
}

// details reads GET /v1/onboardings/{userId}/details.
func (c *apiClient) details(ctx context.Context, userID string) (workflows.Status, error) {
	var st workflows.Status
	_, body, err := c.call(ctx, http.MethodGet, "/v1/onboardings/"+userID+"/details", nil, http.StatusOK)
	if err != nil {
		return st, err
	}
	if err := json.Unmarshal(body, &st); err != nil {
		return st, fmt.Errorf("decode details of user %s: %w", userID, err)
	}
	return st, nil
}

// call sends one request until it gets one of the accepted statuses. 5xx answers and
// transport errors are retried every 300 ms; any other status is an error.
func (c *apiClient) call(ctx context.Context, method, path string, body any, accept ...int) (int, []byte, error) {
	var payload []byte
	if body != nil {
		var err error
		if payload, err = json.Marshal(body); err != nil {
			return 0, nil, fmt.Errorf("%s %s: encode body: %w", method, path, err)
		}
	}
	for {
		status, data, err := c.once(ctx, method, path, payload)
		switch {
		case err == nil && slices.Contains(accept, status):
			if status == http.StatusConflict {
				c.mu.Lock()
				if c.conflicts == nil {
					c.conflicts = map[string]string{}
				}
				c.conflicts[path] = string(data)
				c.mu.Unlock()
			}
			return status, data, nil
		case err == nil && status < 500:
			return status, data, fmt.Errorf("%s %s: unexpected status %d: %s", method, path, status, data)
		}
		c.countRetry(method+" "+path, status, data)
		select {
		case <-ctx.Done():
			return status, data, fmt.Errorf("%s %s: gave up (last status %d, error %v): %w", method, path, status, err, ctx.Err())
		case <-time.After(300 * time.Millisecond):
		}
	}
}

func (c *apiClient) once(ctx context.Context, method, path string, payload []byte) (int, []byte, error) {
	c.mu.Lock()
	c.calls++
	c.mu.Unlock()
	var rd io.Reader
	if payload != nil {
		rd = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.key)
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil, err
	}
	return resp.StatusCode, data, nil
}

func (c *apiClient) countRetry(route string, status int, body []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.retried[fmt.Sprintf("%s %d", routeOf(route), status)]++
	if status == http.StatusInternalServerError && len(c.internals) < 5 {
		c.internals = append(c.internals, route+": "+string(body))
	}
}

// internalErrors returns the first 500 answers.
func (c *apiClient) internalErrors() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.internals...)
}

// retries returns the requests sent, the retried answers by route and status, and their total.
func (c *apiClient) retries() (calls int, byRoute map[string]int, total int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	byRoute = map[string]int{}
	for k, v := range c.retried {
		byRoute[k] = v
		total += v
	}
	return c.calls, byRoute, total
}

// routeOf replaces the user id of "METHOD /v1/onboardings/{userId}/…" by a placeholder.
func routeOf(methodPath string) string {
	parts := strings.Split(methodPath, "/")
	if len(parts) > 3 {
		parts[3] = "{userId}"
	}
	return strings.Join(parts, "/")
}

// lastConflict is the last 409 answer accepted for path, or "".
func (c *apiClient) lastConflict(path string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.conflicts[path]
}
