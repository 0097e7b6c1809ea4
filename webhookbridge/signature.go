package webhookbridge

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"sync"

	"go.uber.org/zap"
)

// keyHint names the configured webhook secrets without revealing them: the first 6 hex
// digits of each secret's SHA-256, in configuration order ("3fa2c1,9b07de"). An operator
// compares it with the hint of the secret Treezor was given.
func keyHint(secrets []string) string {
	hints := make([]string, 0, len(secrets))
	for _, s := range secrets {
		if s == "" {
			continue
		}
		sum := sha256.Sum256([]byte(s))
		hints = append(hints, hex.EncodeToString(sum[:3]))
	}
	return strings.Join(hints, ",")
}

// mismatchLog logs a run of signature mismatches once: the first mismatch after start or
// after a matching signature is logged at error level, the others only counted. A secret
// rotation that Treezor applied first then costs one log line, not one per delivery.
type mismatchLog struct {
	mu      sync.Mutex
	logging bool // true: the next mismatch is logged
}

// signatureMismatch counts a webhook whose signature matches no configured secret and logs
// the first of a run.
func (b *bridge) signatureMismatch(d *delivery) {
	b.metrics.signatureMismatches.WithLabelValues(b.keyHint).Inc()
	b.mismatches.mu.Lock()
	first := b.mismatches.logging
	b.mismatches.logging = false
	b.mismatches.mu.Unlock()
	if !first {
		return
	}
	b.log.Error("webhook signature matches no configured secret; answering 500 so that Treezor redelivers "+
		"(further mismatches are counted in qesflow_bridge_signature_mismatches_total, not logged)",
		zap.String("keyHint", b.keyHint), zap.String("eventType", eventTypeLabel(d.eventType)),
		zap.String("webhookId", d.webhookID), zap.String("requestId", d.requestID))
}

// signatureMatched re-arms the mismatch log.
func (b *bridge) signatureMatched() {
	b.mismatches.mu.Lock()
	b.mismatches.logging = true
	b.mismatches.mu.Unlock()
}
