package workflows

import (
	"strconv"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/qesflow/qesflow/treezor"
)

// Typed keys of the custom search attributes (see SearchAttributeTypes).
var (
	SAKeyTreezorUserID        = temporal.NewSearchAttributeKeyKeyword(SATreezorUserID)
	SAKeyQESState             = temporal.NewSearchAttributeKeyKeyword(SAQESState)
	SAKeyQESAttempt           = temporal.NewSearchAttributeKeyInt64(SAQESAttempt)
	SAKeyQESReasonCode        = temporal.NewSearchAttributeKeyInt64(SAQESReasonCode)
	SAKeyQESIdentificationID  = temporal.NewSearchAttributeKeyKeyword(SAQESIdentificationID)
	SAKeyKYCReview            = temporal.NewSearchAttributeKeyKeyword(SAKYCReview)
	SAKeyTreezorWalletID      = temporal.NewSearchAttributeKeyKeyword(SATreezorWalletID)
	SAKeyTreezorWalletIDs     = temporal.NewSearchAttributeKeyKeywordList(SATreezorWalletIDs)
	SAKeyQESIdentificationIDs = temporal.NewSearchAttributeKeyKeywordList(SAQESIdentificationIDs)
	SAKeyQESCountry           = temporal.NewSearchAttributeKeyKeyword(SAQESCountry)
	SAKeyQESUpdatedAt         = temporal.NewSearchAttributeKeyTime(SAQESUpdatedAt)
)

// listSep joins the values of a keyword list in searchAttrs (which stays comparable).
const listSep = "\n"

// StartSearchAttributes are the search attributes a starter sets when it starts the
// onboarding of userID: the values of its first state, so that it is findable before its
// first workflow task, and the workflow's first publish (which sends only what changed)
// does not upsert them again.
func StartSearchAttributes(userID string) temporal.SearchAttributes {
	return StartSearchAttributesOf(Input{UserID: userID})
}

// StartSearchAttributesOf are the start search attributes of the onboarding in (its
// wallet and country included, when the input names them), stamped with the starter's
// clock as QESUpdatedAt. Client-side only: the workflow never calls it.
func StartSearchAttributesOf(in Input) temporal.SearchAttributes {
	sa := initialSearchAttrs(in.UserID)
	sa.walletID = in.WalletID
	sa.country = strings.ToUpper(in.Country)
	return temporal.NewSearchAttributes(append(sa.updates(nil), SAKeyQESUpdatedAt.ValueSet(time.Now().UTC()))...)
}

// initialSearchAttrs are the values of a new onboarding: first attempt, INITIATING.
func initialSearchAttrs(userID string) searchAttrs {
	return searchAttrs{userID: userID, state: string(StateInitiating), kycReview: treezor.KYCReview(0).String(), attempt: 1}
}

// startedWith returns the search attributes this run started with when it has every one
// that is always set (the identification id is not, before the first one is issued), and
// nil otherwise: then the first publish sets them all.
func startedWith(ctx workflow.Context) *searchAttrs {
	have := workflow.GetTypedSearchAttributes(ctx)
	var sa searchAttrs
	var ok [5]bool
	sa.userID, ok[0] = have.GetKeyword(SAKeyTreezorUserID)
	sa.state, ok[1] = have.GetKeyword(SAKeyQESState)
	sa.kycReview, ok[2] = have.GetKeyword(SAKeyKYCReview)
	sa.attempt, ok[3] = have.GetInt64(SAKeyQESAttempt)
	sa.reasonCode, ok[4] = have.GetInt64(SAKeyQESReasonCode)
	sa.identificationID, _ = have.GetKeyword(SAKeyQESIdentificationID)
	sa.walletID, _ = have.GetKeyword(SAKeyTreezorWalletID)
	sa.country, _ = have.GetKeyword(SAKeyQESCountry)
	wallets, _ := have.GetKeywordList(SAKeyTreezorWalletIDs)
	sa.walletIDs = strings.Join(wallets, listSep)
	idents, _ := have.GetKeywordList(SAKeyQESIdentificationIDs)
	sa.identificationIDs = strings.Join(idents, listSep)
	for _, present := range ok {
		if !present {
			return nil
		}
	}
	return &sa
}

// searchAttrs are the values published to visibility. Ids and codes only, never PII.
type searchAttrs struct {
	userID, state, identificationID, kycReview, walletID string
	// country is set when the changeListAttributes gate is on (or by the start).
	country string
	// walletIDs and identificationIDs are keyword lists joined by listSep; empty when the
	// gates of versions.go are off.
	walletIDs, identificationIDs string
	attempt, reasonCode          int64
}

