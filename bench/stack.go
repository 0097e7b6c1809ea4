package bench

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"sync"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"go.uber.org/zap"

	"github.com/qesflow/qesflow/codec"
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

// stack is one embedded server with a plain client and the bare worker of the baseline; the
// product runs on it with startProduct.
type stack struct {
	server     *embedded.Server
	client     client.Client // no payload codec: the bare flow is Temporal alone
	bareWorker sdkworker.Worker
	log        *zap.Logger
	dataDir    string
	// workflowRelease is the release the product's workers run the workflow at (0: the
	// newest; worker.Options.WorkflowRelease).
	workflowRelease int

	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	mu      sync.Mutex
	errs    []error
	closers []func() // run in reverse order by stop, before the server stops
}

func startStack(ctx context.Context, cfg embedded.Config, log *zap.Logger) (_ *stack, err error) {
	if log == nil {
		log = zap.NewNop()
	}
	runCtx, cancel := context.WithCancel(context.Background())
	s := &stack{log: log, dataDir: cfg.DataDir, ctx: runCtx, cancel: cancel}
	defer func() {
		if err != nil {
			_ = s.stop()
		}
	}()
	cfg.UIPort = embedded.UIDisabled
	cfg.Logger = log.Named("temporal")
	if s.server, err = embedded.Start(ctx, cfg); err != nil {
		return nil, fmt.Errorf("start embedded Temporal: %w", err)
	}
	if s.client, err = s.dial(ctx, nil); err != nil {
		return nil, err
	}
	s.bareWorker = newBareWorker(s.client, BareTaskQueue)
	if err := s.bareWorker.Start(); err != nil {
		return nil, fmt.Errorf("start bare worker: %w", err)
	}
	s.onStop(s.bareWorker.Stop)
	return s, nil
}

// dial connects a client to the stack's server; keys, when set, encrypt its payloads.
func (s *stack) dial(ctx context.Context, keys *codec.Keyring) (client.Client, error) {
	parts, err := s.connect(ctx, keys)
	if err != nil {
		return nil, err
	}
	return parts.Client, nil
}

// connect assembles the product's shared parts on the stack's server, without metrics (the
// bench measures the flow, not the exporter); keys, when set, encrypt the payloads.
func (s *stack) connect(ctx context.Context, keys *codec.Keyring) (*assembly.Parts, error) {
	opts := temporalclient.Options{
		Address:   s.server.FrontendAddress(),
		Namespace: s.server.Namespace(),
		Logger:    s.log.Named("sdk"),
	}
	if keys != nil {
		opts.DataConverter = codec.DataConverter(keys)
	}
	parts, err := assembly.Connect(ctx, assembly.Config{Temporal: opts, Logger: s.log})
	if err != nil {
		return nil, err
	}
	s.onStop(parts.Client.Close)
	return parts, nil
}

func (s *stack) onStop(fn func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closers = append(s.closers, fn)
}

// serve runs fn until the stack stops, keeping its error.
func (s *stack) serve(fn func(ctx context.Context) error) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := fn(s.ctx); err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, http.ErrServerClosed) {
			s.mu.Lock()
			s.errs = append(s.errs, err)
			s.mu.Unlock()
		}
	}()
}

