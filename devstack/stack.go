// Package devstack runs the whole product in one process: an embedded Temporal server with its
// Web UI, the worker, the webhook bridge, the onboarding API and the Treezor sandbox simulator,
// wired to each other. It backs `qesflow dev` and the end-to-end tests.
package devstack

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	sdkworker "go.temporal.io/sdk/worker"
	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"

	"github.com/qesflow/qesflow/codec"
	"github.com/qesflow/qesflow/console"
	"github.com/qesflow/qesflow/embedded"
	"github.com/qesflow/qesflow/internal/assembly"
	"github.com/qesflow/qesflow/internal/httpserver"
	"github.com/qesflow/qesflow/internal/temporalclient"
	"github.com/qesflow/qesflow/starter"
	"github.com/qesflow/qesflow/treezor"
	"github.com/qesflow/qesflow/treezorsim"
	"github.com/qesflow/qesflow/webhookbridge"
	"github.com/qesflow/qesflow/worker"
	"github.com/qesflow/qesflow/workflows"
)

// Config describes one dev stack. Port 0 picks a free port; UIPort embedded.UIDisabled turns the UI off.
type Config struct {
	DataDir   string // durable SQLite persistence and documents; ignored for persistence when Ephemeral
	Ephemeral bool   // in-memory Temporal persistence
	Host      string // interface every listener binds to; default 127.0.0.1

	TemporalPort, UIPort, APIPort, BridgePort, SimPort int

	Credentials    Credentials // dev secrets; zero values are generated
	Sim            treezorsim.Config
	Policy         *workflows.PolicyOverride
	Logger         *zap.Logger
	ServerLogLevel string // embedded Temporal server log level; default "warn"
}

// Stack is a running dev stack.
type Stack struct {
	cfg      Config
	Server   *embedded.Server
	Client   client.Client
	Sim      *treezorsim.Simulator
	Registry *prometheus.Registry

	APIURL, BridgeURL, SimURL, UIURL, TemporalAddress string
	// EventsURL is the page of the events receiver (APIURL + EventsPath): the worker delivers
	// every onboarding's signed events there, and the page lists the verified ones.
	EventsURL   string
	Credentials Credentials

	// CodecURL is the codec endpoint (APIURL + "/codec") the Web UI decrypts payloads with.
	CodecURL string
	// Keyring encrypts every payload of the stack (from Credentials.CodecKeys), and
	// DataConverter is the converter built on it: other clients of the stack's namespace
	// must use it (temporalclient.Options.DataConverter).
	Keyring       *codec.Keyring
	DataConverter converter.DataConverter

	frontendTLS *embedded.TLS // nil on loopback
	worker      sdkworker.Worker
	cancel      context.CancelFunc
	group       *errgroup.Group
	stop        sync.Once
	err         error
}

// PortError names the port (and flag) that could not be bound.
type PortError struct {
	Purpose string // "api", "bridge", "sim", "frontend", "ui"
	Port    int
	Err     error
}

func (e *PortError) Error() string {
	return fmt.Sprintf("%s port %d is not available: %v", e.Purpose, e.Port, e.Err)
}
func (e *PortError) Unwrap() error { return e.Err }

