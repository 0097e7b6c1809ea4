// Package hostile holds no code, only tests: a table of hostile requests (forged and
// replayed signatures, oversized, deeply nested and non-UTF-8 bodies, huge numbers, unknown
// fields, path traversal and injection characters in ids, slow clients) sent over real HTTP
// to the webhook bridge and the onboarding API of a running dev stack. Each gets its
// documented 4xx, nothing reaches a workflow, and the stack keeps serving. The cases and
// their answers are listed in docs/reliability.md ("Bad input").
package hostile
