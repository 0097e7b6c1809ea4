// Package treezorsim is a Treezor sandbox simulator: it speaks the Treezor contract written down in
// treezor/testdata/contract/ (OAuth client credentials, users, QES initiation, KYC review, document
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
//
// # State file
//
// With Config.StateFile the simulator survives a restart, as the real Treezor does: Open
// loads the file (a missing one is created), and every change marks the state dirty for a
// background saver, which writes the whole state at most every 100 ms (and rests at least
// three times as long as the last save took); Close makes a final save. A write is atomic:
// a temporary file in the same directory, fsync, rename, fsync of the directory. A
// process that crashes loses at most the last ~100 ms of changes. One simulator per file.
// Open fails on a file it cannot read, decode or write, naming the file; New logs that
// error and runs in memory, leaving the file untouched.
//
// The file is compact JSON, mode 0600 (it holds the users' names, e-mails and phones).
// Format version 1:
//
//	version          1; other versions are refused
//	savedAt          simulator clock at the save
//	nextNumericId    last numeric id issued (users, wallets, documents, payins); a load
//	                 skips 100,000 ids, so that ids issued after the last save of a crashed
//	                 simulator are never issued again
//	presignKey       base64 key of presigned document URLs (URLs issued before stay valid)
//	users            [{userId, firstname, lastname, email, country, phone, walletId,
//	                 otherWallets?: [walletId…], payins?: [{payinId, walletId,
//	                 paymentMethodId, amount, status?}], kycReview, kycLevel, identifications: [id…],
//	                 pendingReview?: {requestedAt, autoDecision?, decideAt?}}] in creation order
//	identifications  [{identificationId, userId, identificationURL, redirectUrl?, state,
//	                 result?, reasonCode?, documents?: [documentId…], createdAt}] in creation order
//	documents        [{documentId, userId, identificationId, documentTypeId, fileName}]; the
//	                 content is regenerated from these fields
//	accessTags       [{op: "qes"|"kycreview", userId, accessTag, status, body, at}]: the first
//	                 answers, replayed verbatim until at + AccessTagTTL (expired ones are dropped)
//	tokens           [{sha256, scopes, expiresAt}]: unexpired access tokens, by SHA-256 only;
//	                 a token issued before a restart keeps working, and the file holds none
//	webhookQueues    {userId: [{webhookId, webhook, objectId, duplicate?, attempts, body}]}:
//	                 per user, in order, every webhook not yet answered 2xx (the one being
//	                 retried first); body is the signed envelope, resent byte for byte (same
//	                 webhook_id and signature) by the next Open, whose attempts add to the
//	                 earlier ones up to WebhookMaxAttempts
//	kycDecisions     [{userId, decision, at}]: the KYC desk's recent decisions
//	stats            the counters of Stats (Pending excepted)
//
// A pending review with an autoDecision is decided at decideAt by the next Open (at once
// if that moment passed), whatever the new configuration says. Not kept: the delivery log
// (Deliveries, DeliveredOK, the deliveries of GET /sim/users restart empty), chaos
// delays of queued webhooks, settings changed at run time (SetChaos, SetWebhookURL: the
// configuration wins) and the random sequence (a load draws a fresh seed, so Config.Seed
// only makes a fresh state reproducible). Payins have no state beyond their webhooks.
package treezorsim
