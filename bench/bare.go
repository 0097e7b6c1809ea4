package bench

import (
	"context"
	"errors"
	"fmt"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/workflow"

	"github.com/qesflow/qesflow/treezor"
	"github.com/qesflow/qesflow/workflows"
)

// The bare workflow: as many activities, signals and an update as one successful onboarding,
// and nothing else (no HTTP, no search attributes, no state machine).
const (
	BareTaskQueue       = "qesflow-bench"
	BareWorkflowName    = "BenchBareFlow"
	SinkWorkflowName    = "BenchSignalSink"
	bareUpdate          = "ready"
	bareFirstActivity   = "BenchInitiate"
	bareSecondActivity  = "BenchRequestReview"
	bareSignalsBefore   = 4 // qes.created, qes.processing, qes.finalized, document.create
	bareSignalsAfter    = 1 // user.kycreview
	bareActivityTimeout = time.Minute
)

// BareSignalsPerFlow is the number of signals one bare flow receives, as one onboarding
// receives webhooks (the simulator is configured to send the same five).
const BareSignalsPerFlow = bareSignalsBefore + bareSignalsAfter

// BareFlow runs the first activity (the update waits for it, as the onboarding API waits for
// the identification URL), receives four signals, runs the second activity (whose completion
// makes the fifth signal arrive, as the KYC review request makes the decision webhook arrive)
// and receives the fifth signal.
func BareFlow(ctx workflow.Context, id string) (string, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: bareActivityTimeout})
	first := ""
	if err := workflow.SetUpdateHandler(ctx, bareUpdate, func(ctx workflow.Context) (string, error) {
		err := workflow.Await(ctx, func() bool { return first != "" })
		return first, err
	}); err != nil {
		return "", fmt.Errorf("register update: %w", err)
	}
	if err := workflow.ExecuteActivity(ctx, bareFirstActivity, id).Get(ctx, &first); err != nil {
		return "", err
	}
	events := workflow.GetSignalChannel(ctx, workflows.SignalWebhook)
	for range bareSignalsBefore {
		var ev treezor.Event
		events.Receive(ctx, &ev)
	}
	if err := workflow.ExecuteActivity(ctx, bareSecondActivity, id).Get(ctx, nil); err != nil {
		return "", err
	}
	var last treezor.Event
	events.Receive(ctx, &last)
	return last.Type, nil
}

// SignalSink receives webhook signals until it is terminated: the target of the bridge section.
func SignalSink(ctx workflow.Context) error {
	events := workflow.GetSignalChannel(ctx, workflows.SignalWebhook)
	for {
		var ev treezor.Event
		events.Receive(ctx, &ev)
	}
}

// bareActivities are the bare flow's two activities. The second one sends the flow's last
// signal once it has returned, from a goroutine, as the simulator sends the KYC decision.
type bareActivities struct {
	signal func(ctx context.Context, workflowID string, ev treezor.Event) error
}

// BenchInitiate answers at once, as an identification that is issued instantly.
func (a *bareActivities) BenchInitiate(_ context.Context, id string) (string, error) {
	return "identification-" + id, nil
}

// BenchRequestReview answers at once and then sends the decision signal.
func (a *bareActivities) BenchRequestReview(ctx context.Context, id string) error {
	wid := activity.GetInfo(ctx).WorkflowExecution.ID
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_ = a.signal(ctx, wid, bareEvent(wid, treezor.EventUserKYCReview, BareSignalsPerFlow))
	}()
	return nil
}

// bareEvent is the payload of one bare signal: a treezor.Event of the size a webhook signals.
func bareEvent(workflowID, eventType string, n int) treezor.Event {
	return treezor.Event{
		WebhookID: fmt.Sprintf("%s-%d", workflowID, n),
		Type:      eventType,
		CreatedAt: time.Now().UTC(),
		Known:     true,
		UserID:    workflowID,
	}
}

// bareSignalTypes are the event types of the four signals the driver sends.
var bareSignalTypes = [bareSignalsBefore]string{
	treezor.EventQESCreated, treezor.EventQESProcessing, treezor.EventQESFinalized, treezor.EventDocumentCreate,
}

// runBareFlow drives one bare flow: Update-With-Start, four signals, then the result.
func runBareFlow(ctx context.Context, c client.Client, id string) error {
	wid := "bench-bare-" + id
	start := c.NewWithStartWorkflowOperation(client.StartWorkflowOptions{
		ID:                       wid,
		TaskQueue:                BareTaskQueue,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
	}, BareWorkflowName, id)
	handle, err := c.UpdateWithStartWorkflow(ctx, client.UpdateWithStartWorkflowOptions{
		StartWorkflowOperation: start,
		UpdateOptions: client.UpdateWorkflowOptions{
			UpdateName:   bareUpdate,
			WaitForStage: client.WorkflowUpdateStageCompleted,
		},
	})
	if err != nil {
		return fmt.Errorf("start bare flow %s: %w", wid, err)
	}
	var first string
	if err := handle.Get(ctx, &first); err != nil {
		return fmt.Errorf("bare flow %s update: %w", wid, err)
	}
	for i, t := range bareSignalTypes {
		if err := c.SignalWorkflow(ctx, wid, "", workflows.SignalWebhook, bareEvent(wid, t, i+1)); err != nil {
			return fmt.Errorf("signal bare flow %s: %w", wid, err)
		}
	}
	var last string
	if err := workflowResult(ctx, c, wid, handle.RunID(), &last); err != nil {
		return fmt.Errorf("bare flow %s: %w", wid, err)
	}
	if last != treezor.EventUserKYCReview {
		return errors.New("bare flow " + wid + " ended on an unexpected signal " + last)
	}
	return nil
}
