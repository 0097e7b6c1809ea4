package e2e

import (
	"context"
	"sync/atomic"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/interceptor"
	sdkworker "go.temporal.io/sdk/worker"

	"github.com/qesflow/qesflow/outbound"
	"github.com/qesflow/qesflow/treezor"
	"github.com/qesflow/qesflow/worker"
)

// newWorker builds a worker instance as `qesflow worker` does, with the interceptors.
func newWorker(c client.Client, tz *treezor.Client, events *outbound.Sender, interceptors []interceptor.WorkerInterceptor) (sdkworker.Worker, error) {
	return worker.New(c, worker.Options{
		Treezor:                          tz,
		Events:                           events,
		StopTimeout:                      workerStopTimeout,
		MaxConcurrentWorkflowTaskPollers: 4,
		MaxConcurrentActivityTaskPollers: 4,
		Interceptors:                     interceptors,
	})
}

// activityRetryCounter counts activity executions and the retries among them (attempt > 1),
// across worker instances.
type activityRetryCounter struct {
	interceptor.WorkerInterceptorBase
	executions, retries atomic.Int64
}

// InterceptActivity implements interceptor.WorkerInterceptor.
func (c *activityRetryCounter) InterceptActivity(ctx context.Context, next interceptor.ActivityInboundInterceptor) interceptor.ActivityInboundInterceptor {
	i := &countingActivityInbound{counter: c}
	i.Next = next
	return i
}

type countingActivityInbound struct {
	interceptor.ActivityInboundInterceptorBase
	counter *activityRetryCounter
}

func (i *countingActivityInbound) ExecuteActivity(ctx context.Context, in *interceptor.ExecuteActivityInput) (any, error) {
	i.counter.executions.Add(1)
	if activity.GetInfo(ctx).Attempt > 1 {
		i.counter.retries.Add(1)
	}
	return i.Next.ExecuteActivity(ctx, in)
}
