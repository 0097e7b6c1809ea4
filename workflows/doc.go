// Package workflows holds the QESOnboarding workflow: one workflow per Treezor user
// (WorkflowID), which takes the user through a Qualified eSignature identification and
// on to the KYC review (DESIGN.md §1).
//
// # Flow
//
// INITIATING (activity InitiateQES) → AWAITING_USER → IN_PROGRESS (qes.created) →
// PROVIDER_REVIEW (qes.processing) → an outcome. On success: SUCCESS (activity
// GetTreezorUser: the country at Treezor) → AWAITING_SEPA (country DE, until a validated
// SEPA credit transfer into the user's wallet) → DOCUMENTS (until document.create, or the
// whole DocumentWaitWindow when DownloadDocuments) → KYC_REVIEW_PENDING (activity
// RequestKYCReview, then user.kycreview confirmed with GetTreezorUser) →
// COMPLETED_VALIDATED | COMPLETED_REFUSED. Otherwise the reason code's policy decides.
//
// The workflow is one event loop (onboarding.go): it starts what the state needs (one
// activity at a time), waits for one thing with a workflow.Selector (a webhook signal, an
// operator action's wake-up, the activity's answer, the deadline timer), applies it to the
// Snapshot; just before it blocks it arms the deadline timer and upserts the search
// attributes that changed. Operator actions (restart, cancel, compliance-decision) are
// updates (actions.go): the validator refuses one that does not apply to the state
// (ErrTypeNotApplicable, never in history), the handler applies it and answers the state
// it led to. There is one behaviour and no version flags: qesflow was released with this
// code, and testdata/ holds its baseline histories (append-only, see replay_test.go).
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
//     in RETRY_SCHEDULED skips the backoff.
//   - WAIT_USER_DATA (3009, 3010): WAITING_FOR_USER until a restart, which starts the
//     next attempt (it counts: an identification took place).
//   - TERMINAL_DECLINED and TERMINAL_NOT_ELIGIBLE both end DECLINED; the Result carries the
//     reason code and a note saying which.
//   - Fraud: FRAUD_SUSPECTED → COMPLIANCE_REVIEW (the UI's compliance queue is
//     QESState="COMPLIANCE_REVIEW"). "clear" starts a new attempt at once and grants one
//     extra attempt, so the suspected identification does not count against MaxAttempts;
//     "reject" ends REJECTED. A decision in any other state is refused. A fraud verdict
//     on any identification of the onboarding wins, whatever its order; a result value
//     qesflow does not know, without a reason, goes to compliance too (never a retry).
//   - USER_DATA_INCOMPLETE (Treezor 428): waits for a restart (or UserTimeout → EXPIRED);
//     the restart initiates again within the same attempt, since no identification was
//     created. Each initiation has its own access tag
//     (activities.AccessTag(user, firstRunID, "qes", initiation)), so Treezor does not replay the 428
//     it stored for the previous tag.
//   - Treezor answering 404 for the user: USER_UNKNOWN, waiting for a restart. Any other
//     non-retryable refusal of InitiateQES or RequestKYCReview ends FAILED with the reason
//     in Result.Note. Treezor unavailable (retryable errors, retried with backoff for
//     TreezorRetryWindow, then called again with the same access tag) never changes the
//     state: the outage is noted once on the timeline and the onboarding carries on when
//     Treezor answers again.
//   - Timers: UserTimeout (AWAITING_USER, WAITING_FOR_USER, USER_DATA_INCOMPLETE →
//     EXPIRED), ProviderTimeout (IN_PROGRESS, PROVIDER_REVIEW → EXPIRED: the provider never
//     reported an outcome), SEPATimeout (AWAITING_SEPA → EXPIRED), KYCReviewTimeout
//     (→ KYC_REVIEW_OVERDUE, then Treezor is asked for the review every KYCReviewTimeout),
//     ComplianceTimeout (Status.Escalated, one more escalation each period), DocumentWaitWindow (no document.create → KYC review
//     without documents). Deadlines are absolute times in the Snapshot, so they survive
//     continue-as-new.
//   - Webhooks are deduplicated by the hash of their signed payload (the webhook id when
//     there is none; the last MaxSeenWebhooks keys, carried across continue-as-new, and
//     the hashes of the user's previous onboarding through Input.PriorWebhooks). A qes.*
//     event for another identification id is recorded as stale and ignored. Each
//     identification has steps (issued < qes.created < qes.processing or a pending result <
//     an outcome); an event for a step at or below the current one is recorded as out of
//     order and changes nothing. QES events received while INITIATING (the id is not
//     known yet: the webhook can race InitiateQES's answer) are held and re-evaluated when
//     the answer arrives.
//   - user.kycreview is acted on only after the review was requested (the state is
//     KYC_REVIEW_PENDING before RequestKYCReview runs, so a webhook racing its answer
//     counts); earlier ones are recorded only. Non-final values keep waiting and never move
//     the review backwards; a final value is confirmed with Treezor (GET user) first.
//   - A validated SEPA payin is remembered whenever it arrives, also before the success.
//   - QES documents announced by document.create are downloaded in the DOCUMENTS step; a
//     failed download is recorded (Status.DocumentDownloads) and does not stop the
//     onboarding: Treezor keeps the documents.
//   - identification-url update: waits while INITIATING; see registerIdentificationURL for
//     the answers. States without a usable identification answer the state with an empty
//     URL; an ended onboarding (whatever its end state) answers ErrTypeNotAvailable.
//   - Cancel ends CANCELLED from any non-terminal state; the running activity is
//     cancelled.
//   - Continue-as-new when the server suggests it or the history reaches
//     ContinueAsNewAfter events, only between activities and with no update handler
//     running, after draining every pending webhook (in arrival order) into the Snapshot carried in
//     Input.Carry.
//   - Privacy: the identification URL is kept in the Snapshot (history is encrypted by
//     the data converter) and returned by the update only; it never goes into logs,
//     search attributes, the timeline, Status or Result. UserStatus never shows a reason
//     code or message: fraud and compliance states read UNDER_REVIEW like any review, and
//     REJECTED reads CLOSED like every other negative end.
//
// The workflow code is deterministic (workflow.Now, timers, selectors; maps are only
// looked up, never iterated for output). Changing the commands it emits needs
// workflow.GetVersion and new recorded histories; the replay tests over testdata/*.json
// catch what was missed.
package workflows