// Start brings the stack up and returns once every part serves. Stop it with Stop.
func Start(ctx context.Context, cfg Config) (*Stack, error) {
	cfg = withDefaults(cfg)
	creds, err := loadCredentials(cfg)
	if err != nil {
		return nil, err
	}
	keyring, err := codec.ParseKeyring(creds.CodecKeys)
	if err != nil {
		return nil, fmt.Errorf("dev codec keys: %w", err)
	}
	s := &Stack{cfg: cfg, Credentials: creds, Registry: prometheus.NewRegistry(), Keyring: keyring, DataConverter: codec.DataConverter(keyring)}
	s.Registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	log := cfg.Logger

	// Bind the HTTP listeners first so a taken port fails before anything starts; the
	// handlers are plugged in once the parts behind them exist.
	var apiHandler, bridgeHandler deferredHandler
	ready := func(ctx context.Context) error {
		if s.Client == nil {
			return errors.New("temporal client not connected yet")
		}
		return temporalclient.CheckHealth(s.Client)(ctx)
	}
	apiSrv := httpserver.New(httpserver.Options{Name: "api", Addr: hostPort(cfg.Host, cfg.APIPort), Handler: &apiHandler, Logger: log.Named("api"), Ready: ready, Registry: s.Registry})
	bridgeSrv := httpserver.New(httpserver.Options{Name: "bridge", Addr: hostPort(cfg.Host, cfg.BridgePort), Handler: &bridgeHandler, Logger: log.Named("bridge"), Ready: ready, Registry: s.Registry})
	if err := apiSrv.Listen(); err != nil {
		return nil, &PortError{Purpose: "api", Port: cfg.APIPort, Err: err}
	}
	if err := bridgeSrv.Listen(); err != nil {
		apiSrv.Close()
		return nil, &PortError{Purpose: "bridge", Port: cfg.BridgePort, Err: err}
	}
	simLn, err := net.Listen("tcp", hostPort(cfg.Host, cfg.SimPort))
	if err != nil {
		apiSrv.Close()
		bridgeSrv.Close()
		return nil, &PortError{Purpose: "sim", Port: cfg.SimPort, Err: err}
	}
	closeListeners := func() { apiSrv.Close(); bridgeSrv.Close(); simLn.Close() }
	s.APIURL = "http://" + apiSrv.Addr()
	s.BridgeURL = "http://" + bridgeSrv.Addr()
	s.SimURL = "http://" + simLn.Addr().String()
	s.CodecURL = s.APIURL + strings.TrimSuffix(codec.PathPrefix, "/")
	s.EventsURL = s.APIURL + EventsPath

	frontendTLS, err := devTLS(cfg)
	if err != nil {
		closeListeners()
		return nil, err
	}
	srvCfg := embedded.Config{
		TLS:          frontendTLS,
		FrontendIP:   cfg.Host,
		FrontendPort: cfg.TemporalPort,
		UIPort:       cfg.UIPort,
		// The UI (in the operator's browser) decrypts payloads through the API's codec endpoint.
		UICodecEndpoint: s.CodecURL,
		Logger:          log,
		LogLevel:        cfg.ServerLogLevel,
	}
	if cfg.Ephemeral {
		srvCfg.Ephemeral = true
	} else {
		srvCfg.DataDir = filepath.Join(cfg.DataDir, "temporal")
	}
	srv, err := embedded.Start(ctx, srvCfg)
	if err != nil {
		closeListeners()
		var pe *embedded.PortInUseError
		if errors.As(err, &pe) {
			return nil, &PortError{Purpose: pe.Purpose, Port: pe.Port, Err: err}
		}
		return nil, fmt.Errorf("start embedded Temporal server: %w", err)
	}
	s.Server = srv
	s.frontendTLS = frontendTLS
	s.TemporalAddress = srv.FrontendAddress()
	s.UIURL = srv.UIAddress()

	fail := func(err error) (*Stack, error) {
		closeListeners()
		s.shutdown()
		return nil, err
	}

	parts, err := assembly.Connect(ctx, assembly.Config{
		Temporal: temporalclient.Options{
			TLSCertFile:   s.tlsFile(func(t *embedded.TLS) string { return t.CertFile }),
			TLSKeyFile:    s.tlsFile(func(t *embedded.TLS) string { return t.KeyFile }),
			TLSCAFile:     s.tlsFile(func(t *embedded.TLS) string { return t.CAFile }),
			TLSServerName: s.tlsFile(func(*embedded.TLS) string { return "localhost" }),
			Address:       srv.FrontendAddress(),
			Namespace:     srv.Namespace(),
			Logger:        log.Named("sdk"),
			DataConverter: s.DataConverter,
			// A signal written without the stack's keys fails its workflow task instead of
			// reaching the workflow.
			RequireEncryptedPayloads: true,
		},
		Logger:   log,
		Registry: s.Registry,
	})
	if err != nil {
		return fail(fmt.Errorf("connect to embedded Temporal: %w", err))
	}
	s.Client = parts.Client

	simCfg := cfg.Sim
	simCfg.ClientID, simCfg.ClientSecret = creds.TreezorClientID, creds.TreezorClientSecret
	simCfg.WebhookSecret = creds.WebhookSecret
	simCfg.WebhookURL = s.BridgeURL + "/webhooks/treezor"
	if simCfg.PublicURL == "" {
		simCfg.PublicURL = publicURL(simLn.Addr())
	}
	if !cfg.Ephemeral && simCfg.StateFile == "" {
		// The simulator remembers users, identifications and pending webhooks across a
		// restart, as Treezor would.
		simCfg.StateFile = filepath.Join(cfg.DataDir, "sim-state.json")
	}
	if s.Sim, err = treezorsim.Open(simCfg, log.Named("sim")); err != nil {
		return fail(fmt.Errorf("treezor simulator: %w", err))
	}

	tz, err := treezor.NewClient(treezor.Config{
		BaseURL:      s.SimURL,
		ClientID:     creds.TreezorClientID,
		ClientSecret: creds.TreezorClientSecret,
		Scopes:       treezor.DefaultScopes,
	})
	if err != nil {
		return fail(fmt.Errorf("treezor client: %w", err))
	}
	// The worker delivers the onboardings' events to the stack's own receiver, which plays
	// the onboarding backend.
	events, err := newEventsReceiver(creds.EventsSecret)
	if err != nil {
		return fail(fmt.Errorf("dev events secret: %w", err))
	}
	sender, err := devEventsSender(s.EventsURL, creds.EventsSecret, s.Registry)
	if err != nil {
		return fail(err)
	}
	docDir := filepath.Join(cfg.DataDir, "documents")
	s.worker, err = parts.Worker(worker.Options{Treezor: tz, DocumentDir: docDir, Events: sender})
	if err != nil {
		return fail(fmt.Errorf("worker: %w", err))
	}
	if err := s.worker.Start(); err != nil {
		return fail(fmt.Errorf("start worker: %w", err))
	}

	bridge, err := parts.Bridge(webhookbridge.Config{Secrets: []string{creds.WebhookSecret}})
	if err != nil {
		return fail(fmt.Errorf("bridge: %w", err))
	}
	keys, err := starter.ParseAPIKeys(creds.OnboardingKey + ":onboarding," + creds.ComplianceKey + ":compliance," +
		creds.SupervisorKey + ":onboarding+compliance")
	if err != nil {
		return fail(fmt.Errorf("dev API keys: %w", err))
	}
	api, err := parts.API(starter.Config{Keys: keys, Policy: cfg.Policy})
	if err != nil {
		return fail(fmt.Errorf("api: %w", err))
	}

	// The compliance console signs operators in with the named dev keys.
	sessionKeys, err := console.ParseSessionKeys(creds.ConsoleSessionKeys)
	if err != nil {
		return fail(fmt.Errorf("dev console session keys: %w", err))
	}
	con, err := console.New(console.Config{
		Temporal: s.Client, Namespace: srv.Namespace(), Logger: log.Named("console"), SessionKeys: sessionKeys,
		Keys: []starter.APIKey{
			{Name: "dev-compliance", Key: creds.ComplianceKey, Scopes: starter.ScopeCompliance},
			{Name: "dev-supervisor", Key: creds.SupervisorKey, Scopes: starter.ScopeOnboarding | starter.ScopeCompliance},
		},
	})
	if err != nil {
		return fail(fmt.Errorf("console: %w", err))
	}
	s.Registry.MustRegister(console.NewQueueCollector(s.Client, srv.Namespace(), log.Named("console")))
	codecHandler, err := codec.NewHandler(codec.HandlerConfig{
		Keys: keyring,
		// Operators' tools (temporal --codec-auth "Bearer <key>") use the compliance key.
		Tokens: []string{creds.ComplianceKey},
		// The Web UI has no login of its own: its browser sends the codec cookie of an
		// operator signed in to the console on the same host, and only that decodes for it.
		UIOrigins: uiOrigins(s.UIURL),
		Sessions:  con.Sessions(),
		Logger:    log.Named("codec"),
	})
	if err != nil {
		return fail(fmt.Errorf("codec endpoint: %w", err))
	}
	apiMux := http.NewServeMux()
	apiMux.Handle(codec.PathPrefix, codecHandler)
	apiMux.Handle(console.PathPrefix, con)
	apiMux.Handle(EventsPath, events)
	apiMux.Handle("/", api)
	apiHandler.set(apiMux)
	bridgeHandler.set(bridge)

	runCtx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	g, gctx := errgroup.WithContext(runCtx)
	s.group = g
	g.Go(func() error { return apiSrv.Serve(gctx) })
	g.Go(func() error { return bridgeSrv.Serve(gctx) })
	g.Go(func() error { return s.Sim.ServeListener(gctx, simLn) })
	return s, nil
}