// stop shuts the stack down, the server last, and reports what failed while it ran.
func (s *stack) stop() error {
	s.cancel()
	s.wg.Wait()
	s.mu.Lock()
	closers := s.closers
	s.closers = nil
	s.mu.Unlock()
	for i := len(closers) - 1; i >= 0; i-- {
		closers[i]()
	}
	var errs []error
	if s.server != nil {
		if err := s.server.Stop(); err != nil {
			errs = append(errs, err)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return errors.Join(append(errs, s.errs...)...)
}

// product is the product wired on a stack as `qesflow dev` wires it: the simulator, the
// onboarding worker, the bridge and the API, sharing one client whose payloads the codec
// encrypts (as in dev), plus a sink worker on that client for the bridge section.
type product struct {
	s         *stack
	parts     *assembly.Parts
	client    client.Client
	codecKeys string // the keyring spec, for a worker process
	taskQueue string
	sinkQueue string

	sim                       *treezorsim.Simulator
	simURL, bridgeURL, apiURL string
	apiKey, webhookSecret     string
	treezorID, treezorSecret  string
	worker                    sdkworker.Worker
}

// startProduct starts the product on taskQueue; encrypt turns the payload codec on.
func (s *stack) startProduct(ctx context.Context, taskQueue string, encrypt bool) (*product, error) {
	p := &product{
		s: s, taskQueue: taskQueue, sinkQueue: taskQueue + "-bench-sink",
		apiKey: rand.Text() + rand.Text(), webhookSecret: rand.Text(), treezorID: "qesflow-bench", treezorSecret: rand.Text(),
	}
	var keys *codec.Keyring
	if encrypt {
		key, err := codec.GenerateKey("bench")
		if err != nil {
			return nil, err
		}
		if keys, err = codec.NewKeyring(key); err != nil {
			return nil, err
		}
		p.codecKeys = key.Spec()
	}
	var err error
	if p.parts, err = s.connect(ctx, keys); err != nil {
		return nil, err
	}
	p.client = p.parts.Client
	sinks := newBareWorker(p.client, p.sinkQueue)
	if err := sinks.Start(); err != nil {
		return nil, fmt.Errorf("start sink worker: %w", err)
	}
	s.onStop(sinks.Stop)
	if err := p.startSimulator(); err != nil {
		return nil, err
	}
	if p.worker, err = p.newWorker(taskQueue, 0); err != nil {
		return nil, err
	}
	if err := p.worker.Start(); err != nil {
		return nil, fmt.Errorf("start onboarding worker: %w", err)
	}
	s.onStop(p.worker.Stop)
	if err := p.startBridge(); err != nil {
		return nil, err
	}
	p.apiURL, err = p.serveAPI(taskQueue)
	return p, err
}

func (p *product) startSimulator() error {
	simLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("simulator listener: %w", err)
	}
	p.simURL = "http://" + simLn.Addr().String()
	p.sim, err = treezorsim.Open(treezorsim.Config{
		ClientID:      p.treezorID,
		ClientSecret:  p.treezorSecret,
		WebhookSecret: p.webhookSecret,
		PublicURL:     p.simURL,
		// One document and no intermediate PENDING review webhook: five webhooks per
		// onboarding, as many as the bare flow gets signals.
		DocumentsPerSuccess:   1,
		SkipKYCPendingWebhook: true,
		AutoKYCDecision:       treezorsim.KYCValidate,
	}, p.s.log.Named("sim"))
	if err != nil {
		simLn.Close()
		return fmt.Errorf("simulator: %w", err)
	}
	p.s.onStop(p.sim.Close)
	p.s.serve(func(ctx context.Context) error { return p.sim.ServeListener(ctx, simLn) })
	return nil
}

func (p *product) startBridge() error {
	bridge, err := p.parts.Bridge(webhookbridge.Config{Secrets: []string{p.webhookSecret}})
	if err != nil {
		return fmt.Errorf("bridge: %w", err)
	}
	addr, err := p.serveHTTP("bridge", "127.0.0.1:0", bridge)
	if err != nil {
		return err
	}
	p.bridgeURL = "http://" + addr
	p.sim.SetWebhookURL(p.bridgeURL + webhookbridge.Path)
	return nil
}

// newWorker is an in-process onboarding worker, as devstack builds it.
func (p *product) newWorker(taskQueue string, stickyCacheSize int) (sdkworker.Worker, error) {
	tz, err := treezor.NewClient(treezor.Config{
		BaseURL:      p.simURL,
		ClientID:     p.treezorID,
		ClientSecret: p.treezorSecret,
		Scopes:       treezor.DefaultScopes,
	})
	if err != nil {
		return nil, fmt.Errorf("treezor client: %w", err)
	}
	w, err := p.parts.Worker(worker.Options{
		TaskQueue:       taskQueue,
		Treezor:         tz,
		DocumentDir:     filepath.Join(p.s.dataDir, "documents"),
		StickyCacheSize: stickyCacheSize,
		WorkflowRelease: p.s.workflowRelease,
	})
	if err != nil {
		return nil, fmt.Errorf("onboarding worker: %w", err)
	}
	return w, nil
}

// serveAPI serves an onboarding API that starts onboardings on taskQueue; it returns its URL.
func (p *product) serveAPI(taskQueue string) (string, error) {
	keys, err := starter.ParseAPIKeys(p.apiKey + ":onboarding")
	if err != nil {
		return "", fmt.Errorf("API keys: %w", err)
	}
	api, err := p.parts.API(starter.Config{TaskQueue: taskQueue, Keys: keys})
	if err != nil {
		return "", fmt.Errorf("api: %w", err)
	}
	addr, err := p.serveHTTP("api", "127.0.0.1:0", api)
	return "http://" + addr, err
}

// serveHTTP serves h as the product serves it (request ids, access log, metrics, probes).
func (p *product) serveHTTP(name, addr string, h http.Handler) (string, error) {
	srv := p.parts.HTTPServer(httpserver.Options{
		Name:    name,
		Addr:    addr,
		Handler: h,
		Logger:  p.s.log.Named(name),
		Ready:   temporalclient.CheckHealth(p.client),
	})
	if err := srv.Listen(); err != nil {
		return "", fmt.Errorf("%s listener: %w", name, err)
	}
	p.s.serve(srv.Serve)
	return srv.Addr(), nil
}

// newBareWorker runs the bare flow and the signal sink on taskQueue, with the options the
// onboarding worker gets.
func newBareWorker(c client.Client, taskQueue string) sdkworker.Worker {
	w := sdkworker.New(c, taskQueue, sdkworker.Options{
		WorkerStopTimeout:          worker.DefaultStopTimeout,
		WorkflowTaskPollerBehavior: worker.WorkflowTaskPollers(0),
	})
	w.RegisterWorkflowWithOptions(BareFlow, workflow.RegisterOptions{Name: BareWorkflowName})
	w.RegisterWorkflowWithOptions(SignalSink, workflow.RegisterOptions{Name: SinkWorkflowName})
	w.RegisterActivity(&bareActivities{signal: func(ctx context.Context, wid string, ev treezor.Event) error {
		return c.SignalWorkflow(ctx, wid, "", workflows.SignalWebhook, ev)
	}})
	return w
}

// countWorkflows is the number of workflows visibility finds for query on c's server.
func countWorkflows(ctx context.Context, c client.Client, query string) (int, error) {
	resp, err := c.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{Query: query})
	if err != nil {
		return 0, fmt.Errorf("count workflows where %s: %w", query, err)
	}
	return int(resp.GetCount()), nil
}

// waitFor polls cond every interval until it holds or ctx ends.
func waitFor(ctx context.Context, interval time.Duration, cond func() (bool, error)) error {
	for {
		ok, err := cond()
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(interval):
		}
	}
}
