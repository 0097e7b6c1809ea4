package scaleout

import (
	"context"
	"fmt"

	"github.com/qesflow/qesflow/workflows"
)

// scenario is one kind of onboarding: what the user, Treezor and compliance do, and what
// the onboarding must end with.
type scenario struct {
	name string
	// play drives the onboarding from its first identification to its last decision.
	play func(ctx context.Context, d *driver, userID, identificationID string) error
	// Expected outcome.
	want            workflows.State
	attempts        int // attempts the onboarding used
	identifications int // identifications created at Treezor
	kycReviews      int // KYC review requests Treezor received
}

// Reason codes of the scenarios (docs/reasons.md): 3004 (camera issue) invites the user back
// for a new attempt, 3005 (the user declined) is terminal, 3201 is a fraud suspicion.
const (
	codeRetryInvite = 3004
	codeDeclined    = 3005
	codeFraud       = 3201
)

var (
	validated = scenario{name: "validated", play: succeedAndDecide("validate"),
		want: workflows.StateCompletedValidated, attempts: 1, identifications: 1, kycReviews: 1}
	refused = scenario{name: "refused", play: succeedAndDecide("refuse"),
		want: workflows.StateCompletedRefused, attempts: 1, identifications: 1, kycReviews: 1}
	retried = scenario{name: "aborted-retried-validated", play: abortThenSucceed,
		want: workflows.StateCompletedValidated, attempts: 2, identifications: 2, kycReviews: 1}
	declined = scenario{name: "declined", play: declineIdentification,
		want: workflows.StateDeclined, attempts: 1, identifications: 1, kycReviews: 0}
	rejected = scenario{name: "fraud-rejected", play: fraudThenReject,
		want: workflows.StateRejected, attempts: 1, identifications: 1, kycReviews: 0}
)

// planScenarios deals n onboardings out of every ten: 5 validated, 1 refused, 2 aborted then
// validated on a second attempt, 1 declined, 1 fraud suspicion rejected by compliance.
func planScenarios(n int) []scenario {
	deck := []scenario{validated, retried, validated, declined, validated, refused, validated, retried, validated, rejected}
	out := make([]scenario, n)
	for i := range out {
		out[i] = deck[i%len(deck)]
	}
	return out
}

// succeedAndDecide: the identification succeeds, the KYC review is requested, and Treezor's
// KYC desk decides it.
func succeedAndDecide(decision string) func(context.Context, *driver, string, string) error {
	return func(ctx context.Context, d *driver, userID, identificationID string) error {
		if err := d.act(ctx, identificationID, "success", 0); err != nil {
			return err
		}
		if _, err := d.waitState(ctx, userID, workflows.StateKYCReviewPending); err != nil {
			return err
		}
		return d.decideKYC(ctx, userID, decision)
	}
}

// abortThenSucceed: the user abandons the first identification for a reason that invites
// them back; the onboarding creates a second identification, which succeeds.
func abortThenSucceed(ctx context.Context, d *driver, userID, first string) error {
	if err := d.act(ctx, first, "abort", codeRetryInvite); err != nil {
		return err
	}
	st, err := d.waitFor(ctx, userID, "a second identification", func(s workflows.Status) bool {
		return s.Attempt == 2 && s.State == workflows.StateAwaitingUser && s.IdentificationID != "" && s.IdentificationID != first
	})
	if err != nil {
		return err
	}
	return succeedAndDecide("validate")(ctx, d, userID, st.IdentificationID)
}

// declineIdentification: the user declines; the onboarding ends at once.
func declineIdentification(ctx context.Context, d *driver, _, identificationID string) error {
	return d.act(ctx, identificationID, "abort", codeDeclined)
}

// fraudThenReject: the provider suspects fraud; compliance rejects the user.
func fraudThenReject(ctx context.Context, d *driver, userID, identificationID string) error {
	if err := d.act(ctx, identificationID, "fraud", codeFraud); err != nil {
		return err
	}
	if _, err := d.waitState(ctx, userID, workflows.StateComplianceReview); err != nil {
		return err
	}
	if err := d.complianceDecision(ctx, userID, workflows.DecisionReject); err != nil {
		return fmt.Errorf("user %s: %w", userID, err)
	}
	return nil
}
