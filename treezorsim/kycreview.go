package treezorsim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/qesflow/qesflow/treezor"
	"go.uber.org/zap"
)

// KYCDecision is the KYC desk's decision on a review.
type KYCDecision string

// KYC decisions.
const (
	KYCValidate KYCDecision = "validate"
	KYCRefuse   KYCDecision = "refuse"
)

const maxCommentLen = 500

// reviewRequest is a pending KYC review. A new request replaces the pending one, so an
// automatic decision scheduled for an older request does nothing.
type reviewRequest struct {
	userID      string
	requestedAt time.Time
	auto        KYCDecision // the scheduled automatic decision, if any
	decideAt    time.Time   // when auto is applied
}

// decisionRecord is a past decision, shown on the KYC desk.
type decisionRecord struct {
	UserID   string      `json:"userId"`
	Decision KYCDecision `json:"decision"`
	At       time.Time   `json:"at"`
}

const maxDecisionHistory = 50

type kycReviewRequest struct {
	AccessTag string `json:"accessTag"`
}

// handleKYCReview is PUT /v1/users/{userId}/Kycreview: the review becomes PENDING and
// waits for the KYC desk (or the automatic decision).
func (s *Simulator) handleKYCReview(w http.ResponseWriter, r *http.Request) {
	userID := r.PathValue("userId")
	var req kycReviewRequest
	if err := decodeJSON(w, r, &req); err != nil {
		writeTreezorError(w, http.StatusBadRequest, "invalid_request", "input_validation_error", err.Error())
		return
	}
	key := accessTagKey{op: "kycreview", userID: userID, tag: accessTagOf(r, req.AccessTag)}
	if len(key.tag) > maxAccessTagLen {
		writeTreezorError(w, http.StatusBadRequest, "invalid_request", "input_validation_error", "accessTag must be at most 250 characters")
		return
	}
	s.mu.Lock()
	if a, ok := s.replayLocked(key); ok {
		s.mu.Unlock()
		s.log.Info("kyc review request replayed for accessTag", zap.String("user_id", userID))
		writeRaw(w, a.status, a.body)
		return
	}
	u, ok := s.users[userID]
	if !ok {
		s.mu.Unlock()
		writeTreezorError(w, http.StatusNotFound, "invalid_request", "resource_not_found", "user not found")
		return
	}
	body, err := s.requestReviewLocked(u)
	if err != nil {
		s.mu.Unlock()
		writeTreezorError(w, http.StatusServiceUnavailable, "unexpected_error", "unavailable", err.Error())
		return
	}
	s.rememberLocked(key, http.StatusOK, body)
	s.mu.Unlock()
	s.log.Info("kyc review requested", zap.String("user_id", userID))
	writeRaw(w, http.StatusOK, body)
}

// requestReviewLocked records a review request, sends the PENDING webhook and schedules
// the automatic decision, as configured. Caller holds s.mu.
func (s *Simulator) requestReviewLocked(u *user) ([]byte, error) {
	if s.closed {
		return nil, ErrClosed
	}
	rr := &reviewRequest{userID: u.UserID, requestedAt: s.now()}
	u.review = rr
	u.kycReview = treezor.KYCReviewPending
	s.counters.reviewsByUser[u.UserID]++
	s.changedLocked()
	var specs []webhookSpec
	if s.variants.KYCRequest {
		specs = append(specs, kycRequestSpec(u))
	}
	if !s.cfg.SkipKYCPendingWebhook {
		specs = append(specs, kycReviewSpec(u, ""))
	}
	if len(specs) > 0 {
		if err := s.emitLocked(u.UserID, specs); err != nil {
			return nil, err
		}
	}
	if s.cfg.AutoKYCDecision != "" {
		rr.auto, rr.decideAt = s.cfg.AutoKYCDecision, rr.requestedAt.Add(s.cfg.AutoKYCDelay)
		s.scheduleAutoDecisionLocked(rr)
	}
	// Treezor answers with the user object; these are the fields its guide shows
	// (docs.treezor.com/guide/user-verification/kyc-request.html).
	b, _ := json.Marshal(map[string]any{"users": []map[string]string{{
		"userId": u.UserID, "userTypeId": "1", "kycReview": strconv.Itoa(int(u.kycReview)),
		"kycLevel": strconv.Itoa(u.kycLevel), "kycReviewComment": "",
	}}})
	return append(b, '\n'), nil
}

// scheduleAutoDecisionLocked applies rr.auto at rr.decideAt (at once if it is past).
// Caller holds s.mu.
func (s *Simulator) scheduleAutoDecisionLocked(rr *reviewRequest) {
	delay := max(rr.decideAt.Sub(s.now()), 0)
	s.busy.add(1)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer s.busy.done()
		if !sleep(s.ctx, delay) {
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		u := s.users[rr.userID]
		if u == nil || u.review != rr {
			return // decided by hand, or superseded by a newer request
		}
		if err := s.decideLocked(u, rr.auto, "automatic decision"); err != nil {
			s.log.Warn("automatic kyc decision failed", zap.String("user_id", rr.userID), zap.Error(err))
		}
	}()
}

