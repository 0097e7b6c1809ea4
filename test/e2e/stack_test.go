package e2e

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/interceptor"
	sdkworker "go.temporal.io/sdk/worker"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/qesflow/qesflow/codec"
	"github.com/qesflow/qesflow/embedded"
	"github.com/qesflow/qesflow/internal/temporalclient"
	"github.com/qesflow/qesflow/outbound"
	"github.com/qesflow/qesflow/starter"
	"github.com/qesflow/qesflow/treezor"
	"github.com/qesflow/qesflow/treezorsim"
	"github.com/qesflow/qesflow/webhookbridge"
	"github.com/qesflow/qesflow/workflows"
)

// Chaos settings of the stack (see docs/reliability.md).
const (
	treezorClientTimeout = 2 * time.Second        // per Treezor call: hangs cost little
	apiFaultTimeout      = 3 * time.Second        // a hanging call outlasts the client's timeout
	webhookRetryInterval = 200 * time.Millisecond // the simulator's redelivery interval
	webhookMaxAttempts   = 1000                   // outlasts any server restart
	chaosPayinGrace      = 20 * time.Second       // the bridge's payin grace: covers visibility lag, short of the flow timeout
	webhookMaxDelay      = 300 * time.Millisecond // random delay before each delivery
	bridgeFaultRate      = 0.10                   // deliveries the bridge answers 503
	bridgeAnswerLostRate = 0.5                    // of those, handled by the bridge first
	apiFaultRate         = 0.10                   // Treezor API calls that fail or hang
	apiFaultHangShare    = 0.3                    // of those, processed then hung
	workerStopTimeout    = 5 * time.Second
	apiKey               = "chaos-api-key-both-scopes-0001-5c8e2a7f"
)

// chaosPolicy keeps the flows fast: short backoff, timeouts that never fire by accident.
func chaosPolicy() *workflows.PolicyOverride {
	return &workflows.PolicyOverride{
		MaxAttempts:       chaosMaxAttempts,
		RetryBackoff:      time.Second,
		UserTimeout:       10 * time.Minute,
		ProviderTimeout:   10 * time.Minute,
		SEPATimeout:       10 * time.Minute,
		KYCReviewTimeout:  10 * time.Minute,
		ComplianceTimeout: 10 * time.Minute,
	}
}

// chaosStack is the product wired as `qesflow dev` wires it, with fault injectors in
// between and every part replaceable while flows run.
type chaosStack struct {
	t         *testing.T
	dataDir   string
	port      int
	namespace string

	mu     sync.Mutex
	server *embedded.Server
	worker sdkworker.Worker

	client client.Client
	sim    *treezorsim.Simulator
	tz     *treezor.Client
	flaky  *FlakyBridge
	// events is the onboarding backend the workers deliver the outbound events to.
	events  *chaosReceiver
	sender  *outbound.Sender
	retries *activityRetryCounter
	apiURL  string
	// errorLogs holds the error-level logs of the bridge and the API: errors they did not
	// expect (an unavailable Temporal is a warning).
	errorLogs *observer.ObservedLogs

	workerRestarts, serverRestarts int
	downtime                       time.Duration // total time the server was down
}

