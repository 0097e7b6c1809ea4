// Package codec keeps PII out of Temporal: a payload codec encrypts every payload (workflow
// inputs and results, signals, updates, queries, activity inputs and outputs, memos, failure
// details) with AES-256-GCM before it leaves the process, so Temporal's database and history
// hold ciphertext only. An HTTP codec endpoint lets the Temporal Web UI (and the temporal
// CLI) show the decrypted payloads to authorised operators.
//
// Keys live in a Keyring: one active key encrypts, every known key decrypts, so keys rotate
// without breaking running or closed workflows. Each encrypted payload names its key in the
// metadata:
//
//	metadata: {encoding: "binary/encrypted", encryption-key-id: "k2"}
//	data:     nonce (12 bytes) || AES-256-GCM(key k2, proto-marshalled original payload)
//
// Payloads without the encrypted encoding are decoded unchanged, so histories written before
// encryption was turned on still replay. Search attributes are never encoded by data
// converters: they stay plaintext and must hold no PII.
//
// Every client and worker of one namespace must share the keyring (QESFLOW_CODEC_KEYS or
// QESFLOW_CODEC_KEYS_FILE). Key material never appears in errors, logs or String output.
package codec
