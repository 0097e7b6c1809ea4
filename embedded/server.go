package embedded

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/server/temporal"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/qesflow/qesflow/workflows"
)

// startTimeout bounds Start when its context has no earlier deadline.
const startTimeout = 2 * time.Minute

// ErrShardCountMismatch reports a Config.NumHistoryShards that differs from the count the
// store was created with.
var ErrShardCountMismatch = errors.New("history shard count differs from the store's")

// Server is a running embedded Temporal server.
type Server struct {
	temporal        temporal.Server
	store           *store
	ui              *webUI
	logger          *zap.Logger
	logGate         zap.AtomicLevel
	frontendAddress string
	httpAddress     string
	namespace       string

	stopOnce sync.Once
	stopErr  error
}

// Start runs a server as cfg describes and returns once the frontend serves, the namespace
// exists and qesflow's search attributes (workflows.SearchAttributeTypes) are usable. A port
// that is taken fails with a *PortInUseError before anything starts.
func Start(ctx context.Context, cfg Config) (*Server, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	// A taken port fails before the store is touched; reservePorts checks again just
	// before the server starts.
	if err := checkFixedPorts(cfg); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()

	zl, logGate, err := serverLogger(cfg.Logger, cfg.LogLevel)
	if err != nil {
		return nil, err
	}
	searchAttributes := workflows.SearchAttributeTypes()
	st, err := openStore(ctx, cfg, searchAttributes, temporalLogger(zl))
	if err != nil {
		return nil, err
	}
	s := &Server{store: st, logger: zl, logGate: logGate, namespace: cfg.Namespace}
	if err := s.start(ctx, cfg, searchAttributes); err != nil {
		_ = s.Stop()
		return nil, err
	}
	return s, nil
}

func (s *Server) start(ctx context.Context, cfg Config, searchAttributes map[string]enumspb.IndexedValueType) error {
	p, err := reservePorts(cfg)
	if err != nil {
		return err
	}
	frontendIP := dialIP(cfg.FrontendIP)
	s.frontendAddress = hostPort(frontendIP, p.frontend)
	s.httpAddress = hostPort(frontendIP, p.frontendHTTP)

	opts, err := serverOptions(cfg, p, s.store.persistence, s.frontendAddress, temporalLogger(s.logger))
	if err != nil {
		return err
	}
	srv, err := temporal.NewServer(opts...)
	if err != nil {
		return fmt.Errorf("create Temporal server: %w", err)
	}
	if err := srv.Start(); err != nil {
		_ = srv.Stop()
		return fmt.Errorf("start Temporal server: %w", err)
	}
	s.temporal = srv
	if err := s.store.startCheckpoints(s.logger); err != nil {
		return err
	}

	if cfg.UIPort != UIDisabled {
		// Bind the UI port right after checking it, before the slower cluster preparation.
		if s.ui, err = startUI(ctx, cfg.FrontendIP, p.ui, s.frontendAddress, cfg); err != nil {
			return err
		}
	}
	return s.prepareCluster(ctx, cfg, searchAttributes)
}

// prepareCluster checks the shard count and registers the namespace and search attributes.
func (s *Server) prepareCluster(ctx context.Context, cfg Config, searchAttributes map[string]enumspb.IndexedValueType) error {
	a, err := dialAdmin(s.frontendAddress, cfg.Namespace, cfg.TLS)
	if err != nil {
		return err
	}
	defer a.close()
	if err := a.waitServing(ctx); err != nil {
		return err
	}
	if cfg.NumHistoryShards != 0 {
		stored, err := a.historyShardCount(ctx)
		if err != nil {
			return err
		}
		if stored != cfg.NumHistoryShards {
			return fmt.Errorf("%w: the store has %d shards, the config asks for %d; "+
				"the count is fixed when a store is created (leave it 0 to accept the stored count)",
				ErrShardCountMismatch, stored, cfg.NumHistoryShards)
		}
	}
	if err := a.ensureNamespace(ctx, cfg.Retention); err != nil {
		return err
	}
	return a.ensureSearchAttributes(ctx, searchAttributes)
}

// FrontendAddress is the host:port of the frontend gRPC API, e.g. "127.0.0.1:7233".
func (s *Server) FrontendAddress() string { return s.frontendAddress }

// FrontendHTTPAddress is the host:port of the frontend HTTP API.
func (s *Server) FrontendHTTPAddress() string { return s.httpAddress }

// UIAddress is the base URL of the Web UI, e.g. "http://127.0.0.1:8233", or "" without UI.
func (s *Server) UIAddress() string {
	if s.ui == nil {
		return ""
	}
	return s.ui.baseURL
}

// Namespace is the namespace registered at start.
func (s *Server) Namespace() string { return s.namespace }

// Stop stops the UI and the server gracefully and releases the data directory. It is safe to
// call more than once; later calls return the first call's result. Server logs below DPanic
// are dropped from here on: they are the cancelled calls of services stopping one by one.
func (s *Server) Stop() error {
	s.stopOnce.Do(func() {
		// Stopping services log the cancelled calls of the others; Stop returns real failures.
		s.logGate.SetLevel(max(s.logGate.Level(), zapcore.DPanicLevel))
		s.ui.stop()
		var errs []error
		stopped := true
		if s.temporal != nil {
			if err := s.temporal.Stop(); err != nil {
				stopped = false
				errs = append(errs, fmt.Errorf("stop Temporal server: %w", err))
			}
		}
		if err := s.store.release(stopped); err != nil {
			errs = append(errs, fmt.Errorf("release data directory: %w", err))
		}
		_ = s.logger.Sync()
		s.stopErr = errors.Join(errs...)
	})
	return s.stopErr
}