// startChaosStack starts every part; t's cleanups stop them.
func startChaosStack(t *testing.T, seed uint64) *chaosStack {
	t.Helper()
	core, errorLogs := observer.New(zap.ErrorLevel)
	s := &chaosStack{t: t, dataDir: t.TempDir(), retries: &activityRetryCounter{}, errorLogs: errorLogs}
	t.Cleanup(s.stop) // registered first: runs last, after the HTTP servers closed

	s.port = freePortBelowEphemeral(t, newRNG(seed+2))
	require.NoError(t, s.startServer(s.port))
	s.namespace = s.server.Namespace()

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	key, err := codec.GenerateKey("chaos")
	require.NoError(t, err)
	keys, err := codec.NewKeyring(key)
	require.NoError(t, err)
	s.client, err = temporalclient.Dial(ctx, temporalclient.Options{
		Address: s.server.FrontendAddress(), Namespace: s.namespace,
		DataConverter: codec.DataConverter(keys), // payloads are encrypted, as in production
	})
	require.NoError(t, err)

	bridge, err := webhookbridge.New(webhookbridge.Config{
		Secrets: []string{treezorsim.DevWebhookSecret}, Temporal: s.client, Logger: zap.New(core).Named("bridge"),
		// The simulator delivers a user's webhooks in order: a SEPA transfer sent before the
		// identification succeeds holds the QES webhooks behind its 503s for the payin grace.
		PayinGrace: chaosPayinGrace,
	})
	require.NoError(t, err)
	s.flaky = NewFlakyBridge(bridge, FlakyConfig{
		FaultRate: bridgeFaultRate, AnswerLostShare: bridgeAnswerLostRate, LossRate: *chaosSabotage, Seed: seed + 1,
	})
	bridgeSrv := httptest.NewServer(s.flaky)
	t.Cleanup(bridgeSrv.Close)

	s.sim = treezorsim.New(treezorsim.Config{
		WebhookURL:           bridgeSrv.URL + webhookbridge.Path,
		Seed:                 int64(seed >> 1),
		WebhookRetryInterval: webhookRetryInterval,
		WebhookMaxAttempts:   webhookMaxAttempts,
		DuplicateRate:        1,
		ReorderRate:          0.7,
		MaxDelay:             webhookMaxDelay,
		APIFaultRate:         apiFaultRate,
		APIFaultHangShare:    apiFaultHangShare,
		APIFaultTimeout:      apiFaultTimeout,
		Webhooks:             chaosWebhookVariants(),
	}, nil)
	simSrv := httptest.NewServer(s.sim.Handler())
	t.Cleanup(simSrv.Close)
	t.Cleanup(s.sim.Close) // runs before simSrv.Close: ends hanging calls

	s.tz, err = treezor.NewClient(treezor.Config{
		BaseURL: simSrv.URL, ClientID: treezorsim.DevClientID, ClientSecret: treezorsim.DevClientSecret,
		Scopes: treezor.DefaultScopes, Timeout: treezorClientTimeout,
	})
	require.NoError(t, err)
	s.events = newChaosReceiver(t, eventChaosSecret, seed+3)
	s.sender = eventSender(t, s.events, eventChaosSecret)
	require.NoError(t, s.startWorker())

	api, err := starter.New(starter.Config{
		Temporal: s.client,
		Keys:     map[string]starter.Scope{apiKey: starter.ScopeOnboarding | starter.ScopeCompliance},
		Policy:   chaosPolicy(),
		Logger:   zap.New(core).Named("api"),
	})
	require.NoError(t, err)
	apiSrv := httptest.NewServer(api)
	t.Cleanup(apiSrv.Close)
	s.apiURL = apiSrv.URL
	return s
}

// freePortBelowEphemeral picks a free port below Linux's ephemeral range (32768–60999), so
// that no outgoing connection takes it while the server restarts on it.
func freePortBelowEphemeral(t *testing.T, rng *rand.Rand) int {
	t.Helper()
	for range 100 {
		port := 20000 + rng.IntN(12000)
		ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			continue
		}
		require.NoError(t, ln.Close())
		return port
	}
	t.Fatal("no free port in 20000–31999")
	return 0
}

// serverConfig is the embedded server on the stack's SQLite file.
func (s *chaosStack) serverConfig(port int) embedded.Config {
	return embedded.Config{
		DataDir:      s.dataDir,
		FrontendPort: port,
		UIPort:       embedded.UIDisabled,
		Logger:       zap.NewNop(),
		LogLevel:     "error",
	}
}

// startServer starts the embedded server on the stack's SQLite file.
func (s *chaosStack) startServer(port int) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	srv, err := embedded.Start(ctx, s.serverConfig(port))
	if err != nil {
		return fmt.Errorf("start embedded Temporal on port %d: %w", port, err)
	}
	s.mu.Lock()
	s.server = srv
	s.mu.Unlock()
	return nil
}

