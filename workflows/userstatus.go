package workflows

import (
	"slices"

	"github.com/qesflow/qesflow/treezor"
)

// UserStatus.Status values. Every fraud and compliance state reads UserStatusUnderReview,
// like an ordinary review; every negative end reads UserStatusClosed.
const (
	UserStatusPreparing      = "PREPARING"
	UserStatusActionRequired = "ACTION_REQUIRED"
	UserStatusUnderReview    = "UNDER_REVIEW"
	UserStatusApproved       = "APPROVED"
	UserStatusClosed         = "CLOSED"
	UserStatusExpired        = "EXPIRED"
	UserStatusCancelled      = "CANCELLED"
)

// UserStatus.ActionRequired values.
const (
	ActionCompleteIdentification = "COMPLETE_IDENTIFICATION"
	ActionBringOtherDocument     = "BRING_OTHER_DOCUMENT"
	ActionSEPATransfer           = "SEPA_TRANSFER"
	ActionUpdatePersonalData     = "UPDATE_PERSONAL_DATA"
	ActionCompletePersonalData   = "COMPLETE_PERSONAL_DATA"
)

// userView is what the end user may see of a state.
type userView struct {
	status, message, action string
}

// UnderReviewMessage is the one message an end user reads while anything (an ordinary review,
// a fraud suspicion, a compliance case) is under review.
const UnderReviewMessage = "Your application is under review. We will get back to you."

var (
	viewPreparing   = userView{UserStatusPreparing, "Your identification is being prepared.", ""}
	viewUnderReview = userView{UserStatusUnderReview, UnderReviewMessage, ""}
	viewClosed      = userView{UserStatusClosed, "Your application is closed. Please contact support for details.", ""}
)

// userViews maps every state to its end-user view. Fraud suspicion, compliance review and
// a compliance rejection are indistinguishable from an ordinary review or closing.
var userViews = map[State]userView{
	StateInitiating:         viewPreparing,
	StateRetryScheduled:     {UserStatusPreparing, "Your identification could not be completed. A new one is being prepared.", ""},
	StateAwaitingUser:       {UserStatusActionRequired, "Please complete your identification.", ActionCompleteIdentification},
	StateInProgress:         viewUnderReview,
	StateProviderReview:     viewUnderReview,
	StateSuccess:            viewUnderReview,
	StateAborted:            viewUnderReview,
	StateProviderCanceled:   viewUnderReview,
	StateFraudSuspected:     viewUnderReview,
	StateComplianceReview:   viewUnderReview,
	StateDocuments:          viewUnderReview,
	StateKYCReviewPending:   viewUnderReview,
	StateKYCReviewOverdue:   viewUnderReview,
	StateAwaitingSEPA:       {UserStatusActionRequired, "Please make a SEPA transfer to your account to complete the verification.", ActionSEPATransfer},
	StateWaitingForUser:     {UserStatusActionRequired, "Please check your personal details with us; you will then be invited to identify again.", ActionUpdatePersonalData},
	StateUserUnknown:        {UserStatusPreparing, "We could not start your identification yet. We will get back to you.", ""},
	StateUserDataIncomplete: {UserStatusActionRequired, "Some personal details are missing. Please complete your profile.", ActionCompletePersonalData},
	StateCompletedValidated: {UserStatusApproved, "Your identity is verified.", ""},
	StateCompletedRefused:   viewClosed,
	StateRejected:           viewClosed,
	StateDeclined:           viewClosed,
	StateFailed:             viewClosed,
	StateExpired:            {UserStatusExpired, "Your identification has expired. Please start again.", ""},
	StateOperatorCancelled:  {UserStatusCancelled, "Your onboarding was cancelled.", ""},
}

// userStatus is the end-user-safe view: no reason code, reason message or fraud hint.
func (o *onboarding) userStatus() UserStatus {
	v, ok := userViews[o.st.State]
	if !ok {
		v = viewUnderReview
	}
	action := v.action
	if (o.st.State == StateAwaitingUser || o.st.State == StateRetryScheduled) &&
		o.st.Reason != nil && o.st.Reason.Policy == treezor.PolicyRetryNewDocument {
		action = ActionBringOtherDocument
	}
	us := UserStatus{
		UserID:         o.in.UserID,
		Status:         v.status,
		Message:        v.message,
		Attempt:        o.st.Attempt,
		ActionRequired: action,
		Final:          o.st.State.Terminal(),
	}
	if o.st.State == StateAwaitingUser {
		us.IdentificationURL = o.st.IdentificationURL
	}
	return us
}

// EndedUserStatus is the end-user-safe view of an ended onboarding, from its Result.
func EndedUserStatus(r Result) UserStatus {
	v, ok := userViews[r.State]
	if !ok || !r.State.Terminal() {
		v = viewClosed
	}
	return UserStatus{UserID: r.UserID, Status: v.status, Message: v.message, Attempt: r.Attempts, Final: true}
}

// States lists every state, in a stable order.
func States() []State {
	out := make([]State, 0, len(userViews))
	for s := range userViews {
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}

// UserStatusOf is the end-user-safe status (UserStatus.Status) a state reads as.
func UserStatusOf(s State) string {
	if v, ok := userViews[s]; ok {
		return v.status
	}
	return UserStatusUnderReview
}

// UserStatuses lists the values of UserStatus.Status.
func UserStatuses() []string {
	return []string{UserStatusPreparing, UserStatusActionRequired, UserStatusUnderReview, UserStatusApproved,
		UserStatusClosed, UserStatusExpired, UserStatusCancelled}
}
