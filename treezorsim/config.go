package treezorsim

import (
	"errors"
	"fmt"
	"net/url"
	"time"
)

// Development-only credentials, used when a Config leaves them empty. Never use them
// against anything but the simulator.
const (
	DevClientID      = "qesflow-dev"
	DevClientSecret  = "dev-secret"
	DevWebhookSecret = "dev-webhook-secret"
)

// Defaults of Config.
const (
	DefaultTokenTTL             = time.Hour
	DefaultAccessTagTTL         = 24 * time.Hour
	DefaultDocumentURLTTL       = 30 * time.Second
	DefaultWebhookRetryInterval = time.Second
	DefaultWebhookMaxAttempts   = 30
	DefaultWebhookTimeout       = 10 * time.Second
	DefaultAPIFaultTimeout      = 20 * time.Second
	DefaultDocumentsPerSuccess  = 2
)

// Config configures a Simulator. The zero value works: empty fields get the defaults above.
type Config struct {
	// ClientID and ClientSecret are the OAuth client credentials the simulator accepts
	// (default DevClientID / DevClientSecret).
	ClientID, ClientSecret string
	// WebhookSecret signs object_payload of every webhook (default DevWebhookSecret).
	WebhookSecret string
	// WebhookURL receives the webhooks: one URL, or several separated by commas, which take
	// turns (round robin over webhooks, and each retry goes to the next URL), as several
	// bridges without a load balancer in front. It may be empty and set later with
	// SetWebhookURL; until then deliveries fail and are retried.
	WebhookURL string
	// PublicURL is the base of identification and presigned document URLs
	// (e.g. http://localhost:8090). Empty: derived from each request's Host.
	PublicURL string
	// StateFile keeps the simulator's state across restarts (see the package doc): Open
	// loads it and a background saver rewrites it after every change. Empty: in memory.
	// One simulator per file. The file holds user data: it is written with mode 0600.
	StateFile string

	// Now is the clock of tokens, accessTags, presigned URLs and webhook timestamps
	// (default time.Now). Tests inject one to expire things without sleeping.
	Now func() time.Time
	// Seed seeds the random source of ids and chaos; 0 picks a random seed.
	Seed int64

	// TokenTTL is the lifetime of access tokens (default 1h, answered as expires_in).
	TokenTTL time.Duration
	// AccessTagTTL is how long an accessTag's first answer is replayed (default 24h).
	AccessTagTTL time.Duration
	// DocumentURLTTL is the validity of presigned document URLs (default 30s).
	DocumentURLTTL time.Duration
	// QESResponseFlat answers POST /qes with identificationId and identificationURL at the
	// top level (Treezor OpenAPI 25.04) instead of the nested {"identification":{…}} form.
	QESResponseFlat bool
	// DocumentsPerSuccess is how many documents a successful identification creates
	// (1 or 2, default 2).
	DocumentsPerSuccess int
	// DownloadsEnabled enables document downloads for the client. As at Treezor, where
	// "download is not enabled by default" and is enabled on request (seed: QES guide),
	// GET /v1/documents/{documentId}/download answers 403 while it is off.
	DownloadsEnabled bool
	// DocumentSize pads every served document to at least this many bytes (0: a small
	// PDF), to try large downloads.
	DocumentSize int
	// FileBytesPerSecond throttles the presigned file endpoint (0: as fast as possible), to
	// try a slow link.
	FileBytesPerSecond int

	// TLSCertFile and TLSKeyFile make Serve answer over TLS with this certificate.
	TLSCertFile, TLSKeyFile string
	// ClientCAFile, with TLS, requires every client to present a certificate signed by a
	// CA of this PEM bundle, as Treezor's mutual TLS does
	// (docs.treezor.com/guide/api-basics/mutual-tls.html): a client without one fails the
	// TLS handshake. It applies to the whole listener, the pages included.
	ClientCAFile string

	// WebhookRetryInterval is the wait between delivery attempts (default 1s; Treezor: 1 min).
	WebhookRetryInterval time.Duration
	// WebhookMaxAttempts is the number of delivery attempts per webhook (default 30).
	WebhookMaxAttempts int
	// WebhookTimeout bounds one delivery attempt (default 10s).
	WebhookTimeout time.Duration

	// SkipKYCPendingWebhook turns off the intermediate user.kycreview (kycReview 1, PENDING)
	// sent right after PUT /Kycreview.
	SkipKYCPendingWebhook bool
	// AutoKYCDecision decides every KYC review automatically after AutoKYCDelay:
	// "validate", "refuse", or "" (decided on the KYC desk or through DecideKYC).
	AutoKYCDecision KYCDecision
	// AutoKYCDelay is the delay of the automatic decision.
	AutoKYCDelay time.Duration

	// DuplicateRate is the probability that a webhook is delivered 1–2 more times.
	DuplicateRate float64
	// ReorderRate is the probability that the webhooks one action emits for a user are
	// delivered in a shuffled order (never the original one).
	ReorderRate float64
	// MaxDelay adds a random delay in [0, MaxDelay) before each delivery.
	MaxDelay time.Duration
	// APIFaultRate is the fraction of /v1 API calls that fault.
	APIFaultRate float64
	// APIFaultHangShare is the fraction of faulted calls that are processed and then hang
	// for APIFaultTimeout (the client times out, the effect is real); the others answer
	// 500/502/503 before any processing.
	APIFaultHangShare float64
	// APIFaultTimeout is how long a hanging call hangs (default 20s, past the client's 15s).
	APIFaultTimeout time.Duration

	// Webhooks switches on the documented delivery variants (see WebhookVariants).
	Webhooks WebhookVariants
}