// Wait blocks until ctx is done or a part of the stack fails, then stops the stack.
func (s *Stack) Wait(ctx context.Context) error {
	done := make(chan error, 1)
	go func() { done <- s.group.Wait() }()
	var err error
	select {
	case <-ctx.Done():
	case err = <-done:
	}
	if stopErr := s.Stop(); err == nil {
		err = stopErr
	}
	return err
}

// Stop shuts everything down: HTTP servers finish in-flight requests, the worker finishes its
// tasks, the simulator stops delivering, then the Temporal server stops. Safe to call twice.
func (s *Stack) Stop() error {
	s.stop.Do(func() { s.err = s.shutdown() })
	return s.err
}

func (s *Stack) shutdown() error {
	var errs []error
	if s.cancel != nil {
		s.cancel()
		if err := s.group.Wait(); err != nil && !errors.Is(err, context.Canceled) {
			errs = append(errs, err)
		}
	}
	if s.worker != nil {
		s.worker.Stop()
	}
	if s.Sim != nil {
		s.Sim.Close()
	}
	if s.Client != nil {
		s.Client.Close()
	}
	if s.Server != nil {
		if err := s.Server.Stop(); err != nil {
			errs = append(errs, fmt.Errorf("stop Temporal server: %w", err))
		}
	}
	return errors.Join(errs...)
}

