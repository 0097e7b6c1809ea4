package treezor

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/qesflow/qesflow/internal/httpclient"
)

// DefaultTimeout bounds every HTTP request of the client when Config.Timeout is zero.
const DefaultTimeout = 15 * time.Second

// maxErrorBody and maxResponseBody bound how much of an answer the client reads.
const (
	maxErrorBody    = 64 << 10
	maxResponseBody = 1 << 20
)

// DefaultScopes are the OAuth scopes a Client asks for when Config.Scopes is nil: Treezor
// grants GET endpoints to read_only and PUT/POST/DELETE endpoints to read_write, and qesflow
// needs both (docs.treezor.com/guide/api-basics/scopes.html).
var DefaultScopes = []string{"read_only", "read_write"}

// Config configures a Client.
type Config struct {
	// BaseURL is Treezor's API base, e.g. https://<tenant>.sandbox.treezor.co.
	BaseURL string
	// ClientID and ClientSecret are the OAuth2 client credentials.
	ClientID, ClientSecret string
	// Scopes are sent space-separated with the token request (nil: DefaultScopes; an
	// empty non-nil slice sends no scope).
	Scopes []string
	// Timeout bounds each HTTP request (default DefaultTimeout).
	Timeout time.Duration
	// HTTPClient is used for every request (default: a client of its own that keeps up to
	// httpclient.DefaultIdleConnsPerHost connections to Treezor open, so concurrent
	// activities reuse them).
	HTTPClient *http.Client
	// UserAgent is sent with every request (default "qesflow/<version>").
	UserAgent string
	// Observe, when set, is called after every API call (token fetches included) and every
	// start of a document download with the call's name and its error (nil on success);
	// Classify sorts the error. It must be fast and safe for concurrent use.
	Observe func(op string, err error)
	// ClientCert, when set and HTTPClient is nil, is the client certificate of Treezor's
	// mutual TLS (and the CA bundle that verifies Treezor): the client's own transport
	// presents it, and closes its idle connections when a renewed certificate is loaded so
	// that new connections use it.
	ClientCert *CertReloader
}

// Client calls the Treezor API with an OAuth2 client-credentials token. It is safe for
// concurrent use. It never logs; errors carry what went wrong (*APIError, *NetworkError)
// and never a secret, token or URL.
type Client struct {
	baseURL   string
	clientID  string
	secret    string
	scope     string
	timeout   time.Duration
	http      *http.Client
	userAgent string
	now       func() time.Time
	observe   func(op string, err error)

	fetchMu sync.Mutex // serialises token fetches
	tokens  tokenCache
}

// NewClient checks cfg and returns a Client. No request is made.
func NewClient(cfg Config) (*Client, error) {
	base := strings.TrimRight(strings.TrimSpace(cfg.BaseURL), "/")
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("treezor client: %w: base URL must be an absolute http(s) URL", ErrInvalidArgument)
	}
	if strings.TrimSpace(cfg.ClientID) == "" {
		return nil, fmt.Errorf("treezor client: %w: client id is empty", ErrInvalidArgument)
	}
	if cfg.ClientSecret == "" {
		return nil, fmt.Errorf("treezor client: %w: client secret is empty", ErrInvalidArgument)
	}
	if cfg.Timeout < 0 {
		return nil, fmt.Errorf("treezor client: %w: timeout %s is negative", ErrInvalidArgument, cfg.Timeout)
	}
	if cfg.Scopes == nil {
		cfg.Scopes = DefaultScopes
	}
	c := &Client{
		baseURL:   base,
		clientID:  strings.TrimSpace(cfg.ClientID),
		secret:    cfg.ClientSecret,
		scope:     strings.Join(cfg.Scopes, " "),
		timeout:   cfg.Timeout,
		http:      cfg.HTTPClient,
		userAgent: cfg.UserAgent,
		now:       time.Now,
		observe:   cfg.Observe,
	}
	if c.timeout == 0 {
		c.timeout = DefaultTimeout
	}
	if c.http == nil {
		c.http = httpclient.New(0, 0)
		if cfg.ClientCert != nil {
			rt := newReloadingTransport(cfg.ClientCert)
			cfg.ClientCert.setOnReload(rt.reload)
			c.http.Transport = rt
		}
	}
	if c.userAgent == "" {
		c.userAgent = "qesflow/" + buildVersion()
	}
	return c, nil
}

