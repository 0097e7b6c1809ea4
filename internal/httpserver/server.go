// Package httpserver is the HTTP server every qesflow service runs behind: health, readiness
// and metrics endpoints, request ids, panic recovery, access logs without secrets, and a
// graceful shutdown that lets in-flight requests finish.
package httpserver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
)

// Defaults that keep a server safe from slow clients (slow-loris) while letting ordinary
// requests through.
const (
	DefaultReadHeaderTimeout = 10 * time.Second
	DefaultReadTimeout       = 30 * time.Second
	DefaultWriteTimeout      = 30 * time.Second
	DefaultIdleTimeout       = 120 * time.Second
	DefaultShutdownTimeout   = 20 * time.Second
	// maxHeaderBytes bounds the request line and headers.
	maxHeaderBytes = 64 << 10
)

// Options configures a Server. Zero durations take the defaults above.
type Options struct {
	Name    string       // "bridge", "api": used in logs and metric labels
	Addr    string       // ":8081"; "127.0.0.1:0" picks a free port
	Handler http.Handler // the service's routes; nil serves 404 for everything but the built-ins
	Logger  *zap.Logger  // nil: no logs
	// Ready reports whether the service can do its work (e.g. Temporal reachable); nil: always ready.
	Ready func(ctx context.Context) error
	// Registry is served on /metrics, with Go and process collectors added; nil: a new registry.
	Registry *prometheus.Registry

	// AdminAddr, when set, moves /readyz and /metrics to a listener of their own (e.g.
	// "127.0.0.1:9081"), away from the service's listener that faces clients or the
	// internet; /healthz stays on both. Empty: everything on Addr.
	AdminAddr string

	ReadHeaderTimeout, ReadTimeout, WriteTimeout, IdleTimeout time.Duration
	ShutdownTimeout                                           time.Duration
}

// Server is one service's HTTP server. Create it with New.
type Server struct {
	opts   Options
	log    *zap.Logger
	srv    *http.Server
	admin  *adminServer // nil without Options.AdminAddr
	mu     sync.Mutex
	ln     net.Listener
	served bool
	closed bool
}

// New builds a server with GET /healthz, GET /readyz and GET /metrics, and opts.Handler for
// every other route, wrapped in request-id, panic-recovery, metrics and access-log middleware.
func New(opts Options) *Server {
	opts = withDefaults(opts)
	log := opts.Logger.With(zap.String("server", opts.Name))
	s := &Server{opts: opts, log: log}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", handleHealthz)
	if opts.AdminAddr == "" {
		mux.Handle("GET /readyz", readyHandler(opts.Ready, log))
		mux.Handle("GET /metrics", metricsHandler(opts.Registry, log))
	} else {
		s.admin = newAdminServer(opts, log)
	}
	mux.Handle("/", opts.Handler)
	m := newHTTPMetrics(opts.Registry, opts.Name)
	s.srv = &http.Server{
		Addr:              opts.Addr,
		Handler:           withRequestID(withAccessLog(log, m, withRecovery(log, mux))),
		ReadHeaderTimeout: opts.ReadHeaderTimeout,
		ReadTimeout:       opts.ReadTimeout,
		WriteTimeout:      opts.WriteTimeout,
		IdleTimeout:       opts.IdleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          zap.NewStdLog(log.WithOptions(zap.IncreaseLevel(zap.WarnLevel))),
	}
	return s
}

func withDefaults(o Options) Options {
	if o.Name == "" {
		o.Name = "http"
	}
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
	if o.Handler == nil {
		o.Handler = http.NotFoundHandler()
	}
	if o.Registry == nil {
		o.Registry = prometheus.NewRegistry()
	}
	setDefault(&o.ReadHeaderTimeout, DefaultReadHeaderTimeout)
	setDefault(&o.ReadTimeout, DefaultReadTimeout)
	setDefault(&o.WriteTimeout, DefaultWriteTimeout)
	setDefault(&o.IdleTimeout, DefaultIdleTimeout)
	setDefault(&o.ShutdownTimeout, DefaultShutdownTimeout)
	return o
}

func setDefault(d *time.Duration, def time.Duration) {
	if *d <= 0 {
		*d = def
	}
}

// Listen binds the address now, so that a port already taken is reported before Serve.
// After Listen, Addr returns the bound address (with the real port when Addr ended in :0).
func (s *Server) Listen() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("%s server: closed", s.opts.Name)
	}
	if s.ln != nil {
		return nil
	}
	ln, err := net.Listen("tcp", s.opts.Addr)
	if err != nil {
		return fmt.Errorf("%s server: listen on %s: %w", s.opts.Name, s.opts.Addr, err)
	}
	if s.admin != nil {
		if err := s.admin.listen(); err != nil {
			ln.Close()
			return fmt.Errorf("%s server: %w", s.opts.Name, err)
		}
	}
	s.ln = ln
	return nil
}

// Addr is the bound address after Listen, the configured one before.
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln != nil {
		return s.ln.Addr().String()
	}
	return s.opts.Addr
}

// Serve serves until ctx is done, then shuts down gracefully: it stops accepting connections,
// lets in-flight requests finish (up to ShutdownTimeout) and returns nil. It calls Listen if
// that was not done yet. A Server serves once.
func (s *Server) Serve(ctx context.Context) error {
	if err := s.Listen(); err != nil {
		return err
	}
	s.mu.Lock()
	if s.served || s.closed {
		s.mu.Unlock()
		return fmt.Errorf("%s server: Serve called twice or after Close", s.opts.Name)
	}
	s.served = true
	ln := s.ln
	s.mu.Unlock()

	s.log.Info("http server listening", zap.String("addr", ln.Addr().String()))
	if s.admin != nil {
		s.log.Info("admin endpoints listening", zap.String("addr", s.admin.addr()))
		go s.admin.serve()
		defer s.admin.close()
	}
	errc := make(chan error, 1)
	go func() { errc <- s.srv.Serve(ln) }()

	select {
	case err := <-errc:
		if errors.Is(err, http.ErrServerClosed) { // Close was called
			return nil
		}
		return fmt.Errorf("%s server on %s: %w", s.opts.Name, ln.Addr(), err)
	case <-ctx.Done():
	}
	return s.shutdown(errc)
}

func (s *Server) shutdown(errc <-chan error) error {
	s.log.Info("http server shutting down", zap.Duration("timeout", s.opts.ShutdownTimeout))
	sctx, cancel := context.WithTimeout(context.Background(), s.opts.ShutdownTimeout)
	defer cancel()
	shutdownErr := s.srv.Shutdown(sctx)
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("%s server: %w", s.opts.Name, err)
	}
	if shutdownErr != nil {
		_ = s.srv.Close()
		return fmt.Errorf("%s server: graceful shutdown: %w", s.opts.Name, shutdownErr)
	}
	s.log.Info("http server stopped")
	return nil
}

// Run is Listen followed by Serve.
func (s *Server) Run(ctx context.Context) error {
	if err := s.Listen(); err != nil {
		return err
	}
	return s.Serve(ctx)
}

// Close releases the listener of a server that is not serving (e.g. start-up failed after
// Listen), or stops a serving one at once, without waiting for in-flight requests (Serve then
// returns nil). Prefer cancelling Serve's context for a graceful shutdown.
func (s *Server) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	if s.admin != nil {
		s.admin.close()
	}
	if s.served {
		return s.srv.Close()
	}
	if s.ln != nil {
		return s.ln.Close()
	}
	return nil
}
