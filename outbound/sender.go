package outbound

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// SecretPrefix starts every Standard Webhooks signing secret; the rest is base64.
const SecretPrefix = "whsec_"

// DefaultTimeout bounds one delivery request.
const DefaultTimeout = 10 * time.Second

// Secret is one signing key. Its String never shows the key.
type Secret struct{ key []byte }

func (Secret) String() string { return SecretPrefix + "…" }

// ParseSecret reads a "whsec_<base64>" secret of at least 24 bytes.
func ParseSecret(s string) (Secret, error) {
	raw, ok := strings.CutPrefix(strings.TrimSpace(s), SecretPrefix)
	if !ok {
		return Secret{}, errors.New("a signing secret starts with " + SecretPrefix)
	}
	key, err := base64.StdEncoding.DecodeString(raw)
	if err != nil {
		return Secret{}, errors.New("a signing secret is " + SecretPrefix + " and base64")
	}
	if len(key) < 24 {
		return Secret{}, fmt.Errorf("a signing secret has at least 24 bytes, this one %d", len(key))
	}
	return Secret{key: key}, nil
}

// ParseSecrets reads a comma- or space-separated list of secrets: during a rotation the
// old and the new one are both listed, and every delivery is signed with each.
func ParseSecrets(list string) ([]Secret, error) {
	var out []Secret
	for i, f := range strings.FieldsFunc(list, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' }) {
		s, err := ParseSecret(f)
		if err != nil {
			return nil, fmt.Errorf("secret %d: %w", i+1, err)
		}
		out = append(out, s)
	}
	return out, nil
}

// Endpoint is one receiver: a name (shown in logs, status and metrics) and its URL (never
// shown: it may carry a token).
type Endpoint struct {
	Name string
	URL  string
	// Secrets sign the deliveries to this endpoint (several during a rotation); empty: the
	// Config's shared Secrets.
	Secrets []Secret
	// Compliance endpoints receive the internal view (Message.Internal: the internal state,
	// reason codes, fraud); every other endpoint receives the user-safe event only.
	Compliance bool
}

// ParseEndpointSecrets reads a list of secrets separated by commas, spaces or newlines.
// An item "name=whsec_…" belongs to the endpoint name (repeat it to give one endpoint
// several); a bare "whsec_…" is shared by the endpoints that have none of their own.
func ParseEndpointSecrets(list string) (shared []Secret, own map[string][]Secret, err error) {
	own = map[string][]Secret{}
	for i, f := range strings.FieldsFunc(list, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' }) {
		name, raw := "", f
		if !strings.HasPrefix(f, SecretPrefix) {
			var ok bool
			if name, raw, ok = strings.Cut(f, "="); !ok || name == "" {
				return nil, nil, fmt.Errorf("secret %d: a signing secret starts with %s (or name=%s…)", i+1, SecretPrefix, SecretPrefix)
			}
		}
		s, err := ParseSecret(raw)
		if err != nil {
			if name != "" {
				return nil, nil, fmt.Errorf("secret %d (endpoint %s): %w", i+1, name, err)
			}
			return nil, nil, fmt.Errorf("secret %d: %w", i+1, err)
		}
		if name == "" {
			shared = append(shared, s)
		} else {
			own[name] = append(own[name], s)
		}
	}
	return shared, own, nil
}

// ParseEndpoints reads "name=https://…" items separated by commas; a bare URL is named
// "backend", the next "backend2" and so on.
func ParseEndpoints(list string) ([]Endpoint, error) {
	var out []Endpoint
	seen := map[string]bool{}
	for i, item := range strings.Split(list, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		name, raw, ok := strings.Cut(item, "=")
		if !ok || strings.Contains(name, "/") {
			name, raw = "backend", item
			if i > 0 {
				name += strconv.Itoa(i + 1)
			}
		}
		u, err := url.Parse(raw)
		if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
			return nil, fmt.Errorf("endpoint %s: want http(s)://host/path", name)
		}
		if seen[name] {
			return nil, fmt.Errorf("endpoint %s is listed twice", name)
		}
		seen[name] = true
		out = append(out, Endpoint{Name: name, URL: raw})
	}
	return out, nil
}

// Config configures a Sender.
type Config struct {
	Endpoints []Endpoint
	// Secrets sign the deliveries to the endpoints without secrets of their own (one
	// signature each).
	Secrets []Secret
	// Client sends the requests (default: one with Timeout).
	Client  *http.Client
	Timeout time.Duration
	// Observe, when set, is told the outcome of every request: "delivered", "failed" or
	// "gone", per endpoint name (the metric).
	Observe func(endpoint, outcome string)
	// Now is the clock of webhook-timestamp (default time.Now).
	Now func() time.Time
}

// Sender signs and posts events to the configured endpoints.
type Sender struct {
	cfg Config
}