// buildVersion is the main module's version, or "dev".
func buildVersion() string {
	if info, ok := debug.ReadBuildInfo(); ok && info.Main.Version != "" && info.Main.Version != "(devel)" {
		return info.Main.Version
	}
	return "dev"
}

// Identification is Treezor's answer to a QES initiation. IdentificationURL is PII-grade:
// hand it to the user, never log it.
type Identification struct {
	IdentificationID, IdentificationURL string
}

// qesResponse accepts the seed's nested shape and the flat shape of Treezor's OpenAPI.
type qesResponse struct {
	Identification *struct {
		IdentificationID  flexString `json:"identificationId"`
		IdentificationURL flexString `json:"identificationURL"`
	} `json:"identification"`
	IdentificationID  flexString `json:"identificationId"`
	IdentificationURL flexString `json:"identificationURL"`
}

// InitiateQES starts a QES identification for the user (POST /v1/users/{userId}/qes).
// redirectURL is optional. accessTag makes the call idempotent at Treezor (send one per
// attempt). A 428 answer is an *APIError with UserDataIncomplete() and MissingFields.
func (c *Client) InitiateQES(ctx context.Context, userID, redirectURL, accessTag string) (Identification, error) {
	const op = "initiate QES"
	if err := requireID("user id", userID); err != nil {
		return Identification{}, fmt.Errorf("%s: %w", op, err)
	}
	body := map[string]string{}
	if redirectURL != "" {
		body["redirectUrl"] = redirectURL
	}
	if accessTag != "" {
		body["accessTag"] = accessTag
	}
	var out qesResponse
	path := "/v1/users/" + url.PathEscape(userID) + "/qes"
	if err := c.call(ctx, op, http.MethodPost, path, body, &out); err != nil {
		return Identification{}, fmt.Errorf("%s for user %s: %w", op, userID, err)
	}
	id := Identification{IdentificationID: string(out.IdentificationID), IdentificationURL: string(out.IdentificationURL)}
	if n := out.Identification; n != nil && n.IdentificationID != "" {
		id = Identification{IdentificationID: string(n.IdentificationID), IdentificationURL: string(n.IdentificationURL)}
	}
	if id.IdentificationID == "" || id.IdentificationURL == "" {
		return Identification{}, fmt.Errorf("%s for user %s: %w: answer lacks identificationId or identificationURL", op, userID, ErrMalformed)
	}
	return id, nil
}

// KYCReviewResult is the user's review state after a KYC review request.
type KYCReviewResult struct {
	UserID    string
	KYCReview KYCReview
	KYCLevel  int
}

// RequestKYCReview asks Treezor to review the user's KYC (PUT /v1/users/{userId}/Kycreview).
func (c *Client) RequestKYCReview(ctx context.Context, userID, accessTag string) (KYCReviewResult, error) {
	const op = "request KYC review"
	if err := requireID("user id", userID); err != nil {
		return KYCReviewResult{}, fmt.Errorf("%s: %w", op, err)
	}
	body := map[string]string{}
	if accessTag != "" {
		body["accessTag"] = accessTag
	}
	var out struct {
		Users []userItem `json:"users"`
	}
	path := "/v1/users/" + url.PathEscape(userID) + "/Kycreview"
	if err := c.call(ctx, op, http.MethodPut, path, body, &out); err != nil {
		return KYCReviewResult{}, fmt.Errorf("%s for user %s: %w", op, userID, err)
	}
	if len(out.Users) == 0 {
		return KYCReviewResult{}, fmt.Errorf("%s for user %s: %w: answer lists no user", op, userID, ErrMalformed)
	}
	u := out.Users[0]
	return KYCReviewResult{
		UserID:    firstNonEmpty(string(u.UserID), userID),
		KYCReview: u.KYCReview,
		KYCLevel:  int(u.KYCLevel),
	}, nil
}

