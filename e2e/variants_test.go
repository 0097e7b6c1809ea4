package e2e

import (
	"time"

	"github.com/qesflow/qesflow/treezorsim"
)

// chaosWebhookVariants are the documented delivery variants the chaos suite switches on: both
// envelope forms, both media types, raw UTF-8 and unescaped "/", PHP shapes, reordering across
// actions, user.kycrequest, and card top-ups besides the SEPA transfer. Off, until the workflow
// side lands: Treezor's placeholder payin userId (payins must be routed by wallet), and QES
// payloads without userId (a late event of an earlier identification can be routed only once
// the workflow keeps every identification id of the run searchable, not only the current
// one). The one-minute retry cadence would outlast the suite.
func chaosWebhookVariants() treezorsim.WebhookVariants {
	v := treezorsim.AllWebhookVariants()
	v.PayinPlaceholderUser = false
	v.OmitQESUserID = false
	v.HoldMax = 500 * time.Millisecond
	return v
}
