package workflows

import (
	"slices"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/qesflow/qesflow/activities"
	"github.com/qesflow/qesflow/outbound"
)

// EventDeliveryWorkflowName is the workflow that delivers the events an ended onboarding
// left undelivered; the worker registers QESEventDelivery under it.
const EventDeliveryWorkflowName = "QESEventDelivery"

// EventDeliveryID is the workflow id of the delivery workflow of the user's onboarding
// run runID: derived from the onboarding's workflow id and the run, so a retried workflow
// task starts the same one and each run that ends has its own.
func EventDeliveryID(userID, runID string) string {
	return WorkflowID(userID) + "-events-" + runID
}

// EventDeliveryInput is the queue an ended onboarding hands over.
type EventDeliveryInput struct {
	// Messages are the undelivered events, oldest first, with their webhook ids.
	Messages []outbound.Message `json:"messages"`
	// Gone are the endpoints that answered 410 Gone: they get none of these.
	Gone []string `json:"gone,omitempty"`
	// RetryWindow bounds the retries of each event (the onboarding's EventRetryWindow).
	RetryWindow time.Duration `json:"retryWindow"`
}

// EventDeliveryResult counts what became of the handed-over events.
type EventDeliveryResult struct {
	Delivered   int      `json:"delivered"`
	Undelivered int      `json:"undelivered,omitempty"`
	Gone        []string `json:"gone,omitempty"`
}

// QESEventDelivery delivers the events one at a time, in order, each retried with backoff
// for the retry window with its own webhook id, as the onboarding would have.
func QESEventDelivery(ctx workflow.Context, in EventDeliveryInput) (EventDeliveryResult, error) {
	logger := workflow.GetLogger(ctx)
	res := EventDeliveryResult{Gone: slices.Clone(in.Gone)}
	actx := workflow.WithActivityOptions(ctx, eventDeliveryOptions(in.RetryWindow))
	for _, msg := range in.Messages {
		var r activities.DeliverEventResult
		err := workflow.ExecuteActivity(actx, activities.DeliverEventName,
			activities.DeliverEventInput{Message: msg, Skip: slices.Clone(res.Gone)}).Get(ctx, &r)
		for _, ep := range r.Gone {
			if !slices.Contains(res.Gone, ep) {
				res.Gone = append(res.Gone, ep)
				logger.Error("Event endpoint answered 410 Gone; it gets no further events", "endpoint", ep)
			}
		}
		switch {
		case err != nil:
			res.Undelivered++
			logger.Error("Event not delivered within the retry window", "event", msg.Event.Type, "error", err)
		case len(r.Delivered) > 0:
			res.Delivered++
		}
	}
	return res, nil
}