func (o *onboarding) searchAttrs() searchAttrs {
	sa := searchAttrs{
		userID:           o.in.UserID,
		state:            string(o.st.State),
		identificationID: o.st.IdentificationID,
		kycReview:        o.st.KYCReview.String(),
		walletID:         o.in.WalletID,
		attempt:          int64(o.st.Attempt),
	}
	if o.st.Reason != nil {
		sa.reasonCode = int64(o.st.Reason.Code)
	}
	sa.walletIDs = strings.Join(o.st.Wallets, listSep)
	if o.identificationIDs {
		sa.identificationIDs = strings.Join(o.st.Identifications, listSep)
	}
	if o.followUp { // changeListAttributes
		sa.country = o.country()
	} else if o.published != nil {
		sa.country = o.published.country // as the start set it: never unset by an older run
	}
	return sa
}

// publishDue reports whether the search attributes are published as the workflow task
// ends. A state that only waits for the workflow's own Treezor call (initiation, user
// read, KYC review request, download) is not worth a visibility write of its own: the
// call usually answers within a second, and the state it leads to is published then. An
// operator's action, and every state an operator acts on, is published at once.
func (o *onboarding) publishDue() bool {
	if o.published == nil || o.act == nil || o.acted {
		return true
	}
	if sa := o.searchAttrs(); sa.walletIDs != o.published.walletIDs || sa.identificationIDs != o.published.identificationIDs {
		// Payin and QES webhooks are routed by them: published before the next Treezor call.
		return true
	}
	switch o.st.State {
	case StateInitiating, StateSuccess, StateDocuments, StateKYCReviewPending, StateKYCReviewOverdue:
		return false
	case StateAwaitingSEPA:
		return !o.st.PayinCheckDue
	}
	return true
}

// publish upserts the search attributes that changed since the last publish (all of them
// the first time in a run) and shows the state in the UI's current details.
func (o *onboarding) publish(ctx workflow.Context) {
	o.acted = false
	o.upsertSearchAttributes(ctx)
	if d := o.details(); d != o.shownDetails {
		workflow.SetCurrentDetails(ctx, d)
		o.shownDetails = d
	}
}

func (o *onboarding) upsertSearchAttributes(ctx workflow.Context) {
	next := o.searchAttrs()
	if o.published != nil && *o.published == next {
		return
	}
	updates := next.updates(o.published)
	if o.followUp && len(updates) > 0 { // changeListAttributes: in the same command, never one of its own
		updates = append(updates, SAKeyQESUpdatedAt.ValueSet(workflow.Now(ctx)))
	}
	if err := workflow.UpsertTypedSearchAttributes(ctx, updates...); err != nil {
		o.logger.Error("Upsert search attributes failed", "error", err)
		return
	}
	o.published = &next
}

// updates are the changes from prev to sa; every attribute when prev is nil. An empty
// keyword is unset.
func (sa searchAttrs) updates(prev *searchAttrs) []temporal.SearchAttributeUpdate {
	var old searchAttrs
	if prev != nil {
		old = *prev
	}
	var updates []temporal.SearchAttributeUpdate
	keyword := func(key temporal.SearchAttributeKeyKeyword, was, v string) {
		switch {
		case prev != nil && was == v:
		case v == "":
			updates = append(updates, key.ValueUnset())
		default:
			updates = append(updates, key.ValueSet(v))
		}
	}
	integer := func(key temporal.SearchAttributeKeyInt64, was, v int64) {
		if prev == nil || was != v {
			updates = append(updates, key.ValueSet(v))
		}
	}
	keyword(SAKeyTreezorUserID, old.userID, sa.userID)
	keyword(SAKeyQESState, old.state, sa.state)
	integer(SAKeyQESAttempt, old.attempt, sa.attempt)
	integer(SAKeyQESReasonCode, old.reasonCode, sa.reasonCode)
	keyword(SAKeyQESIdentificationID, old.identificationID, sa.identificationID)
	keyword(SAKeyKYCReview, old.kycReview, sa.kycReview)
	if sa.walletID != "" || old.walletID != "" {
		keyword(SAKeyTreezorWalletID, old.walletID, sa.walletID)
	}
	if sa.country != "" || old.country != "" {
		keyword(SAKeyQESCountry, old.country, sa.country)
	}
	list := func(key temporal.SearchAttributeKeyKeywordList, was, v string) {
		switch {
		case was == v:
		case v == "":
			updates = append(updates, key.ValueUnset())
		default:
			updates = append(updates, key.ValueSet(strings.Split(v, listSep)))
		}
	}
	list(SAKeyTreezorWalletIDs, old.walletIDs, sa.walletIDs)
	list(SAKeyQESIdentificationIDs, old.identificationIDs, sa.identificationIDs)
	return updates
}

// details is the UI summary of the onboarding: state, attempt, escalation. No PII.
func (o *onboarding) details() string {
	d := "**" + string(o.st.State) + "** — attempt " + strconv.Itoa(o.st.Attempt) + " of " + strconv.Itoa(o.maxAttempts())
	if o.st.Escalated {
		d += " — compliance decision overdue"
	}
	return d + o.eventDetails()
}
