package workflows

import (
	"go.temporal.io/sdk/workflow"

	"github.com/qesflow/qesflow/treezor"
)

// receiveWebhook takes the next webhook event off the signal channel.
func receiveWebhook(ctx workflow.Context, c workflow.ReceiveChannel) treezor.Event {
	var ev treezor.Event
	c.Receive(ctx, &ev)
	return ev
}

// drainWebhooks applies, in arrival order, every webhook already delivered but not yet
// received, so that none is lost when the run ends or continues as new.
func (o *onboarding) drainWebhooks() {
	for {
		var ev treezor.Event
		if !o.webhooks.ReceiveAsync(&ev) {
			return
		}
		o.onWebhook(ev)
	}
}