// NewSender checks cfg and returns its Sender.
func NewSender(cfg Config) (*Sender, error) {
	if len(cfg.Endpoints) == 0 {
		return nil, errors.New("outbound: no endpoint")
	}
	seen := map[string]bool{}
	for _, ep := range cfg.Endpoints {
		switch {
		case seen[ep.Name]:
			return nil, fmt.Errorf("outbound: endpoint %s is listed twice", ep.Name)
		case ep.Compliance && len(ep.Secrets) == 0:
			// The internal view is signed with a key no user-safe receiver holds.
			return nil, fmt.Errorf("outbound: compliance endpoint %s needs a signing secret of its own", ep.Name)
		case len(ep.Secrets) == 0 && len(cfg.Secrets) == 0:
			return nil, fmt.Errorf("outbound: no signing secret for endpoint %s", ep.Name)
		}
		seen[ep.Name] = true
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: cfg.Timeout}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Sender{cfg: cfg}, nil
}

// Endpoints are the names of the configured endpoints, in order.
func (s *Sender) Endpoints() []string {
	names := make([]string, len(s.cfg.Endpoints))
	for i, ep := range s.cfg.Endpoints {
		names[i] = ep.Name
	}
	return names
}

// HasCompliance reports whether a compliance endpoint is configured.
func (s *Sender) HasCompliance() bool {
	for _, ep := range s.cfg.Endpoints {
		if ep.Compliance {
			return true
		}
	}
	return false
}

// ErrGone is returned (wrapped) when an endpoint answered 410 Gone: it wants no more events.
var ErrGone = errors.New("endpoint answered 410 Gone")

// Signature is the webhook-signature header value of one delivery: "v1,<base64 HMAC-SHA256
// of id.timestamp.body>" per secret, separated by spaces.
func Signature(secrets []Secret, id string, ts time.Time, body []byte) string {
	sigs := make([]string, len(secrets))
	for i, s := range secrets {
		mac := hmac.New(sha256.New, s.key)
		fmt.Fprintf(mac, "%s.%d.", id, ts.Unix())
		mac.Write(body)
		sigs[i] = "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
	}
	return strings.Join(sigs, " ")
}

// Send delivers msg to the endpoint named name: nil on a 2xx answer, an error wrapping
// ErrGone on 410, another error otherwise (to retry). Errors name the endpoint, never its
// URL.
func (s *Sender) Send(ctx context.Context, name string, msg Message) error {
	ep, ok := s.endpoint(name)
	if !ok {
		return fmt.Errorf("endpoint %s is not configured", name)
	}
	err := s.send(ctx, ep, msg)
	if s.cfg.Observe != nil {
		outcome := "delivered"
		switch {
		case errors.Is(err, ErrGone):
			outcome = "gone"
		case err != nil:
			outcome = "failed"
		}
		s.cfg.Observe(name, outcome)
	}
	return err
}

func (s *Sender) endpoint(name string) (Endpoint, bool) {
	for _, ep := range s.cfg.Endpoints {
		if ep.Name == name {
			return ep, true
		}
	}
	return Endpoint{}, false
}

// secrets are the keys that sign deliveries to ep.
func (s *Sender) secrets(ep Endpoint) []Secret {
	if len(ep.Secrets) > 0 {
		return ep.Secrets
	}
	return s.cfg.Secrets
}

// Wants reports whether the endpoint named name receives msg: a compliance-only message
// goes to compliance endpoints only.
func (s *Sender) Wants(name string, msg Message) bool {
	ep, ok := s.endpoint(name)
	return ok && (!msg.ComplianceOnly || ep.Compliance)
}

// body is the JSON an endpoint receives: the user-safe event, or for a compliance endpoint
// the event whose data carries the internal view as well.
func body(ep Endpoint, msg Message) ([]byte, error) {
	if !ep.Compliance || msg.Internal == nil {
		return json.Marshal(msg.Event)
	}
	type complianceData struct {
		Data
		Internal *Internal `json:"internal"`
	}
	return json.Marshal(struct {
		Type      string         `json:"type"`
		Timestamp time.Time      `json:"timestamp"`
		Data      complianceData `json:"data"`
	}{msg.Event.Type, msg.Event.Timestamp, complianceData{msg.Event.Data, msg.Internal}})
}

func (s *Sender) send(ctx context.Context, ep Endpoint, msg Message) error {
	if msg.ComplianceOnly && !ep.Compliance {
		return fmt.Errorf("endpoint %s: a compliance-only event is not for it", ep.Name)
	}
	body, err := body(ep, msg)
	if err != nil {
		return fmt.Errorf("encode event: %w", err)
	}
	ts := s.cfg.Now()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ep.URL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("endpoint %s: build request", ep.Name)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("webhook-id", msg.ID)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(ts.Unix(), 10))
	req.Header.Set("webhook-signature", Signature(s.secrets(ep), msg.ID, ts, body))
	resp, err := s.cfg.Client.Do(req)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err // the URL stays out of the error
		}
		return fmt.Errorf("endpoint %s: %w", ep.Name, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return nil
	case resp.StatusCode == http.StatusGone:
		return fmt.Errorf("endpoint %s: %w", ep.Name, ErrGone)
	default:
		return fmt.Errorf("endpoint %s answered %d", ep.Name, resp.StatusCode)
	}
}
