package e2e

import (
	"time"

	"github.com/qesflow/qesflow/treezorsim"
)

// chaosWebhookVariants are the documented delivery variants the chaos suite switches on: both
// envelope forms, both media types, raw UTF-8 and unescaped "/", PHP shapes, QES payloads
// without userId, reordering across actions, user.kycrequest, card top-ups besides the SEPA
// transfer, Treezor's placeholder payin userId and a second wallet that receives the
// transfer. Payins are then routed by wallet alone, so a payin of a flow that has not
// published its wallets is acknowledged "no onboarding", but for a validated SEPA transfer,
// answered 503 within the bridge's payin grace: the oracle tells the payins that had to
// reach the workflow from the others (checks_test.go, payinMatters).
//
// Off: the one-minute retry cadence, which would outlast the suite.
func chaosWebhookVariants() treezorsim.WebhookVariants {
	v := treezorsim.AllWebhookVariants()
	v.HoldMax = 500 * time.Millisecond
	return v
}
