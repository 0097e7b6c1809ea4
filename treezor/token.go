package treezor

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

const (
	tokenOp = "oauth token"
	// tokenRefreshMargin: a token is replaced this long before it expires (at most a
	// tenth of its lifetime for short-lived tokens).
	tokenRefreshMargin = time.Minute
	// defaultTokenLifetime applies when the answer has no expires_in.
	defaultTokenLifetime = time.Hour
	// recentTokens is how many tokens are remembered for scrubbing error messages.
	recentTokens = 4
)

// tokenCache holds the current access token and the few last ones (for redaction).
type tokenCache struct {
	mu      sync.Mutex
	value   string
	refresh time.Time // when to fetch a new one
	seen    []string
}

func (t *tokenCache) current(now time.Time) (string, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.value == "" || !now.Before(t.refresh) {
		return "", false
	}
	return t.value, true
}

func (t *tokenCache) store(value string, refresh time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.value, t.refresh = value, refresh
	t.seen = append(t.seen, value)
	if len(t.seen) > recentTokens {
		t.seen = t.seen[len(t.seen)-recentTokens:]
	}
}

// drop forgets value if it is still the current token.
func (t *tokenCache) drop(value string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.value == value {
		t.value = ""
	}
}

func (t *tokenCache) recent() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]string(nil), t.seen...)
}

// tokenResponse is the OAuth2 token answer; expires_in may be a number or a string.
type tokenResponse struct {
	TokenType   flexString `json:"token_type"`
	AccessToken flexString `json:"access_token"`
	ExpiresIn   flexInt    `json:"expires_in"`
}

// accessToken returns the cached token or fetches a new one (one fetch at a time).
func (c *Client) accessToken(ctx context.Context) (string, error) {
	if tok, ok := c.tokens.current(c.now()); ok {
		return tok, nil
	}
	c.fetchMu.Lock()
	defer c.fetchMu.Unlock()
	if tok, ok := c.tokens.current(c.now()); ok { // another caller fetched it meanwhile
		return tok, nil
	}
	issued := c.now()
	tok, lifetime, err := c.fetchToken(ctx)
	if err != nil {
		return "", err
	}
	margin := tokenRefreshMargin
	if lifetime/10 < margin {
		margin = lifetime / 10
	}
	c.tokens.store(tok, issued.Add(lifetime-margin))
	return tok, nil
}

// dropToken forgets a token the API refused, so the next call fetches a new one.
func (c *Client) dropToken(tok string) { c.tokens.drop(tok) }

// fetchToken runs the client-credentials grant against {baseUrl}/oauth/token.
func (c *Client) fetchToken(ctx context.Context) (string, time.Duration, error) {
	form := url.Values{}
	form.Set("grant_type", "client_credentials")
	form.Set("client_id", c.clientID)
	form.Set("client_secret", c.secret)
	if c.scope != "" {
		form.Set("scope", c.scope)
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.baseURL+"/oauth/token", strings.NewReader(form.Encode()))
	if err != nil {
		return "", 0, fmt.Errorf("%s: %w: build request", tokenOp, ErrInvalidArgument)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.userAgent)
	resp, err := c.http.Do(req)
	if err != nil {
		return "", 0, c.networkError(tokenOp, err)
	}
	defer resp.Body.Close()
	body, err := readLimited(resp.Body, maxErrorBody)
	if err != nil {
		return "", 0, c.networkError(tokenOp, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return "", 0, c.apiError(tokenOp, resp.StatusCode, body)
	}
	var out tokenResponse
	if err := json.Unmarshal(body, &out); err != nil {
		return "", 0, fmt.Errorf("%s: %w: decode answer: %s", tokenOp, ErrMalformed, c.redact(err.Error()))
	}
	if out.AccessToken == "" {
		return "", 0, fmt.Errorf("%s: %w: answer has no access_token", tokenOp, ErrMalformed)
	}
	if tt := string(out.TokenType); tt != "" && !strings.EqualFold(tt, "bearer") {
		return "", 0, fmt.Errorf("%s: %w: token_type %q is not Bearer", tokenOp, ErrMalformed, tt)
	}
	lifetime := time.Duration(out.ExpiresIn) * time.Second
	if lifetime <= 0 {
		lifetime = defaultTokenLifetime
	}
	return string(out.AccessToken), lifetime, nil
}
