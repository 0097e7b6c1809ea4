// Package console is the compliance team's web console (/console): operators sign in with
// their named compliance key, work the queue of cases under compliance review, read a case
// and decide it through the workflow's compliance-decision update, and read an overview of
// the onboardings. Pages are server-rendered (html/template) and work without JavaScript.
package console

import (
	"context"
	"errors"
	"net/http"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.uber.org/zap"

	"github.com/qesflow/qesflow/internal/httpserver"
	"github.com/qesflow/qesflow/starter"
)

// PathPrefix is where the console is mounted on the API's listener.
const PathPrefix = "/console/"

// Defaults of Config.
const (
	DefaultSessionTTL  = 8 * time.Hour
	DefaultIdleTimeout = 30 * time.Minute
	DefaultDataWait    = 48 * time.Hour
	// failedSignInDelay slows every wrong credential down, on top of the per-address limiter.
	failedSignInDelay = time.Second
)

// Temporal is the part of client.Client the console uses: the starter's calls plus
// visibility listing and counting.
type Temporal interface {
	starter.TemporalClient
	ListWorkflow(ctx context.Context, request *workflowservice.ListWorkflowExecutionsRequest) (*workflowservice.ListWorkflowExecutionsResponse, error)
	CountWorkflow(ctx context.Context, request *workflowservice.CountWorkflowExecutionsRequest) (*workflowservice.CountWorkflowExecutionsResponse, error)
}

// Config configures the console.
type Config struct {
	Temporal  Temporal
	Namespace string
	TaskQueue string
	// Keys are the API keys; the named ones with the compliance scope can sign in, under
	// their name. Only SHA-256 hashes are kept.
	Keys []starter.APIKey

	// SessionKeys seal the session cookies. Every API replica behind one address needs the
	// same keys (QESFLOW_CONSOLE_SESSION_KEYS); nil: a random key of this process, whose
	// sessions end when it restarts and are refused by other replicas.
	SessionKeys *SessionKeys
	SessionTTL  time.Duration // a session ends this long after sign-in; default 8 h
	IdleTimeout time.Duration // and after this long without a request; default 30 min
	// DataWait is how long an onboarding waits for corrected user data before the queue
	// lists it as needing a person; default 48 h.
	DataWait time.Duration

	// AuthLimiter limits failed sign-ins per address; nil: httpserver.NewAuthLimiter().
	AuthLimiter *httpserver.AuthLimiter
	Logger      *zap.Logger
	Now         func() time.Time // nil: time.Now
	// SignInDelay is the pause before a wrong credential is answered; 0: one second.
	SignInDelay time.Duration
}

// Console is the console's HTTP handler.
type Console struct {
	cfg      Config
	svc      *starter.Service
	log      *zap.Logger
	ops      *operators
	sessions *Sessions
	limiter  *httpserver.AuthLimiter
	mux      *http.ServeMux
}

// New returns the console. It fails without a Temporal client or without any named key with
// the compliance scope (nobody could sign in).
func New(cfg Config) (*Console, error) {
	if cfg.Temporal == nil {
		return nil, errors.New("console: a Temporal client is required")
	}
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = DefaultSessionTTL
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
	}
	if cfg.DataWait <= 0 {
		cfg.DataWait = DefaultDataWait
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.SignInDelay <= 0 {
		cfg.SignInDelay = failedSignInDelay
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	ops, err := newOperators(cfg.Keys)
	if err != nil {
		return nil, err
	}
	svc, err := starter.NewService(starter.Config{Temporal: cfg.Temporal, Namespace: cfg.Namespace, TaskQueue: cfg.TaskQueue, Logger: cfg.Logger})
	if err != nil {
		return nil, err
	}
	c := &Console{
		cfg: cfg, svc: svc, log: cfg.Logger, ops: ops,
		sessions: NewSessions(SessionsConfig{Keys: cfg.SessionKeys, TTL: cfg.SessionTTL, IdleTimeout: cfg.IdleTimeout, Now: cfg.Now}),
		limiter:  cfg.AuthLimiter,
		mux:      http.NewServeMux(),
	}
	if c.limiter == nil {
		c.limiter = httpserver.NewAuthLimiter()
	}
	c.routes()
	return c, nil
}

// Sessions is the console's session checker: the codec endpoint of the same process accepts
// its codec cookie (codec.HandlerConfig.Sessions) and shares its sign-out revocations.
func (c *Console) Sessions() *Sessions { return c.sessions }

func (c *Console) routes() {
	c.mux.HandleFunc("GET /console/{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/console/queue", http.StatusSeeOther)
	})
	c.mux.HandleFunc("GET /console/signin", c.signInPage)
	c.mux.HandleFunc("POST /console/signin", c.signIn)
	c.mux.HandleFunc("POST /console/signout", c.signedIn(c.signOut))
	c.mux.HandleFunc("GET /console/queue", c.signedIn(c.queuePage))
	c.mux.HandleFunc("GET /console/cases/{userId}", c.signedIn(c.casePage))
	c.mux.HandleFunc("POST /console/cases/{userId}/decision", c.signedIn(c.decide))
	c.mux.HandleFunc("GET /console/overview", c.signedIn(c.overviewPage))
	c.mux.HandleFunc("/console/", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "Not found", http.StatusNotFound)
	})
}

// ServeHTTP serves the console's pages with headers that keep them out of frames and caches.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")
	c.mux.ServeHTTP(w, r)
}

// Mount returns a handler that serves the console under PathPrefix and next elsewhere.
func Mount(c *Console, next http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle(PathPrefix, c)
	mux.Handle("/", next)
	return mux
}
