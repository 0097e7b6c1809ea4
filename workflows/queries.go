package workflows

import (
	"slices"
	"strings"

	"go.temporal.io/sdk/workflow"
)

// registerQueries registers the status (internal) and user-status (end-user-safe) queries.
func (o *onboarding) registerQueries(ctx workflow.Context) error {
	if err := workflow.SetQueryHandlerWithOptions(ctx, QueryStatus, func() (Status, error) {
		return o.status(), nil
	}, workflow.QueryHandlerOptions{Description: "internal view for operators and compliance"}); err != nil {
		return err
	}
	return workflow.SetQueryHandlerWithOptions(ctx, QueryUserStatus, func() (UserStatus, error) {
		return o.userStatus(), nil
	}, workflow.QueryHandlerOptions{Description: "end-user-safe view: never shows fraud"})
}

// status is the internal view. It never includes the identification URL.
func (o *onboarding) status() Status {
	s := Status{
		UserID:            o.in.UserID,
		State:             o.st.State,
		Attempt:           o.st.Attempt,
		MaxAttempts:       o.maxAttempts(),
		Country:           o.country(),
		IdentificationID:  o.st.IdentificationID,
		KYCReview:         o.st.KYCReview,
		KYCLevel:          o.st.KYCLevel,
		ComplianceNote:    o.st.ComplianceNote,
		SEPAValidated:     o.st.SEPAValidated,
		WalletID:          o.in.WalletID,
		Timeline:          slices.Clone(o.st.Timeline),
		UpdatedAt:         o.st.UpdatedAt,
		ContinuedAsNewCnt: o.st.ContinuedAsNew,
		Escalated:         o.st.Escalated,
		Escalations:       o.st.Escalations,
		ProviderResult:    o.st.ProviderResult,
		DocumentDownloads: slices.Clone(o.st.Documents),
		TimelineDropped:   o.st.TimelineDropped,
		Events:            o.eventDelivery(),
	}
	if s.Timeline == nil {
		s.Timeline = []TimelineEntry{}
	}
	if r := o.st.Reason; r != nil {
		s.ReasonCode, s.ReasonMessage, s.ReasonCategory, s.ReasonPolicy = r.Code, r.Message, string(r.Category), string(r.Policy)
	}
	if e := o.st.InitError; e != nil && o.st.State == StateUserDataIncomplete {
		s.MissingFields = slices.Clone(e.MissingFields)
	}
	if !o.st.Deadline.IsZero() {
		d := o.st.Deadline
		s.Deadline = &d
	}
	for _, d := range o.st.Documents {
		s.Documents = append(s.Documents, d.DocumentID)
	}
	return s
}

// result is what the workflow returns when the onboarding ends.
func (o *onboarding) result() Result {
	r := Result{
		UserID:    o.in.UserID,
		State:     o.st.State,
		Attempts:  o.st.Attempt,
		KYCReview: o.st.KYCReview,
		Note:      o.st.Note,
	}
	if o.st.Reason != nil {
		r.ReasonCode, r.ReasonMessage = o.st.Reason.Code, o.st.Reason.Message
	}
	for _, key := range o.st.Seen {
		if h, ok := strings.CutPrefix(key, "sha256:"); ok {
			r.AppliedHashes = append(r.AppliedHashes, h)
		}
	}
	if over := len(r.AppliedHashes) - MaxPriorWebhooks; over > 0 {
		r.AppliedHashes = r.AppliedHashes[over:]
	}
	return r
}
