package main

import (
	"flag"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/qesflow/qesflow/treezor"
	"github.com/qesflow/qesflow/workflows"
)

// policyFlags configure the policy new onboardings start with (workflows.Input.Policy). Zero
// values keep the workflow's defaults (workflows.DefaultPolicy). A running onboarding keeps the
// policy it started with.
type policyFlags struct {
	maxAttempts                                      int
	retryBackoff, userTimeout, providerTimeout       time.Duration
	sepaTimeout, kycReviewTimeout, complianceTimeout time.Duration
	documentWaitWindow, treezorRetryWindow           time.Duration
	eventRetryWindow                                 time.Duration
	downloadDocuments                                optionalBool
	reasonPolicies                                   string
}

func addPolicyFlags(fs *flag.FlagSet) *policyFlags {
	f := &policyFlags{}
	envVar(fs, &f.maxAttempts, "max-attempts", "QESFLOW_MAX_ATTEMPTS", 0, fmt.Sprintf("identification attempts per onboarding (0: %d)", workflows.DefaultMaxAttempts))
	durations := []struct {
		dst        *time.Duration
		name, env  string
		usage      string
		defaultVal time.Duration
	}{
		{&f.retryBackoff, "retry-backoff", "QESFLOW_RETRY_BACKOFF", "first wait between attempts, doubled each time", workflows.DefaultRetryBackoff},
		{&f.userTimeout, "user-timeout", "QESFLOW_USER_TIMEOUT", "time the user has to act before the onboarding expires", workflows.DefaultUserTimeout},
		{&f.providerTimeout, "provider-timeout", "QESFLOW_PROVIDER_TIMEOUT", "time the provider has to conclude before the onboarding expires", workflows.DefaultProviderTimeout},
		{&f.sepaTimeout, "sepa-timeout", "QESFLOW_SEPA_TIMEOUT", "time for the SEPA payin (country DE) before the onboarding expires", workflows.DefaultSEPATimeout},
		{&f.kycReviewTimeout, "kyc-review-timeout", "QESFLOW_KYC_REVIEW_TIMEOUT", "time before a KYC review is flagged overdue", workflows.DefaultKYCReviewTimeout},
		{&f.complianceTimeout, "compliance-timeout", "QESFLOW_COMPLIANCE_TIMEOUT", "time before a pending compliance decision is escalated", workflows.DefaultComplianceTimeout},
		{&f.documentWaitWindow, "document-wait-window", "QESFLOW_DOCUMENT_WAIT_WINDOW", "how long to wait for document.create after a success", workflows.DefaultDocumentWaitWindow},
		{&f.treezorRetryWindow, "treezor-retry-window", "QESFLOW_TREEZOR_RETRY_WINDOW", "how long Treezor calls are retried while Treezor is unavailable", workflows.DefaultTreezorRetryWindow},
		{&f.eventRetryWindow, "event-retry-window", "QESFLOW_EVENT_RETRY_WINDOW", "how long one outbound event is retried while its receiver fails (later events wait behind it)", workflows.DefaultEventRetryWindow},
	}
	for _, d := range durations {
		envVar(fs, d.dst, d.name, d.env, 0, fmt.Sprintf("%s (0: %s)", d.usage, d.defaultVal))
	}
	if v, ok := os.LookupEnv("QESFLOW_DOWNLOAD_DOCUMENTS"); ok {
		_ = f.downloadDocuments.Set(v) // an invalid value is reported by override
		f.downloadDocuments.envRaw = v
	}
	fs.Var(&f.downloadDocuments, "download-documents",
		envHelp("download the QES documents before the KYC review (default false)", "QESFLOW_DOWNLOAD_DOCUMENTS"))
	envVar(fs, &f.reasonPolicies, "reason-policies", "QESFLOW_REASON_POLICIES", "", `reason-code policy overrides, e.g. "3011=TERMINAL_DECLINED,3016=RETRY_NOW" (fraud codes always go to compliance)`)
	return f
}

// override returns the policy override the flags describe; nil when every flag keeps the
// default.
func (f *policyFlags) override() (*workflows.PolicyOverride, error) {
	if f.downloadDocuments.envRaw != "" {
		if _, err := strconv.ParseBool(f.downloadDocuments.envRaw); err != nil {
			return nil, fmt.Errorf("QESFLOW_DOWNLOAD_DOCUMENTS=%q: want true or false", f.downloadDocuments.envRaw)
		}
	}
	p := workflows.PolicyOverride{
		MaxAttempts:        f.maxAttempts,
		RetryBackoff:       f.retryBackoff,
		UserTimeout:        f.userTimeout,
		ProviderTimeout:    f.providerTimeout,
		SEPATimeout:        f.sepaTimeout,
		KYCReviewTimeout:   f.kycReviewTimeout,
		ComplianceTimeout:  f.complianceTimeout,
		DocumentWaitWindow: f.documentWaitWindow,
		TreezorRetryWindow: f.treezorRetryWindow,
		EventRetryWindow:   f.eventRetryWindow,
	}
	if f.downloadDocuments.set {
		on := f.downloadDocuments.value
		p.DownloadDocuments = &on
	}
	if f.reasonPolicies != "" {
		policies, err := treezor.ParsePolicyOverrides(f.reasonPolicies)
		if err != nil {
			return nil, fmt.Errorf("--reason-policies: %w", err)
		}
		p.ReasonPolicies = policies
	}
	if err := (workflows.Input{UserID: "policy-check", Policy: &p}).Validate(); err != nil {
		return nil, err
	}
	if isZeroPolicy(p) {
		return nil, nil
	}
	return &p, nil
}

func isZeroPolicy(p workflows.PolicyOverride) bool {
	return p.MaxAttempts == 0 && p.RetryBackoff == 0 && p.UserTimeout == 0 && p.ProviderTimeout == 0 &&
		p.SEPATimeout == 0 && p.KYCReviewTimeout == 0 && p.ComplianceTimeout == 0 &&
		p.DocumentWaitWindow == 0 && p.TreezorRetryWindow == 0 && p.DownloadDocuments == nil &&
		len(p.ReasonPolicies) == 0 && p.ContinueAsNewAfter == 0 && p.EventRetryWindow == 0
}
