// Package e2e is the chaos end-to-end suite: hundreds of onboardings driven through the
// real path (onboarding API → Treezor simulator → signed webhooks → bridge → workflow →
// KYC review) while webhooks are duplicated, shuffled and delayed, the bridge answers 503
// at random, the Treezor API fails and hangs, the worker is replaced and the embedded
// Temporal server is restarted on its SQLite file. See TestChaos and docs/reliability.md.
//
// The non-test files hold the fault injectors the suite wires in front of the real parts.
package e2e