// DecideKYC decides the user's pending KYC review and sends user.kycreview with
// kycReview 2 (validate) or 3 (refuse).
func (s *Simulator) DecideKYC(userID string, decision KYCDecision, comment string) error {
	if decision != KYCValidate && decision != KYCRefuse {
		return fmt.Errorf("decide KYC review of user %s: %w: %q (want validate or refuse)", userID, ErrInvalidDecision, decision)
	}
	comment = strings.TrimSpace(comment)
	if len(comment) > maxCommentLen {
		return fmt.Errorf("decide KYC review of user %s: %w: comment longer than %d bytes", userID, ErrInvalidDecision, maxCommentLen)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[userID]
	if !ok {
		return fmt.Errorf("decide KYC review of user %s: %w", userID, ErrUnknownUser)
	}
	if u.review == nil {
		return fmt.Errorf("decide KYC review of user %s: %w", userID, ErrNoPendingReview)
	}
	if err := s.decideLocked(u, decision, comment); err != nil {
		return fmt.Errorf("decide KYC review of user %s: %w", userID, err)
	}
	return nil
}

// decideLocked applies a decision. Caller holds s.mu and checked the pending review.
func (s *Simulator) decideLocked(u *user, decision KYCDecision, comment string) error {
	review, level := treezor.KYCReviewValidated, kycLevelRegular
	if decision == KYCRefuse {
		review, level = treezor.KYCReviewRefused, kycLevelRefused
	}
	prevReview, prevLevel, prevRequest := u.kycReview, u.kycLevel, u.review
	u.kycReview, u.kycLevel, u.review = review, level, nil
	if err := s.emitLocked(u.UserID, []webhookSpec{kycReviewSpec(u, comment)}); err != nil {
		u.kycReview, u.kycLevel, u.review = prevReview, prevLevel, prevRequest
		return err
	}
	s.decisions = append(s.decisions, decisionRecord{UserID: u.UserID, Decision: decision, At: s.now()})
	if len(s.decisions) > maxDecisionHistory {
		s.decisions = slices.Clone(s.decisions[len(s.decisions)-maxDecisionHistory:])
	}
	s.changedLocked()
	s.log.Info("kyc review decided", zap.String("user_id", u.UserID), zap.String("decision", string(decision)))
	return nil
}

// PendingKYCReviews returns the ids of users whose KYC review waits for a decision,
// oldest request first.
func (s *Simulator) PendingKYCReviews() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pendingReviewsLocked()
}

func (s *Simulator) pendingReviewsLocked() []string {
	var ids []string
	for _, id := range s.userOrder {
		if s.users[id].review != nil {
			ids = append(ids, id)
		}
	}
	return ids
}

// kycReviewSpec is the user.kycreview webhook of the user's current state.
func kycReviewSpec(u *user, comment string) webhookSpec {
	return webhookSpec{
		event: treezor.EventUserKYCReview, object: objectUser, objectID: u.UserID,
		payload: map[string]any{"users": []map[string]string{{
			"userId":           u.UserID,
			"kycReview":        strconv.Itoa(int(u.kycReview)),
			"kycLevel":         strconv.Itoa(u.kycLevel),
			"kycReviewComment": comment,
		}}},
	}
}

// kycRequestSpec is the user.kycrequest webhook Treezor sends after PUT /Kycreview
// (docs.treezor.com/guide/user-verification/events.html): the user with kycReview PENDING.
func kycRequestSpec(u *user) webhookSpec {
	spec := kycReviewSpec(u, "")
	spec.event = treezor.EventUserKYCRequest
	return spec
}

type decisionBody struct {
	Decision KYCDecision `json:"decision"`
	Comment  string      `json:"comment"`
}

// handleSimDecision is POST /sim/users/{userId}/kycreview.
func (s *Simulator) handleSimDecision(w http.ResponseWriter, r *http.Request) {
	var body decisionBody
	if err := decodeJSON(w, r, &body); err != nil {
		writeSimError(w, fmt.Errorf("%w: %v", ErrInvalidDecision, err))
		return
	}
	userID := r.PathValue("userId")
	if err := s.DecideKYC(userID, body.Decision, body.Comment); err != nil {
		writeSimError(w, err)
		return
	}
	review, level, _ := s.KYCStatus(userID)
	writeJSON(w, http.StatusOK, map[string]string{
		"userId": userID, "kycReview": strconv.Itoa(int(review)), "kycLevel": strconv.Itoa(level),
	})
}
