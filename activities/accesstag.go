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

// AccessTag returns the Treezor idempotency tag of one call:
// "qesflow:{userId}:{onboardingId}:{step}:{n}", where onboardingID names one onboarding (the
// workflow's first run id, which continue-as-new keeps) and n numbers the calls of that step
// in it (for StepQES: one per initiation). It is a pure function of its arguments, so a
// retried activity sends the same tag and Treezor answers with the first result instead of
// creating a second identification or review request; a later onboarding of the same user
// (a new run within Treezor's 24 h accessTag memory) sends new tags and gets a new
// identification. A user id too long for the 250-character limit is replaced by its SHA-256.
func AccessTag(userID, onboardingID, step string, n int) string {
	suffix := ":" + onboardingID + ":" + step + ":" + strconv.Itoa(n)
	tag := "qesflow:" + userID + suffix
	if len(tag) <= MaxAccessTagLen {
		return tag
	}
	sum := sha256.Sum256([]byte(userID))
	return "qesflow:sha256-" + hex.EncodeToString(sum[:]) + suffix
}