// Chaos is the part of the configuration that can change at run time (SetChaos).
type Chaos struct {
	DuplicateRate     float64
	ReorderRate       float64
	MaxDelay          time.Duration
	APIFaultRate      float64
	APIFaultHangShare float64
	APIFaultTimeout   time.Duration
}

// Chaos returns the chaos settings of the configuration.
func (c Config) Chaos() Chaos {
	return Chaos{
		DuplicateRate:     c.DuplicateRate,
		ReorderRate:       c.ReorderRate,
		MaxDelay:          c.MaxDelay,
		APIFaultRate:      c.APIFaultRate,
		APIFaultHangShare: c.APIFaultHangShare,
		APIFaultTimeout:   c.APIFaultTimeout,
	}
}

// Validate reports every invalid setting. New does not fail: it clamps and defaults
// instead, so callers that take settings from users should call Validate first.
func (c Config) Validate() error {
	var errs []error
	webhookURLs := parseReceivers(c.WebhookURL).urls
	if c.WebhookURL != "" && len(webhookURLs) == 0 {
		errs = append(errs, errors.New("webhook URL lists no URL"))
	}
	for i, u := range webhookURLs {
		if !absoluteHTTPURL(u) {
			name := "webhook URL"
			if len(webhookURLs) > 1 {
				name = fmt.Sprintf("webhook URL %d of %d", i+1, len(webhookURLs))
			}
			errs = append(errs, fmt.Errorf("%s must be an absolute http(s) URL", name))
		}
	}
	if c.PublicURL != "" && !absoluteHTTPURL(c.PublicURL) {
		errs = append(errs, errors.New("public URL must be an absolute http(s) URL"))
	}
	if err := c.Chaos().validate(); err != nil {
		errs = append(errs, err)
	}
	switch c.AutoKYCDecision {
	case "", KYCValidate, KYCRefuse:
	default:
		errs = append(errs, fmt.Errorf("auto KYC decision %q: want validate, refuse or empty", c.AutoKYCDecision))
	}
	if (c.TLSCertFile == "") != (c.TLSKeyFile == "") {
		errs = append(errs, errors.New("TLS needs both a certificate and a key file"))
	}
	if c.ClientCAFile != "" && c.TLSCertFile == "" {
		errs = append(errs, errors.New("a client CA file needs TLS (a certificate and a key file)"))
	}
	if c.DocumentSize < 0 || c.FileBytesPerSecond < 0 {
		errs = append(errs, errors.New("document size and file bytes per second must not be negative"))
	}
	if c.DocumentsPerSuccess < 0 || c.DocumentsPerSuccess > 2 {
		errs = append(errs, fmt.Errorf("documents per success %d: want 1 or 2", c.DocumentsPerSuccess))
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"token TTL", c.TokenTTL}, {"accessTag TTL", c.AccessTagTTL}, {"document URL TTL", c.DocumentURLTTL},
		{"webhook retry interval", c.WebhookRetryInterval}, {"webhook timeout", c.WebhookTimeout},
		{"auto KYC delay", c.AutoKYCDelay},
	} {
		if d.v < 0 {
			errs = append(errs, fmt.Errorf("%s %s must not be negative", d.name, d.v))
		}
	}
	if c.WebhookMaxAttempts < 0 {
		errs = append(errs, fmt.Errorf("webhook max attempts %d must not be negative", c.WebhookMaxAttempts))
	}
	return errors.Join(errs...)
}