// DocumentDownloadURL returns the presigned URL of a document (GET
// /v1/documents/{documentId}/download). The URL is valid for 30 s; never log it.
func (c *Client) DocumentDownloadURL(ctx context.Context, documentID string) (string, error) {
	const op = "document download URL"
	if err := requireID("document id", documentID); err != nil {
		return "", fmt.Errorf("%s: %w", op, err)
	}
	var out struct {
		URL flexString `json:"url"`
	}
	path := "/v1/documents/" + url.PathEscape(documentID) + "/download"
	if err := c.call(ctx, op, http.MethodGet, path, nil, &out); err != nil {
		return "", fmt.Errorf("%s for document %s: %w", op, documentID, err)
	}
	if out.URL == "" {
		return "", fmt.Errorf("%s for document %s: %w: answer has no url", op, documentID, ErrMalformed)
	}
	return string(out.URL), nil
}

// DownloadDocument streams the document at a presigned URL (from DocumentDownloadURL),
// without the bearer token. The caller closes the body. The presigned URL's short life
// limits when the download starts, not how long the body takes: Config.Timeout bounds the
// wait for the answer's headers and then each wait for more of the body (a stalled
// transfer fails), while the whole transfer is bounded only by ctx.
func (c *Client) DownloadDocument(ctx context.Context, rawURL string) (io.ReadCloser, error) {
	const op = downloadOp
	u, err := url.Parse(strings.TrimSpace(rawURL))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%s: %w: not an absolute http(s) URL", op, ErrInvalidArgument)
	}
	ctx, cancel := context.WithCancel(ctx)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("%s: %w: cannot build request", op, ErrInvalidArgument)
	}
	req.Header.Set("User-Agent", c.userAgent)
	stall := &stallTimer{timeout: c.timeout}
	stall.start(cancel)
	resp, err := c.http.Do(req)
	if err != nil {
		cancel()
		if stall.fired() {
			err = fmt.Errorf("no answer within %s: %w", c.timeout, context.DeadlineExceeded)
		}
		err = c.networkError(op, err)
		c.observed(op, err)
		return nil, err
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		defer cancel()
		defer resp.Body.Close()
		stall.stop()
		// A storage service's error body is not Treezor's; keep only the status.
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxErrorBody))
		err := &APIError{StatusCode: resp.StatusCode, Op: op}
		c.observed(op, err)
		return nil, err
	}
	c.observed(op, nil)
	stall.reset()
	return &streamBody{body: resp.Body, cancel: cancel, stall: stall, timeout: c.timeout}, nil
}

// downloadOp names the fetch of a presigned URL, whose error answers come from the
// storage service, not from Treezor's API.
const downloadOp = "download document"

// stallTimer cancels a download when no data arrives for timeout.
type stallTimer struct {
	timeout time.Duration
	mu      sync.Mutex
	timer   *time.Timer
	expired bool
}

func (s *stallTimer) start(cancel context.CancelFunc) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.timer = time.AfterFunc(s.timeout, func() {
		s.mu.Lock()
		s.expired = true
		s.mu.Unlock()
		cancel()
	})
}

func (s *stallTimer) reset() { s.timer.Reset(s.timeout) }
func (s *stallTimer) stop()  { s.timer.Stop() }

func (s *stallTimer) fired() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.expired
}

// streamBody is a download's body: each read that returns data restarts the stall timer;
// Close releases the request's context.
type streamBody struct {
	body    io.ReadCloser
	cancel  context.CancelFunc
	stall   *stallTimer
	timeout time.Duration
}

func (b *streamBody) Read(p []byte) (int, error) {
	n, err := b.body.Read(p)
	if n > 0 {
		b.stall.reset()
	}
	if err != nil && err != io.EOF && b.stall.fired() {
		err = &NetworkError{Op: downloadOp, Err: fmt.Errorf("transfer stalled for %s: %w", b.timeout, context.DeadlineExceeded)}
	}
	return n, err
}