// restartServer stops the embedded server and starts it again on the same SQLite file and
// port; the clients reconnect by themselves.
func (s *chaosStack) restartServer(pause time.Duration) error {
	s.mu.Lock()
	srv := s.server
	s.server = nil
	s.mu.Unlock()
	down := time.Now()
	if err := srv.Stop(); err != nil {
		return fmt.Errorf("stop embedded Temporal: %w", err)
	}
	time.Sleep(pause)
	var err error
	for range 10 { // the port may linger for a moment after the stop
		if err = s.startServer(s.port); err == nil {
			break
		}
		var inUse *embedded.PortInUseError
		if !errors.As(err, &inUse) {
			return err
		}
		time.Sleep(500 * time.Millisecond)
	}
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.serverRestarts++
	s.downtime += time.Since(down)
	s.mu.Unlock()
	return nil
}

// startWorker starts a new worker instance.
func (s *chaosStack) startWorker() error {
	w, err := newWorker(s.client, s.tz, s.sender, []interceptor.WorkerInterceptor{s.retries})
	if err != nil {
		return err
	}
	if err := w.Start(); err != nil {
		return fmt.Errorf("start worker: %w", err)
	}
	s.mu.Lock()
	s.worker = w
	s.mu.Unlock()
	return nil
}

// restartWorker stops the worker (running activities get workerStopTimeout to finish) and
// starts a new instance.
func (s *chaosStack) restartWorker(pause time.Duration) error {
	s.mu.Lock()
	w := s.worker
	s.worker = nil
	s.mu.Unlock()
	w.Stop()
	time.Sleep(pause)
	if err := s.startWorker(); err != nil {
		return err
	}
	s.mu.Lock()
	s.workerRestarts++
	s.mu.Unlock()
	return nil
}

// restarts returns the faults injected so far.
func (s *chaosStack) restarts() (workers, servers int, downtime time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.workerRestarts, s.serverRestarts, s.downtime
}

// stop stops the worker, the client and the server.
func (s *chaosStack) stop() {
	s.mu.Lock()
	w, srv := s.worker, s.server
	s.mu.Unlock()
	if w != nil {
		w.Stop()
	}
	if s.client != nil {
		s.client.Close()
	}
	if srv != nil {
		if err := srv.Stop(); err != nil {
			s.t.Errorf("stop embedded Temporal: %v", err)
		}
	}
}

// requireEncryptedInput checks that the user's workflow input is stored encrypted: the
// stack runs with the payload codec, as production does.
func (s *chaosStack) requireEncryptedInput(ctx context.Context, userID string) {
	s.t.Helper()
	resp, err := s.client.WorkflowService().GetWorkflowExecutionHistory(ctx, &workflowservice.GetWorkflowExecutionHistoryRequest{
		Namespace: s.namespace,
		Execution: &commonpb.WorkflowExecution{WorkflowId: workflows.WorkflowID(userID)},
	})
	require.NoError(s.t, err)
	events := resp.GetHistory().GetEvents()
	require.NotEmpty(s.t, events)
	input := events[0].GetWorkflowExecutionStartedEventAttributes().GetInput().GetPayloads()
	require.NotEmpty(s.t, input)
	require.Equal(s.t, codec.EncodingEncrypted, string(input[0].GetMetadata()[codec.MetadataEncoding]))
}

// timeouts counts the timeouts in the user's workflow history: activities whose last
// attempt followed a timed-out one, and workflow tasks, whose results never arrived (a
// worker or the server stopped under them). Retried attempts are not events: an activity
// started event names the last failure before it.
func (s *chaosStack) timeouts(ctx context.Context, userID string) (activities, workflowTasks int, err error) {
	it := s.client.GetWorkflowHistory(ctx, workflows.WorkflowID(userID), "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			return activities, workflowTasks, fmt.Errorf("history of user %s: %w", userID, err)
		}
		switch e.GetEventType() {
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT:
			activities++
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_STARTED:
			if e.GetActivityTaskStartedEventAttributes().GetLastFailure().GetTimeoutFailureInfo() != nil {
				activities++
			}
		case enumspb.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT:
			workflowTasks++
		}
	}
	return activities, workflowTasks, nil
}