func absoluteHTTPURL(s string) bool {
	p, err := url.Parse(s)
	return err == nil && (p.Scheme == "http" || p.Scheme == "https") && p.Host != ""
}

func (c Chaos) validate() error {
	var errs []error
	for _, r := range []struct {
		name string
		v    float64
	}{
		{"duplicate rate", c.DuplicateRate}, {"reorder rate", c.ReorderRate},
		{"API fault rate", c.APIFaultRate}, {"API fault hang share", c.APIFaultHangShare},
	} {
		if r.v < 0 || r.v > 1 {
			errs = append(errs, fmt.Errorf("%s %v: want a fraction in [0, 1]", r.name, r.v))
		}
	}
	if c.MaxDelay < 0 || c.APIFaultTimeout < 0 {
		errs = append(errs, errors.New("chaos delays must not be negative"))
	}
	return errors.Join(errs...)
}

// normalized clamps rates into [0, 1] and defaults the fault timeout.
func (c Chaos) normalized() Chaos {
	c.DuplicateRate = clamp01(c.DuplicateRate)
	c.ReorderRate = clamp01(c.ReorderRate)
	c.APIFaultRate = clamp01(c.APIFaultRate)
	c.APIFaultHangShare = clamp01(c.APIFaultHangShare)
	c.MaxDelay = max(c.MaxDelay, 0)
	if c.APIFaultTimeout <= 0 {
		c.APIFaultTimeout = DefaultAPIFaultTimeout
	}
	return c
}

// withDefaults fills the empty fields of c.
func (c Config) withDefaults() Config {
	c.ClientID = orDefault(c.ClientID, DevClientID)
	c.ClientSecret = orDefault(c.ClientSecret, DevClientSecret)
	c.WebhookSecret = orDefault(c.WebhookSecret, DevWebhookSecret)
	if c.Now == nil {
		c.Now = time.Now
	}
	c.TokenTTL = durationOr(c.TokenTTL, DefaultTokenTTL)
	c.AccessTagTTL = durationOr(c.AccessTagTTL, DefaultAccessTagTTL)
	c.DocumentURLTTL = durationOr(c.DocumentURLTTL, DefaultDocumentURLTTL)
	c.WebhookRetryInterval = durationOr(c.WebhookRetryInterval, DefaultWebhookRetryInterval)
	c.WebhookTimeout = durationOr(c.WebhookTimeout, DefaultWebhookTimeout)
	if c.WebhookMaxAttempts <= 0 {
		c.WebhookMaxAttempts = DefaultWebhookMaxAttempts
	}
	if c.DocumentsPerSuccess <= 0 || c.DocumentsPerSuccess > 2 {
		c.DocumentsPerSuccess = DefaultDocumentsPerSuccess
	}
	c.AutoKYCDelay = max(c.AutoKYCDelay, 0)
	return c
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

func durationOr(v, def time.Duration) time.Duration {
	if v <= 0 {
		return def
	}
	return v
}

func clamp01(v float64) float64 { return min(max(v, 0), 1) }
