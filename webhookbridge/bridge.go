// Package webhookbridge receives Treezor webhooks over HTTP and signals them to the user's
// onboarding workflow. It verifies the signature first (a mismatch answers 500, as Treezor's
// integrity-checks guide asks, so that Treezor redelivers), decodes the event from the signed
// payload only, answers 2xx only once Temporal accepted the signal (5xx otherwise, so that
// Treezor redelivers), and holds no state: run as many replicas as needed. Duplicate
// deliveries are deduplicated by the workflow (on the hash of the signed payload), not here.
package webhookbridge

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.temporal.io/api/workflowservice/v1"
	"go.uber.org/zap"
)

// Path is the route Treezor posts webhooks to.
const Path = "/webhooks/treezor"

// Defaults of Config.
const (
	DefaultMaxBody       = 1 << 20 // 1 MiB
	DefaultSignalTimeout = 5 * time.Second
	// DefaultIdentificationGrace is the default of Config.IdentificationGrace.
	DefaultIdentificationGrace = 10 * time.Minute
	// DefaultPayinGrace is the default of Config.PayinGrace: it covers the visibility lag
	// behind a workflow publishing its wallets and the first delivery's delay, and no more, as
	// a transfer that comes long before its onboarding reaches the SEPA step is read from the
	// wallet then, and a sender that delivers a user's webhooks in order holds the rest
	// behind a 503.
	DefaultPayinGrace = time.Minute
	// RetryAfterSeconds is sent with 503 answers: Treezor retries the delivery later anyway.
	RetryAfterSeconds = "5"
)

// Temporal is what the bridge needs of a Temporal client (client.Client has it).
type Temporal interface {
	SignalWorkflow(ctx context.Context, workflowID, runID, signalName string, arg any) error
	ListWorkflow(ctx context.Context, req *workflowservice.ListWorkflowExecutionsRequest) (*workflowservice.ListWorkflowExecutionsResponse, error)
}

// Config configures the bridge.
type Config struct {
	// Secrets are the webhook signing secrets; a signature made with any of them is accepted
	// (rotation). At least one must be non-empty.
	Secrets   []string
	Temporal  Temporal
	Namespace string // for visibility queries; "" uses the client's namespace
	Logger    *zap.Logger
	// Registry receives the bridge metrics; nil: metrics are kept but not exported.
	Registry prometheus.Registerer
	// MaxBody bounds a webhook body; default 1 MiB.
	MaxBody int64
	// SignalTimeout bounds the Temporal calls of one webhook; default 5 s.
	SignalTimeout time.Duration
	// LookupAttempts and LookupInterval: how often a QES webhook without user id looks its
	// workflow up by identification id, and a payin that neither its wallet nor its userId
	// routes looks it up by wallet, before answering "no-onboarding" (visibility lags
	// behind the workflow by a moment). Defaults 3 and 500 ms.
	LookupAttempts int
	LookupInterval time.Duration
	// IdentificationGrace bounds how long a QES event whose identification id visibility
	// does not show is answered 503 (Treezor redelivers) rather than "no-onboarding", counted
	// from the event's webhook_created_at. Default DefaultIdentificationGrace.
	IdentificationGrace time.Duration
	// PayinGrace bounds how long a validated SEPA credit transfer (the payin a SEPA step
	// waits for) whose wallet no onboarding shows in visibility is answered 503 (Treezor
	// redelivers) rather than "no-onboarding", counted from the event's webhook_created_at:
	// the onboarding may be publishing that wallet right now. Default DefaultPayinGrace.
	PayinGrace time.Duration
	// Now is the bridge's clock (default time.Now); tests set it.
	Now func() time.Time
}

// Errors New reports for a configuration that cannot work.
var (
	ErrNoSecret   = errors.New("webhook bridge: no webhook secret configured (set TREEZOR_WEBHOOK_SECRET or --webhook-secret-file)")
	ErrNoTemporal = errors.New("webhook bridge: no Temporal client")
)

// New returns the bridge's HTTP handler, serving POST /webhooks/treezor.
func New(cfg Config) (http.Handler, error) {
	if !hasSecret(cfg.Secrets) {
		return nil, ErrNoSecret
	}
	if cfg.Temporal == nil {
		return nil, ErrNoTemporal
	}
	cfg = withDefaults(cfg)
	b := &bridge{cfg: cfg, log: cfg.Logger, metrics: newMetrics(cfg.Registry), keyHint: keyHint(cfg.Secrets)}
	b.mismatches.logging = true
	mux := http.NewServeMux()
	mux.Handle("POST "+Path, b)
	return mux, nil
}

func hasSecret(secrets []string) bool {
	for _, s := range secrets {
		if s != "" {
			return true
		}
	}
	return false
}

func withDefaults(cfg Config) Config {
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = DefaultMaxBody
	}
	if cfg.SignalTimeout <= 0 {
		cfg.SignalTimeout = DefaultSignalTimeout
	}
	if cfg.LookupAttempts <= 0 {
		cfg.LookupAttempts = 3
	}
	if cfg.LookupInterval <= 0 {
		cfg.LookupInterval = 500 * time.Millisecond
	}
	if cfg.IdentificationGrace <= 0 {
		cfg.IdentificationGrace = DefaultIdentificationGrace
	}
	if cfg.PayinGrace <= 0 {
		cfg.PayinGrace = DefaultPayinGrace
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return cfg
}
