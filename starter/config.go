package starter

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/qesflow/qesflow/internal/httpserver"

	"github.com/qesflow/qesflow/workflows"
)

// MaxBodyBytes bounds every request body; larger bodies get 413.
const MaxBodyBytes = 64 << 10

// Config configures the Service (NewService) and the HTTP API (New).
type Config struct {
	// Temporal is the client (bound to Namespace) the API starts, queries and signals with.
	Temporal  TemporalClient
	Namespace string // for logs; the client already targets it
	TaskQueue string // default workflows.TaskQueue

	// Keys maps each API key to its scopes; New requires at least one. Only SHA-256 hashes of
	// the keys are kept.
	Keys map[string]Scope
	// ProductionMode requires https redirect URLs.
	ProductionMode bool
	// Policy is the policy every new onboarding starts with (workflows.Input.Policy); nil keeps
	// the workflow's defaults. A running onboarding keeps the policy it started with.
	Policy *workflows.PolicyOverride

	// AuthLimiter limits failed authentications per client (429 with Retry-After once a
	// client has used its failures); nil: httpserver.NewAuthLimiter().
	AuthLimiter *httpserver.AuthLimiter

	// Treezor, when set, is asked for the user's kycReview before an onboarding starts for a
	// user with no visible run (see Service.Start), so that the already-validated rule holds
	// after retention deleted the run. Nil: no such check.
	Treezor TreezorUsers

	Logger   *zap.Logger           // nil: no logs
	Registry prometheus.Registerer // API metrics are registered here; nil: not exported

	UpdateTimeout time.Duration // how long POST /v1/onboardings waits for the URL; default 30s
	CallTimeout   time.Duration // describe, query and signal calls; default 10s
}

func (c Config) withDefaults() Config {
	if c.TaskQueue == "" {
		c.TaskQueue = workflows.TaskQueue
	}
	if c.Logger == nil {
		c.Logger = zap.NewNop()
	}
	if c.UpdateTimeout <= 0 {
		c.UpdateTimeout = DefaultUpdateTimeout
	}
	if c.CallTimeout <= 0 {
		c.CallTimeout = DefaultCallTimeout
	}
	return c
}
