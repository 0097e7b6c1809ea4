// Package worker builds the Temporal worker of the QES onboarding: the QESOnboarding workflow
// and its activities on one task queue, with concurrency limits and a graceful stop.
package worker

import (
	"cmp"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/interceptor"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"go.uber.org/zap"

	"github.com/qesflow/qesflow/activities"
	"github.com/qesflow/qesflow/workflows"
)

// DefaultStopTimeout is how long a stopping worker lets running activities finish.
const DefaultStopTimeout = 20 * time.Second

// DefaultStickyCacheSize is the sticky workflow cache of a worker whose Options leave it zero,
// instead of the SDK's 10,000. Onboardings wait for days with little history, so a cached one
// saves little when it wakes up (its replay is short) but costs memory for as long as it
// waits; 2,000 keeps cached every onboarding that is in progress at once at the concurrency
// one machine sustains (docs/performance.md has the measurements).
const DefaultStickyCacheSize = 2000

// Options configures the worker. Zero values keep the SDK's defaults unless noted.
type Options struct {
	// TaskQueue defaults to workflows.TaskQueue.
	TaskQueue string

	// MaxConcurrentWorkflowTaskPollers bounds the workflow task pollers, which scale with the
	// load and always keep one on the task queue (see WorkflowTaskPollers); 0:
	// DefaultWorkflowTaskPollers.
	MaxConcurrentWorkflowTaskPollers       int
	MaxConcurrentActivityTaskPollers       int
	MaxConcurrentActivityExecutionSize     int
	MaxConcurrentWorkflowTaskExecutionSize int
	// StickyCacheSize sets the SDK's sticky workflow cache (default DefaultStickyCacheSize),
	// which is process-global: the first worker built sets it for the whole process, later
	// values are ignored (and logged when they differ). It must be set before any worker of
	// the process starts.
	StickyCacheSize int
	// StopTimeout lets running activities finish when the worker stops (default 20 s).
	StopTimeout time.Duration
	// WorkflowRelease is the release of the workflow's changes (workflows.ChangeRelease) that
	// the onboardings this worker starts record: 0 for the newest (workflows.LatestRelease).
	// A rolling upgrade runs the new workers at the old release until no old worker is left.
	WorkflowRelease int

	// Treezor is the Treezor API the activities call (required): a *treezor.Client, or the
	// simulator's client in development.
	Treezor activities.TreezorAPI
	// Documents keeps downloaded QES documents; when nil and DocumentDir is set, files in
	// DocumentDir (activities.FSDocumentStore).
	Documents   activities.DocumentStore
	DocumentDir string
	// MaxDocumentSize bounds one downloaded document (0: the activities' default).
	MaxDocumentSize int64

	// Events delivers the outbound events to the onboarding backend (nil: the onboardings
	// this worker starts queue no event and schedule no delivery).
	Events activities.EventSender

	// Interceptors run around every workflow and activity (none by default).
	Interceptors []interceptor.WorkerInterceptor
	// Logger receives the worker's own logs (the SDK logs through the client's logger).
	Logger *zap.Logger
}

// ErrNoTreezor is returned by New without a Treezor API.
var ErrNoTreezor = errors.New("worker: no Treezor API configured")

