package workflows

import (
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/qesflow/qesflow/treezor"
)

// Defaults of Policy: the policy of every onboarding unless overridden.
const (
	DefaultMaxAttempts        = 3
	DefaultRetryBackoff       = time.Minute // doubled for each further attempt
	DefaultUserTimeout        = 7 * 24 * time.Hour
	DefaultProviderTimeout    = 2 * 24 * time.Hour
	DefaultSEPATimeout        = 14 * 24 * time.Hour
	DefaultKYCReviewTimeout   = 10 * 24 * time.Hour
	DefaultComplianceTimeout  = 5 * 24 * time.Hour
	DefaultDocumentWaitWindow = 10 * time.Minute
	DefaultTreezorRetryWindow = 24 * time.Hour
	DefaultContinueAsNewAfter = 5000
	DefaultEventRetryWindow   = 3 * 24 * time.Hour
	// MaxRetryBackoff caps the doubling backoff between attempts.
	MaxRetryBackoff = 24 * time.Hour
)

// DefaultPolicy returns the policy an onboarding follows when Input.Policy leaves a
// field zero:
//
//   - MaxAttempts 3 identifications (a compliance "clear" grants one more);
//   - RetryBackoff 1 min before attempt 2, doubled for each further attempt (RETRY_NOW
//     reasons start the next attempt at once);
//   - UserTimeout 7 days: no user progress after the URL was issued (AWAITING_USER), or
//     no restart in WAITING_FOR_USER / USER_DATA_INCOMPLETE → EXPIRED;
//   - ProviderTimeout 2 days: no outcome from the provider in IN_PROGRESS /
//     PROVIDER_REVIEW → EXPIRED;
//   - SEPATimeout 14 days: no validated SEPA payin (country DE) → EXPIRED;
//   - KYCReviewTimeout 10 days: no KYC decision → KYC_REVIEW_OVERDUE (keeps waiting);
//   - ComplianceTimeout 5 days: no compliance decision → escalated (keeps waiting);
//   - DownloadDocuments off; DocumentWaitWindow 10 min to wait for document.create;
//   - TreezorRetryWindow 24 h of retries while Treezor is unavailable;
//   - ContinueAsNewAfter 5,000 history events;
//   - EventRetryWindow 3 days of retries of one outbound event;
//   - ReasonPolicies none: the treezor reason catalog decides.
func DefaultPolicy() Policy {
	off := false
	return Policy{
		MaxAttempts:        DefaultMaxAttempts,
		RetryBackoff:       DefaultRetryBackoff,
		UserTimeout:        DefaultUserTimeout,
		ProviderTimeout:    DefaultProviderTimeout,
		SEPATimeout:        DefaultSEPATimeout,
		KYCReviewTimeout:   DefaultKYCReviewTimeout,
		ComplianceTimeout:  DefaultComplianceTimeout,
		DownloadDocuments:  &off,
		DocumentWaitWindow: DefaultDocumentWaitWindow,
		TreezorRetryWindow: DefaultTreezorRetryWindow,
		ContinueAsNewAfter: DefaultContinueAsNewAfter,
		EventRetryWindow:   DefaultEventRetryWindow,
	}
}

// Policy is the policy an onboarding follows: an override resolved against the defaults, every
// field set. Input carries only the PolicyOverride; the workflow resolves it.
type Policy PolicyOverride

// resolvePolicy fills the zero fields of o with the defaults.
func resolvePolicy(o *PolicyOverride) Policy {
	p := DefaultPolicy()
	if o == nil {
		return p
	}
	setInt(&p.MaxAttempts, o.MaxAttempts)
	setDuration(&p.RetryBackoff, o.RetryBackoff)
	setDuration(&p.UserTimeout, o.UserTimeout)
	setDuration(&p.ProviderTimeout, o.ProviderTimeout)
	setDuration(&p.SEPATimeout, o.SEPATimeout)
	setDuration(&p.KYCReviewTimeout, o.KYCReviewTimeout)
	setDuration(&p.ComplianceTimeout, o.ComplianceTimeout)
	setDuration(&p.DocumentWaitWindow, o.DocumentWaitWindow)
	setDuration(&p.TreezorRetryWindow, o.TreezorRetryWindow)
	setInt(&p.ContinueAsNewAfter, o.ContinueAsNewAfter)
	setDuration(&p.EventRetryWindow, o.EventRetryWindow)
	if o.DownloadDocuments != nil {
		on := *o.DownloadDocuments
		p.DownloadDocuments = &on
	}
	if len(o.ReasonPolicies) > 0 {
		p.ReasonPolicies = maps.Clone(o.ReasonPolicies)
	}
	return p
}

func setInt(dst *int, v int) {
	if v != 0 {
		*dst = v
	}
}

func setDuration(dst *time.Duration, v time.Duration) {
	if v != 0 {
		*dst = v
	}
}

// validate rejects an override that cannot be followed.
func (o *PolicyOverride) validate() error {
	if o == nil {
		return nil
	}
	if o.MaxAttempts < 0 || o.MaxAttempts > 20 {
		return fmt.Errorf("maxAttempts %d outside 0–20", o.MaxAttempts)
	}
	if o.ContinueAsNewAfter < 0 {
		return fmt.Errorf("continueAsNewAfter %d is negative", o.ContinueAsNewAfter)
	}
	durations := []struct {
		name string
		d    time.Duration
	}{
		{"retryBackoff", o.RetryBackoff}, {"userTimeout", o.UserTimeout},
		{"providerTimeout", o.ProviderTimeout}, {"sepaTimeout", o.SEPATimeout},
		{"kycReviewTimeout", o.KYCReviewTimeout}, {"complianceTimeout", o.ComplianceTimeout},
		{"documentWaitWindow", o.DocumentWaitWindow}, {"treezorRetryWindow", o.TreezorRetryWindow},
		{"eventRetryWindow", o.EventRetryWindow},
	}
	for _, d := range durations {
		if d.d < 0 {
			return fmt.Errorf("%s %s is negative", d.name, d.d)
		}
	}
	// Sorted, so every replay reports the same first error.
	//workflowcheck:ignore
	for _, code := range slices.Sorted(maps.Keys(o.ReasonPolicies)) {
		policy := o.ReasonPolicies[code]
		if code < 3001 || code > 3299 {
			return fmt.Errorf("reasonPolicies: code %d outside 3001–3299", code)
		}
		if !policy.Valid() {
			return fmt.Errorf("reasonPolicies: code %d: unknown policy %q", code, policy)
		}
	}
	return nil
}

// reason returns the catalog entry of code with the configured policy applied. A fraud
// code keeps PolicyCompliance whatever the configuration says (DESIGN §1: a fraud
// suspicion is never retried automatically).
func (p Policy) reason(code int) treezor.Reason {
	r := treezor.LookupReason(code)
	if override, ok := p.ReasonPolicies[code]; ok && r.Category != treezor.CategoryFraud {
		r.Policy = override
	}
	if r.Category == treezor.CategoryFraud {
		r.Policy = treezor.PolicyCompliance
	}
	return r
}

// backoff is the wait before attempt next (2, 3, ...): RetryBackoff doubled per attempt
// after the second, capped at MaxRetryBackoff.
func (p Policy) backoff(next int) time.Duration {
	d := p.RetryBackoff
	for i := 2; i < next && d < MaxRetryBackoff; i++ {
		d *= 2
	}
	return min(d, MaxRetryBackoff)
}

// downloadDocuments reports whether QES documents are downloaded before the KYC review.
func (p Policy) downloadDocuments() bool {
	return p.DownloadDocuments != nil && *p.DownloadDocuments
}
