package treezorsim

import (
	"fmt"
	"net/http"
	"slices"

	"github.com/qesflow/qesflow/treezor"
	"go.uber.org/zap"
)

// ActionKind is what the end user (or the provider) does with an identification.
type ActionKind string

// Actions on an identification.
const (
	// ActionSuccess completes the identification: qes.created, qes.processing,
	// qes.finalized (SUCCESS), document.create.
	ActionSuccess ActionKind = "success"
	// ActionAbort abandons it with a 30xx reason: qes.aborted (ABORTED).
	ActionAbort ActionKind = "abort"
	// ActionCancel has the provider cancel it with a 31xx reason: qes.created,
	// qes.processing, qes.finalized (CANCELED).
	ActionCancel ActionKind = "cancel"
	// ActionFraud has the provider suspect fraud with a 32xx reason: qes.created,
	// qes.processing, qes.finalized (FRAUD_SUSPICION_CONFIRMED or _PENDING).
	ActionFraud ActionKind = "fraud"
	// ActionReviewPending stops after qes.created and qes.processing (REVIEW_PENDING);
	// a later success, cancel or fraud sends only qes.finalized.
	ActionReviewPending ActionKind = "review-pending"
)

// Action is one action on an identification; also the JSON body of
// POST /sim/identifications/{id}/actions.
type Action struct {
	Kind       ActionKind `json:"action"`
	ReasonCode int        `json:"reasonCode,omitempty"`
	// Result overrides the default result: SUCCESS_DATA_CHANGED for success,
	// FRAUD_SUSPICION_PENDING for fraud, CHECK_PENDING for review-pending.
	Result string `json:"result,omitempty"`
}

// Success completes an identification successfully.
func Success() Action { return Action{Kind: ActionSuccess} }

// Abort abandons an identification with an aborted reason (30xx).
func Abort(code int) Action { return Action{Kind: ActionAbort, ReasonCode: code} }

// Cancel cancels an identification with a canceled reason (31xx).
func Cancel(code int) Action { return Action{Kind: ActionCancel, ReasonCode: code} }

// Fraud ends an identification with a confirmed fraud suspicion (32xx).
func Fraud(code int) Action { return Action{Kind: ActionFraud, ReasonCode: code} }

// ReviewPending puts an identification under provider review.
func ReviewPending() Action { return Action{Kind: ActionReviewPending} }

// actionRule is what an action needs and which results it allows (the first is the default).
type actionRule struct {
	minCode, maxCode int // 0, 0: no reason code
	results          []string
}

var actionRules = map[ActionKind]actionRule{
	ActionSuccess:       {results: []string{treezor.ResultSuccess, treezor.ResultSuccessDataChanged}},
	ActionAbort:         {minCode: 3000, maxCode: 3099, results: []string{treezor.ResultAborted}},
	ActionCancel:        {minCode: 3100, maxCode: 3199, results: []string{treezor.ResultCanceled}},
	ActionFraud:         {minCode: 3200, maxCode: 3299, results: []string{treezor.ResultFraudSuspicionConfirmed, treezor.ResultFraudSuspicionPending}},
	ActionReviewPending: {results: []string{treezor.ResultReviewPending, treezor.ResultCheckPending}},
}

// normalized checks the action and fills in the default result.
func (a Action) normalized() (Action, error) {
	rule, ok := actionRules[a.Kind]
	if !ok {
		return a, fmt.Errorf("%w: unknown action %q (want success, abort, cancel, fraud or review-pending)", ErrInvalidAction, a.Kind)
	}
	switch {
	case rule.maxCode == 0 && a.ReasonCode != 0:
		return a, fmt.Errorf("%w: %s takes no reason code", ErrInvalidAction, a.Kind)
	case rule.maxCode != 0 && (a.ReasonCode < rule.minCode || a.ReasonCode > rule.maxCode):
		return a, fmt.Errorf("%w: %s needs a reason code in %d–%d, got %d", ErrInvalidAction, a.Kind, rule.minCode, rule.maxCode, a.ReasonCode)
	}
	if a.Result == "" {
		a.Result = rule.results[0]
	}
	if !slices.Contains(rule.results, a.Result) {
		return a, fmt.Errorf("%w: %s allows results %v, got %q", ErrInvalidAction, a.Kind, rule.results, a.Result)
	}
	return a, nil
}

