// Package treezor speaks Treezor's side of the QES onboarding: an API client
// (OAuth2 client credentials, QES initiation, KYC review, document download) with
// typed, secret-free errors; the webhook envelope decoder and its normalisation into
// Event; the webhook signature (PHP json_encode canonical form, HMAC-SHA256); and the
// catalog of QES reason codes with qesflow's default policy for each.
//
// The package never logs: errors carry what went wrong.
package treezor
