package e2e

import (
	"time"

	"github.com/qesflow/qesflow/treezorsim"
)

// chaosWebhookVariants are the documented delivery variants the chaos suite switches on: both
// envelope forms, both media types, raw UTF-8 and unescaped "/", PHP shapes, QES payloads
// without userId (routed by every identification id of the run), reordering across actions,
// user.kycrequest, card top-ups besides the SEPA transfer, Treezor's placeholder payin userId
// and a second wallet receiving the transfer (payins routed by the wallets the workflow reads
// at Treezor). The one-minute retry cadence would outlast the suite.
func chaosWebhookVariants() treezorsim.WebhookVariants {
	v := treezorsim.AllWebhookVariants()
	v.HoldMax = 500 * time.Millisecond
	return v
}