// Act performs an action on an identification and queues its webhooks. Invalid actions
// and actions on ended identifications change nothing.
func (s *Simulator) Act(identificationID string, a Action) error {
	_, err := s.act(identificationID, a)
	return err
}

// act is Act, returning the webhook types queued.
func (s *Simulator) act(identificationID string, a Action) ([]string, error) {
	a, err := a.normalized()
	if err != nil {
		return nil, fmt.Errorf("act on identification %s: %w", identificationID, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ident, ok := s.idents[identificationID]
	if !ok {
		return nil, fmt.Errorf("act on identification %s: %w", identificationID, ErrUnknownIdentification)
	}
	if ident.ended() {
		return nil, fmt.Errorf("act on identification %s (%s): %w", identificationID, ident.State, ErrIdentificationClosed)
	}
	if ident.State == StateInReview && (a.Kind == ActionAbort || a.Kind == ActionReviewPending) {
		return nil, fmt.Errorf("act on identification %s: %w: %s is not possible once it is under review", identificationID, ErrInvalidAction, a.Kind)
	}
	if s.closed {
		return nil, fmt.Errorf("act on identification %s: %w", identificationID, ErrClosed)
	}
	specs := s.actionWebhooksLocked(ident, a)
	s.changedLocked()
	if err := s.emitLocked(ident.UserID, specs); err != nil {
		return nil, fmt.Errorf("act on identification %s: %w", identificationID, err)
	}
	s.log.Info("identification action", zap.String("identification_id", ident.ID),
		zap.String("user_id", ident.UserID), zap.String("action", string(a.Kind)),
		zap.String("result", a.Result), zap.Int("reason_code", a.ReasonCode))
	events := make([]string, len(specs))
	for i, spec := range specs {
		events[i] = spec.event
	}
	return events, nil
}

// actionWebhooksLocked moves the identification to its new state and returns the webhooks
// to send. Caller holds s.mu.
func (s *Simulator) actionWebhooksLocked(ident *identification, a Action) []webhookSpec {
	var specs []webhookSpec
	if a.Kind == ActionAbort {
		ident.State, ident.Result, ident.Reason = StateAborted, a.Result, a.ReasonCode
		return append(specs, qesSpec(treezor.EventQESAborted, ident, a.Result, a.ReasonCode))
	}
	if ident.State == StateInitiated {
		specs = append(specs, qesSpec(treezor.EventQESCreated, ident, "", 0))
		processingResult := ""
		if a.Kind == ActionReviewPending {
			processingResult = a.Result
		}
		specs = append(specs, qesSpec(treezor.EventQESProcessing, ident, processingResult, 0))
	}
	if a.Kind == ActionReviewPending {
		ident.State, ident.Result = StateInReview, a.Result
		return specs
	}
	ident.State, ident.Result, ident.Reason = StateFinalized, a.Result, a.ReasonCode
	specs = append(specs, qesSpec(treezor.EventQESFinalized, ident, a.Result, a.ReasonCode))
	if a.Kind == ActionSuccess {
		specs = append(specs, s.createDocumentsLocked(ident)...)
	}
	return specs
}

// handleSimAction is POST /sim/identifications/{id}/actions.
func (s *Simulator) handleSimAction(w http.ResponseWriter, r *http.Request) {
	var a Action
	if err := decodeJSON(w, r, &a); err != nil {
		writeSimError(w, fmt.Errorf("%w: %v", ErrInvalidAction, err))
		return
	}
	id := r.PathValue("id")
	if err := s.Act(id, a); err != nil {
		writeSimError(w, err)
		return
	}
	ident, _ := s.Identification(id)
	writeJSON(w, http.StatusOK, map[string]any{
		"identificationId": ident.ID, "userId": ident.UserID, "state": ident.State,
		"result": ident.Result, "reasonCode": ident.Reason, "documents": ident.Documents,
	})
}
