// Package assembly wires the product's parts the one way every entry point uses: the qesflow
// subcommands, qesflow dev (devstack), the benchmark and the tests built on them. A new part,
// or a new setting every part needs, is wired here once.
package assembly

import (
	"context"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"
	"go.uber.org/zap"

	"github.com/qesflow/qesflow/internal/clustersetup"
	"github.com/qesflow/qesflow/internal/httpserver"
	"github.com/qesflow/qesflow/internal/temporalclient"
	"github.com/qesflow/qesflow/starter"
	"github.com/qesflow/qesflow/webhookbridge"
	"github.com/qesflow/qesflow/worker"
	"github.com/qesflow/qesflow/workflows"
)

// Config is what a process needs before any part: its logger, its metrics and how it reaches
// Temporal.
type Config struct {
	// Temporal is the connection; a nil Logger becomes Logger.Named("temporal"), and the SDK
	// metrics go to Registry when one is set.
	Temporal temporalclient.Options
	Logger   *zap.Logger          // nil: no logs
	Registry *prometheus.Registry // nil: no metrics exported
	// Lazy connects without waiting for the server, so that a process can start (and answer
	// 503, not ready) while Temporal is still unreachable.
	Lazy bool
}

// Parts is one process's connection to Temporal and what every part built on it shares.
type Parts struct {
	Client    client.Client
	Address   string
	Namespace string
	Logger    *zap.Logger
	Registry  *prometheus.Registry // nil when the process exports no metrics
}

// Connect dials Temporal as cfg says and returns the shared parts; Close releases them.
func Connect(ctx context.Context, cfg Config) (*Parts, error) {
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	opts := cfg.Temporal
	if opts.Logger == nil {
		opts.Logger = cfg.Logger.Named("temporal")
	}
	if cfg.Registry != nil && opts.MetricsHandler == nil {
		opts.MetricsHandler = temporalclient.NewPrometheusMetricsHandler(cfg.Registry)
	}
	var tc client.Client
	var err error
	if cfg.Lazy {
		tc, err = temporalclient.DialLazy(opts)
	} else {
		tc, err = temporalclient.Dial(ctx, opts)
	}
	if err != nil {
		return nil, err
	}
	return &Parts{Client: tc, Address: opts.Address, Namespace: opts.Namespace, Logger: cfg.Logger, Registry: cfg.Registry}, nil
}

// Close closes the client and flushes the logger.
func (p *Parts) Close() {
	p.Client.Close()
	_ = p.Logger.Sync()
}

// registry is where a part registers its metrics: the process's registry, or a private one.
func (p *Parts) registry() *prometheus.Registry {
	if p.Registry != nil {
		return p.Registry
	}
	return prometheus.NewRegistry()
}

// Worker builds the onboarding worker on the shared client (not started).
func (p *Parts) Worker(o worker.Options) (sdkworker.Worker, error) {
	if o.Logger == nil {
		o.Logger = p.Logger.Named("worker")
	}
	return worker.New(p.Client, o)
}

// Bridge builds the webhook bridge handler on the shared client.
func (p *Parts) Bridge(cfg webhookbridge.Config) (http.Handler, error) {
	cfg.Temporal, cfg.Namespace, cfg.Registry = p.Client, p.Namespace, p.registry()
	if cfg.Logger == nil {
		cfg.Logger = p.Logger.Named("bridge")
	}
	return webhookbridge.New(cfg)
}

// API builds the onboarding API handler on the shared client.
func (p *Parts) API(cfg starter.Config) (http.Handler, error) {
	cfg.Temporal, cfg.Namespace, cfg.Registry = p.Client, p.Namespace, p.registry()
	if cfg.Logger == nil {
		cfg.Logger = p.Logger.Named("api")
	}
	return starter.New(cfg)
}

// HTTPServer is a part's HTTP server: the shared logger and metrics, and, unless o says
// otherwise, ready when the namespace is (NamespaceReady).
func (p *Parts) HTTPServer(o httpserver.Options) *httpserver.Server {
	if o.Logger == nil {
		o.Logger = p.Logger
	}
	if o.Registry == nil {
		o.Registry = p.registry()
	}
	if o.Ready == nil {
		o.Ready = p.NamespaceReady()
	}
	return httpserver.New(o)
}

// Serve listens, logs msg with the address, Temporal and fields, and serves until ctx is done.
func (p *Parts) Serve(ctx context.Context, srv *httpserver.Server, msg string, fields ...zap.Field) error {
	if err := srv.Listen(); err != nil {
		return err
	}
	p.Logger.Info(msg, append([]zap.Field{zap.String("addr", srv.Addr()),
		zap.String("temporal", p.Address), zap.String("namespace", p.Namespace)}, fields...)...)
	return srv.Serve(ctx)
}

// NamespaceReady is the readiness check of the processes that need the namespace prepared
// (worker, API, bridge): Temporal reachable, the namespace present and every search attribute
// usable. Without them every onboarding start would fail.
func (p *Parts) NamespaceReady() func(context.Context) error {
	health := temporalclient.CheckHealth(p.Client)
	want := workflows.SearchAttributeTypes()
	return func(ctx context.Context) error {
		if err := health(ctx); err != nil {
			return err
		}
		return clustersetup.Check(ctx, p.Client, p.Namespace, want)
	}
}

// AllReady is ready when every check is.
func AllReady(checks ...func(context.Context) error) func(context.Context) error {
	return func(ctx context.Context) error {
		for _, check := range checks {
			if err := check(ctx); err != nil {
				return err
			}
		}
		return nil
	}
}
