package activities

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
)

// Steps of the onboarding that send an idempotent call to Treezor.
const (
	StepQES       = "qes"
	StepKYCReview = "kycreview"
)

// MaxAccessTagLen is Treezor's limit on accessTag.
const MaxAccessTagLen = 250

// AccessTag returns the Treezor idempotency tag of one call: "qesflow:{userId}:{step}:{n}",
// where n numbers the calls of that step in the onboarding (for StepQES: one per
// initiation). It is a pure function of its arguments, so a retried activity sends the
// same tag and Treezor answers with the first result instead of creating a second
// identification or review request. A user id too long for the 250-character limit is
// replaced by its SHA-256.
func AccessTag(userID, step string, n int) string {
	tag := "qesflow:" + userID + ":" + step + ":" + strconv.Itoa(n)
	if len(tag) <= MaxAccessTagLen {
		return tag
	}
	sum := sha256.Sum256([]byte(userID))
	return "qesflow:sha256-" + hex.EncodeToString(sum[:]) + ":" + step + ":" + strconv.Itoa(n)
}
