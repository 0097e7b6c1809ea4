// Package workflows holds the QESOnboarding workflow: one workflow per Treezor user
// (WorkflowID), which takes the user through a Qualified eSignature identification and
// on to the KYC review (DESIGN.md §1).
//
// # Flow
//
// INITIATING (activity InitiateQES) → AWAITING_USER → IN_PROGRESS (qes.created) →
// PROVIDER_REVIEW (qes.processing) → an outcome. On success: AWAITING_SEPA (country DE,
// until a validated payin.create/payin.update) → DOCUMENTS (when DownloadDocuments) →
// KYC_REVIEW_PENDING (activity RequestKYCReview, then user.kycreview) →
// COMPLETED_VALIDATED | COMPLETED_REFUSED. Otherwise the reason code's policy decides.
//
// The workflow is one event loop (onboarding.go): it starts what the state needs (one
// activity at a time, one deadline timer), waits for one thing with a workflow.Selector (a
// signal, the activity's answer, the timer), applies it to the Snapshot, and upserts
// the search attributes that changed.
//
// # Decisions
//
//   - Policy comes from the treezor reason catalog (treezor.LookupReason) with
//     PolicyOverride.ReasonPolicies on top; the code never switches on reason codes. A
//     fraud code (32xx) or a result that says FRAUD always goes to compliance, whatever
//     the overrides say.
//   - ABORTED, CANCELED, SUCCESS and FRAUD_SUSPECTED are passing states: they are recorded
//     in the timeline, then the policy's next state follows at once.
//   - Attempts: every identification is an attempt (MaxAttempts, default 3). RETRY_NOW
//     starts the next at once, RETRY_INVITE and RETRY_NEW_DOCUMENT after RetryBackoff
//     doubled per attempt (RETRY_SCHEDULED); the user status asks for another document
//     after RETRY_NEW_DOCUMENT. When none is left the onboarding ends FAILED. A restart
//     signal in RETRY_SCHEDULED skips the backoff.
//   - WAIT_USER_DATA (3009): WAITING_FOR_USER until a restart signal, which starts the
//     next attempt (it counts: an identification took place).
//   - TERMINAL_DECLINED and TERMINAL_NOT_ELIGIBLE both end DECLINED; the Result carries the
//     reason code and a note saying which.
//   - Fraud: FRAUD_SUSPECTED → COMPLIANCE_REVIEW (the UI's compliance queue is
//     QESState="COMPLIANCE_REVIEW"). "clear" starts a new attempt at once and grants one
//     extra attempt, so the suspected identification does not count against MaxAttempts;
//     "reject" ends REJECTED. A decision in any other state is recorded and ignored.
//   - USER_DATA_INCOMPLETE (Treezor 428): waits for a restart (or UserTimeout → EXPIRED);
//     the restart initiates again within the same attempt, since no identification was
//     created. Each initiation has its own access tag
//     (activities.AccessTag(user, firstRunID, "qes", initiation)), so Treezor does not replay the 428
//     it stored for the previous tag.
//   - Any other non-retryable refusal of InitiateQES or RequestKYCReview ends FAILED with
//     the reason in Result.Note. Treezor unavailable for TreezorRetryWindow (retryable
//     errors, retried with backoff) fails the workflow with an error: an infrastructure
//     failure an operator can reset once Treezor is back.
//   - Timers: UserTimeout (AWAITING_USER, WAITING_FOR_USER, USER_DATA_INCOMPLETE →
//     EXPIRED), ProviderTimeout (IN_PROGRESS, PROVIDER_REVIEW → EXPIRED: the provider never
//     reported an outcome), SEPATimeout (AWAITING_SEPA → EXPIRED), KYCReviewTimeout
//     (→ KYC_REVIEW_OVERDUE, still waiting), ComplianceTimeout (Status.Escalated and a
//     timeline entry, still waiting), DocumentWaitWindow (no document.create → KYC review
//     without documents). Deadlines are absolute times in the Snapshot, so they survive
//     continue-as-new.
//   - Webhooks are deduplicated by webhook id (the last MaxSeenWebhooks ids). A qes.*
//     event for another identification id is recorded as stale and ignored. Each
//     identification has steps (issued < qes.created < qes.processing or a pending result <
//     an outcome); an event for a step at or below the current one is recorded as out of
//     order and changes nothing. QES events received while INITIATING (the id is not
//     known yet: the webhook can race InitiateQES's answer) are held and re-evaluated when
//     the answer arrives.
//   - user.kycreview is acted on only after the review was requested (the state is
//     KYC_REVIEW_PENDING before RequestKYCReview runs, so a webhook racing its answer
//     counts); earlier ones are recorded only. Non-final values keep waiting.
//   - A validated SEPA payin is remembered whenever it arrives, also before the success.
//   - QES documents announced by document.create are downloaded in the DOCUMENTS step; a
//     failed download is recorded (Status.DocumentDownloads) and does not stop the
//     onboarding: Treezor keeps the documents.
//   - identification-url update: waits while INITIATING; see registerUpdate for the
//     answers. States without a usable identification answer the state with an empty URL;
//     after the end the validator rejects the update with ErrTypeNotAvailable.
//   - Cancel ends CANCELLED from any non-terminal state; the running activity is
//     cancelled.
//   - Continue-as-new when the server suggests it or the history reaches
//     ContinueAsNewAfter events, only between activities and with no update handler
//     running, after draining every pending signal into the Snapshot carried in
//     Input.Carry.
//   - Privacy: the identification URL is kept in the Snapshot (history is encrypted by
//     the data converter) and returned by the update only; it never goes into logs,
//     search attributes, the timeline, Status or Result. UserStatus never shows a reason
//     code or message: fraud and compliance states read UNDER_REVIEW like any review, and
//     REJECTED reads CLOSED like every other negative end.
//
// The workflow code is deterministic (workflow.Now, timers, selectors; maps are only
// looked up, never iterated for output). Changing its behaviour needs workflow.GetVersion;
// the replay tests over testdata/*.json catch what was missed.
package workflows