func withDefaults(c Config) Config {
	if c.Host == "" {
		c.Host = "127.0.0.1"
	}
	if c.DataDir == "" {
		c.DataDir = ".qesflow"
	}
	if c.Logger == nil {
		c.Logger = zap.NewNop()
	}
	if c.ServerLogLevel == "" {
		c.ServerLogLevel = "warn"
	}
	return c
}

func hostPort(host string, port int) string { return net.JoinHostPort(host, strconv.Itoa(port)) }

// deferredHandler answers 503 until the real handler is set: listeners bind before the parts exist.
type deferredHandler struct{ h atomic.Pointer[http.Handler] }

func (d *deferredHandler) set(h http.Handler) { d.h.Store(&h) }

func (d *deferredHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h := d.h.Load(); h != nil {
		(*h).ServeHTTP(w, r)
		return
	}
	w.Header().Set("Retry-After", "1")
	http.Error(w, "starting", http.StatusServiceUnavailable)
}

// publicURL is the simulator's address as a browser on this machine reaches it.
func publicURL(a net.Addr) string {
	tcp, ok := a.(*net.TCPAddr)
	if !ok {
		return "http://" + a.String()
	}
	host := tcp.IP.String()
	if tcp.IP.IsLoopback() || tcp.IP.IsUnspecified() {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, strconv.Itoa(tcp.Port))
}

// uiOrigins are the origins a browser shows the Web UI at uiURL from: the URL itself and, for
// a loopback or unspecified address, localhost and the loopback addresses on the same port.
func uiOrigins(uiURL string) []string {
	if uiURL == "" {
		return nil
	}
	u, err := url.Parse(uiURL)
	if err != nil {
		return nil
	}
	origins := []string{u.Scheme + "://" + u.Host}
	if ip := net.ParseIP(u.Hostname()); ip != nil && (ip.IsLoopback() || ip.IsUnspecified()) {
		for _, h := range []string{"localhost", "127.0.0.1", "[::1]"} {
			origins = append(origins, u.Scheme+"://"+h+":"+u.Port())
		}
	}
	return origins
}

// apiPort is the bound port of the onboarding API.
func (s *Stack) apiPort() int {
	u, err := url.Parse(s.APIURL)
	if err != nil {
		return 0
	}
	p, _ := strconv.Atoi(u.Port())
	return p
}