// New builds (does not start) the worker: the QESOnboarding workflow registered under
// workflows.WorkflowName and the activities of activities.Activities.
func New(c client.Client, o Options) (sdkworker.Worker, error) {
	if c == nil {
		return nil, errors.New("worker: no Temporal client")
	}
	if o.Treezor == nil {
		return nil, ErrNoTreezor
	}
	o = withDefaults(o)
	release, err := workflows.ReleasePreference(o.WorkflowRelease)
	if err != nil {
		return nil, fmt.Errorf("worker: %w", err)
	}
	setStickyCacheSize(o.StickyCacheSize, o.Logger)

	w := sdkworker.New(c, o.TaskQueue, sdkworker.Options{
		WorkflowTaskPollerBehavior:             WorkflowTaskPollers(o.MaxConcurrentWorkflowTaskPollers),
		MaxConcurrentActivityTaskPollers:       o.MaxConcurrentActivityTaskPollers,
		MaxConcurrentActivityExecutionSize:     o.MaxConcurrentActivityExecutionSize,
		MaxConcurrentWorkflowTaskExecutionSize: o.MaxConcurrentWorkflowTaskExecutionSize,
		WorkerStopTimeout:                      o.StopTimeout,
		Interceptors:                           o.Interceptors,
		PreferredVersionProvider:               release,
	})
	compliance, _ := o.Events.(interface{ HasCompliance() bool })
	w.RegisterWorkflowWithOptions(workflows.NewOnboarding(workflows.Config{
		Events: o.Events != nil, ComplianceEvents: compliance != nil && compliance.HasCompliance(),
	}), workflow.RegisterOptions{Name: workflows.WorkflowName})
	w.RegisterWorkflowWithOptions(workflows.QESEventDelivery, workflow.RegisterOptions{Name: workflows.EventDeliveryWorkflowName})
	w.RegisterActivity(&activities.Activities{
		Treezor:         o.Treezor,
		Store:           o.documentStore(),
		MaxDocumentSize: o.MaxDocumentSize,
		Events:          o.Events,
	})
	o.Logger.Info("worker configured", zap.String("taskQueue", o.TaskQueue),
		zap.Int("workflowTaskPollers", o.MaxConcurrentWorkflowTaskPollers),
		zap.Int("activityTaskPollers", o.MaxConcurrentActivityTaskPollers),
		zap.Int("workflowTaskSlots", o.MaxConcurrentWorkflowTaskExecutionSize),
		zap.Int("activitySlots", o.MaxConcurrentActivityExecutionSize),
		zap.Int("stickyCacheSize", o.StickyCacheSize),
		zap.Int("workflowRelease", cmp.Or(o.WorkflowRelease, workflows.LatestRelease)))
	return w, nil
}

// DefaultWorkflowTaskPollers bounds the workflow task pollers of a worker whose Options leave
// it zero. More pollers take each workflow task sooner, so fewer signals wait for the same
// task: on 2 cores the SDK's bound (100) cut the signals the server took per second to a third
// (docs/performance.md); 2, the SDK's own default count, kept them.
const DefaultWorkflowTaskPollers = 2

// WorkflowTaskPollers is how the worker polls for workflow tasks: separate pollers for the
// task queue and for the worker's sticky queue, up to max (0: DefaultWorkflowTaskPollers).
//
// Not the SDK's default (2 pollers, each choosing its queue per poll): those poll only the
// sticky queue for as long as its last answer reported a backlog there
// (workflowTaskPoller.getNextPollRequest, go.temporal.io/sdk internal_task_pollers.go). Under
// load, with onboardings in flight, the sticky queue nearly always has one, and the first
// workflow task of a new onboarding, which is on the task queue, waited there for seconds
// (up to 17 s measured): POST /v1/onboardings, which answers once that task ran, waited as
// long. The autoscaling behavior keeps a poll open on the task queue at all times
// (workflowAutoscalingBalancer.canPollKind) and still gives the sticky queue priority for
// the other polls.
func WorkflowTaskPollers(max int) sdkworker.PollerBehavior {
	max = cmp.Or(max, DefaultWorkflowTaskPollers)
	return sdkworker.NewPollerBehaviorAutoscaling(sdkworker.PollerBehaviorAutoscalingOptions{
		MinimumNumberOfPollers: 1, InitialNumberOfPollers: max, MaximumNumberOfPollers: max})
}

func withDefaults(o Options) Options {
	if o.TaskQueue == "" {
		o.TaskQueue = workflows.TaskQueue
	}
	if o.StopTimeout <= 0 {
		o.StopTimeout = DefaultStopTimeout
	}
	if o.StickyCacheSize == 0 {
		o.StickyCacheSize = DefaultStickyCacheSize
	}
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
	return o
}

func (o Options) documentStore() activities.DocumentStore {
	if o.Documents != nil {
		return o.Documents
	}
	if o.DocumentDir != "" {
		return activities.FSDocumentStore{Dir: o.DocumentDir}
	}
	return nil
}

var (
	stickyMu   sync.Mutex
	stickySize int // the size set in this process, 0 while unset
)

// setStickyCacheSize sets the process-global sticky cache size once.
func setStickyCacheSize(size int, log *zap.Logger) {
	if size <= 0 {
		return
	}
	stickyMu.Lock()
	defer stickyMu.Unlock()
	if stickySize != 0 {
		if size != stickySize {
			log.Warn("sticky workflow cache size is process-global and already set; ignoring",
				zap.Int("requested", size), zap.Int("current", stickySize))
		}
		return
	}
	sdkworker.SetStickyWorkflowCacheSize(size)
	stickySize = size
}
