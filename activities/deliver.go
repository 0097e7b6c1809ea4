package activities

import (
	"context"
	"errors"
	"slices"

	"go.temporal.io/sdk/activity"

	"github.com/qesflow/qesflow/outbound"
)

// DeliverEventName is the activity that delivers one outbound event.
const DeliverEventName = "DeliverEvent"

// EventSender delivers outbound events; *outbound.Sender implements it.
type EventSender interface {
	Endpoints() []string
	// Wants reports whether the endpoint receives msg (compliance-only events go to
	// compliance endpoints only).
	Wants(endpoint string, msg outbound.Message) bool
	Send(ctx context.Context, endpoint string, msg outbound.Message) error
}

var _ EventSender = (*outbound.Sender)(nil)

// DeliverEventInput is one event and the endpoints that no longer want events.
type DeliverEventInput struct {
	Message outbound.Message `json:"message"`
	Skip    []string         `json:"skip,omitempty"`
}

// DeliverEventResult names the endpoints that took the event and those that answered 410.
type DeliverEventResult struct {
	Delivered []string `json:"delivered,omitempty"`
	Gone      []string `json:"gone,omitempty"`
}

// DeliverEvent sends one event to every configured endpoint not skipped. An endpoint that
// failed fails the activity, which Temporal retries; the endpoints already done in an
// earlier attempt are kept in the heartbeat and not sent to again. Without a sender there
// is no endpoint, and the event is done.
func (a *Activities) DeliverEvent(ctx context.Context, in DeliverEventInput) (DeliverEventResult, error) {
	var res DeliverEventResult
	if a.Events == nil {
		return res, nil
	}
	if activity.HasHeartbeatDetails(ctx) {
		_ = activity.GetHeartbeatDetails(ctx, &res)
	}
	var errs []error
	for _, ep := range a.Events.Endpoints() {
		if slices.Contains(in.Skip, ep) || slices.Contains(res.Delivered, ep) || slices.Contains(res.Gone, ep) ||
			!a.Events.Wants(ep, in.Message) {
			continue
		}
		err := a.Events.Send(ctx, ep, in.Message)
		switch {
		case err == nil:
			res.Delivered = append(res.Delivered, ep)
		case errors.Is(err, outbound.ErrGone):
			res.Gone = append(res.Gone, ep)
		default:
			errs = append(errs, err)
		}
		activity.RecordHeartbeat(ctx, res)
	}
	if err := errors.Join(errs...); err != nil {
		return res, err
	}
	return res, nil
}
