package workflows

import (
	"strconv"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// Typed keys of the custom search attributes (see SearchAttributeTypes).
var (
	SAKeyTreezorUserID       = temporal.NewSearchAttributeKeyKeyword(SATreezorUserID)
	SAKeyQESState            = temporal.NewSearchAttributeKeyKeyword(SAQESState)
	SAKeyQESAttempt          = temporal.NewSearchAttributeKeyInt64(SAQESAttempt)
	SAKeyQESReasonCode       = temporal.NewSearchAttributeKeyInt64(SAQESReasonCode)
	SAKeyQESIdentificationID = temporal.NewSearchAttributeKeyKeyword(SAQESIdentificationID)
	SAKeyKYCReview           = temporal.NewSearchAttributeKeyKeyword(SAKYCReview)
)

// StartSearchAttributes are the search attributes a starter sets when it starts the
// onboarding of userID, so that it is findable before its first workflow task.
func StartSearchAttributes(userID string) temporal.SearchAttributes {
	return temporal.NewSearchAttributes(
		SAKeyTreezorUserID.ValueSet(userID),
		SAKeyQESState.ValueSet(string(StateInitiating)),
	)
}

// searchAttrs are the values published to visibility. Ids and codes only, never PII.
type searchAttrs struct {
	userID, state, identificationID, kycReview string
	attempt, reasonCode                        int64
}

func (o *onboarding) searchAttrs() searchAttrs {
	sa := searchAttrs{
		userID:           o.in.UserID,
		state:            string(o.st.State),
		identificationID: o.st.IdentificationID,
		kycReview:        o.st.KYCReview.String(),
		attempt:          int64(o.st.Attempt),
	}
	if o.st.Reason != nil {
		sa.reasonCode = int64(o.st.Reason.Code)
	}
	return sa
}

// publish upserts the search attributes that changed since the last publish (all of them
// the first time in a run) and shows the state in the UI's current details.
func (o *onboarding) publish(ctx workflow.Context) {
	o.upsertSearchAttributes(ctx)
	if d := o.details(); d != o.shownDetails {
		workflow.SetCurrentDetails(ctx, d)
		o.shownDetails = d
	}
}

func (o *onboarding) upsertSearchAttributes(ctx workflow.Context) {
	next := o.searchAttrs()
	prev, first := o.published, o.published == nil
	if !first && *prev == next {
		return
	}
	var updates []temporal.SearchAttributeUpdate
	keyword := func(key temporal.SearchAttributeKeyKeyword, old, v string) {
		if first || old != v {
			if v == "" {
				updates = append(updates, key.ValueUnset())
			} else {
				updates = append(updates, key.ValueSet(v))
			}
		}
	}
	integer := func(key temporal.SearchAttributeKeyInt64, old, v int64) {
		if first || old != v {
			updates = append(updates, key.ValueSet(v))
		}
	}
	var old searchAttrs
	if !first {
		old = *prev
	}
	keyword(SAKeyTreezorUserID, old.userID, next.userID)
	keyword(SAKeyQESState, old.state, next.state)
	integer(SAKeyQESAttempt, old.attempt, next.attempt)
	integer(SAKeyQESReasonCode, old.reasonCode, next.reasonCode)
	keyword(SAKeyQESIdentificationID, old.identificationID, next.identificationID)
	keyword(SAKeyKYCReview, old.kycReview, next.kycReview)
	if err := workflow.UpsertTypedSearchAttributes(ctx, updates...); err != nil {
		o.logger.Error("Upsert search attributes failed", "error", err)
		return
	}
	o.published = &next
}

// details is the UI summary of the onboarding: state, attempt, escalation. No PII.
func (o *onboarding) details() string {
	d := "**" + string(o.st.State) + "** — attempt " + strconv.Itoa(o.st.Attempt) + " of " + strconv.Itoa(o.maxAttempts())
	if o.st.Escalated {
		d += " — compliance decision overdue"
	}
	return d
}
