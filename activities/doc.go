// Package activities holds everything the QESOnboarding workflow does to the outside
// world: initiate a QES identification at Treezor, request the KYC review, and download
// the QES documents into a content-addressed store.
//
// Activities never log identification URLs, document URLs or any other PII: log fields
// are the Treezor user id, identification id and document id only.
//
// Errors: a Treezor answer that will not change on retry is returned as a non-retryable
// temporal.ApplicationError with one of the ErrType* types, so the workflow can branch on
// it; anything that may succeed later (5xx, 429, network errors, timeouts) is a retryable
// ApplicationError of type ErrTypeTreezorUnavailable and is retried by the activity's
// retry policy, which the workflow sets.
package activities
