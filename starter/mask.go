package starter

import (
	"strings"

	"github.com/qesflow/qesflow/workflows"
)

// Neutral wording for anything under fraud or compliance review (docs/architecture.md: two views of one state).
const underReview = workflows.UserStatusUnderReview

// publicState maps internal states that would hint at fraud to UNDER_REVIEW.
func publicState(s workflows.State) string {
	switch s {
	case workflows.StateFraudSuspected, workflows.StateComplianceReview:
		return underReview
	case workflows.StateRejected:
		return "CLOSED" // the onboarding scope never learns of a rejection
	}
	if revealsReview(string(s)) {
		return underReview
	}
	return string(s)
}

// maskUserStatus is a last line of defence: the workflow's user-status query is already meant
// to be safe; if it names fraud or compliance anywhere, the whole status becomes the neutral
// "under review" and masked reports it (a workflow defect to log).
func maskUserStatus(us workflows.UserStatus) (workflows.UserStatus, bool) {
	if !revealsReview(us.Status) && !revealsReview(us.Message) && !revealsReview(us.ActionRequired) {
		return us, false
	}
	return workflows.UserStatus{
		UserID:  us.UserID,
		Status:  underReview,
		Message: workflows.UnderReviewMessage,
		Attempt: us.Attempt,
		Final:   false,
	}, true
}

func revealsReview(s string) bool {
	u := strings.ToUpper(s)
	return strings.Contains(u, "FRAUD") || strings.Contains(u, "COMPLIANCE") || strings.Contains(u, "SUSPIC")
}