func (b *streamBody) Close() error {
	b.stall.stop()
	err := b.body.Close()
	b.cancel()
	return err
}

// requireID rejects an empty or blank identifier before any request.
func requireID(what, id string) error {
	if strings.TrimSpace(id) == "" {
		return fmt.Errorf("%w: %s is empty", ErrInvalidArgument, what)
	}
	return nil
}

// call sends an authenticated JSON request and decodes a 2xx answer into out. On 401 it
// drops the token, fetches a new one and retries once. The outcome is observed.
func (c *Client) call(ctx context.Context, op, method, path string, body, out any) error {
	err := c.callOnce(ctx, op, method, path, body, out)
	c.observed(op, err)
	return err
}

// observed reports a call's outcome to Config.Observe.
func (c *Client) observed(op string, err error) {
	if c.observe != nil {
		c.observe(op, err)
	}
}

func (c *Client) callOnce(ctx context.Context, op, method, path string, body, out any) error {
	var payload []byte
	if body != nil {
		var err error
		if payload, err = json.Marshal(body); err != nil {
			return fmt.Errorf("%w: encode request: %v", ErrInvalidArgument, err)
		}
	}
	token, err := c.accessToken(ctx)
	if err != nil {
		return err
	}
	status, respBody, err := c.send(ctx, op, method, path, payload, token)
	if err == nil && status == http.StatusUnauthorized {
		c.dropToken(token)
		if token, err = c.accessToken(ctx); err != nil {
			return err
		}
		status, respBody, err = c.send(ctx, op, method, path, payload, token)
	}
	if err != nil {
		return err
	}
	if status < 200 || status > 299 {
		return c.apiError(op, status, respBody)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(respBody, out); err != nil {
		return fmt.Errorf("%w: decode answer (HTTP %d): %v", ErrMalformed, status, err)
	}
	return nil
}

// send makes one request under the per-request timeout and reads the answer.
func (c *Client) send(ctx context.Context, op, method, path string, payload []byte, token string) (int, []byte, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	var reader io.Reader
	if payload != nil {
		reader = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.baseURL+path, reader)
	if err != nil {
		return 0, nil, fmt.Errorf("%w: build request: %v", ErrInvalidArgument, err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.userAgent)
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, c.networkError(op, err)
	}
	defer resp.Body.Close()
	limit := int64(maxResponseBody)
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		limit = maxErrorBody
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, limit))
	if err != nil {
		return 0, nil, c.networkError(op, err)
	}
	return resp.StatusCode, data, nil
}

// networkError strips the request URL (url.Error) from a transport error.
func (c *Client) networkError(op string, err error) error {
	var uerr *url.Error
	if errors.As(err, &uerr) {
		err = uerr.Err
	}
	return &NetworkError{Op: op, Err: redactedError{err: err, text: c.redact(err.Error())}}
}

// redactedError keeps the error chain (for errors.Is/As) with a scrubbed message.
type redactedError struct {
	err  error
	text string
}

func (r redactedError) Error() string { return r.text }
func (r redactedError) Unwrap() error { return r.err }

// apiError builds an *APIError from an error answer, without secrets or tokens.
func (c *Client) apiError(op string, status int, body []byte) *APIError {
	e := parseErrorBody(body)
	e.StatusCode, e.Op = status, op
	e.Type, e.Code, e.Message = c.redact(e.Type), c.redact(e.Code), c.redact(e.Message)
	if e.UserDataIncomplete() {
		e.MissingFields = missingFieldsFrom(e.Message)
	}
	return e
}

// redact removes the client secret and any cached token from s.
func (c *Client) redact(s string) string {
	if s == "" {
		return s
	}
	s = strings.ReplaceAll(s, c.secret, "[redacted]")
	for _, tok := range c.tokens.recent() {
		s = strings.ReplaceAll(s, tok, "[redacted]")
	}
	return s
}
