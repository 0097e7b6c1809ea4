// Package treezorsim is a Treezor sandbox simulator: it speaks the Treezor contract of
// DESIGN.md §2 (OAuth client credentials, users, QES initiation, KYC review, document
// download, accessTag idempotency, signed webhooks with Treezor's retry semantics) so that
// development, tests, chaos tests and benchmarks never need the real sandbox.
//
// A person (or a browser test) plays the end user on the identification page behind each
// identificationURL, and the compliance officer on the KYC desk (/kyc). Scripts and tests
// drive the same actions through JSON endpoints under /sim/ or the Go API:
//
//	sim := treezorsim.New(treezorsim.Config{WebhookURL: bridgeURL}, logger)
//	defer sim.Close()
//	srv := httptest.NewServer(sim.Handler())
//	userID := sim.CreateUser(treezorsim.User{Firstname: "Ada", ...})
//	... the code under test calls POST /v1/users/{userId}/qes ...
//	id, _, _ := sim.LastIdentification(userID)
//	_ = sim.Act(id, treezorsim.Success())
//	_ = sim.WaitIdle(ctx) // every webhook delivered (or given up)
//
// Chaos (duplicate and reordered webhooks, random delivery delays, API faults) is off by
// default and driven by a seedable random source so that chaos tests are reproducible.
//
// Logs carry ids and codes only: never names, e-mails, phone numbers or URLs.
package treezorsim
