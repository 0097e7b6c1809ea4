package starter

import (
	"context"
	"errors"
	"fmt"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/qesflow/qesflow/workflows"
)

// StartRequest asks for a user's identification URL, starting the onboarding if none runs.
type StartRequest struct {
	UserID      string
	RedirectURL string // optional; absolute http(s) URL, https only in production mode
	Country     string // optional ISO 3166-1 alpha-2; "DE" adds the SEPA step
	// WalletID is the user's Treezor wallet that receives the SEPA transfer (optional).
	WalletID string
	// Override lets a new onboarding start although the last one was REJECTED by compliance.
	// The HTTP layer allows it for compliance-scoped keys only. It never overrides a
	// COMPLETED_VALIDATED onboarding.
	Override bool
}

// StartResponse is the onboarding the call started or found running.
type StartResponse struct {
	UserID           string
	WorkflowID       string
	RunID            string
	IdentificationID string
	// IdentificationURL is the user's own URL: hand it to the user, never log it. It is empty
	// when the onboarding has no identification for the user to open right now (it is under
	// review, waiting for a restart, or a new attempt is scheduled): State says which.
	IdentificationURL string
	Attempt           int
	State             workflows.State // as the update returned it (internal view)
	// Created is true when this call started the run, false when it joined a run that was
	// already going (see Start).
	Created bool
}

// PublicState is State in the end-user-safe vocabulary: fraud and compliance states read
// UNDER_REVIEW.
func (r StartResponse) PublicState() string { return publicState(r.State) }

// Start returns the identification URL of the user's onboarding, starting one if none runs,
// in one Update-With-Start call: the workflow is started unless a run for the user's workflow
// id is going (conflict policy USE_EXISTING), and the identification-url update waits for the
// URL. Two calls for the same user therefore get the same run and the same URL.
//
// Before that, the latest run is described: a closed one that ended COMPLETED_VALIDATED is a
// KindAlreadyValidated error, one that ended REJECTED a KindRejected error unless
// req.Override; any other ended run (declined, expired, cancelled, failed, refused, or a
// failed/terminated execution) lets a new run start under the same workflow id.
//
// The check and the start cannot be one call, so the start says what it checked: when the
// latest run was running (or there was none), the start may only join a running run (reuse
// policy REJECT_DUPLICATE); if that run ends between the two calls, the start is refused and
// the call checks again, so a run that just ended REJECTED or validated is never followed by
// a new one without the rule being applied to it.
//
// One window remains, and no call of Temporal's API closes it: when the latest run had ended
// and the check allowed a new one, the start allows a duplicate (ALLOW_DUPLICATE), and Temporal
// starts it after whatever run is latest when the start arrives. If, between this call's
// describe and its start, another caller starts a run and that whole run ends (REJECTED by
// compliance, or validated), this call starts the next run without the rule being applied to
// the run that ended. Temporal has no start conditioned on the run it replaces, a new run does
// not learn which run it replaced, and visibility, the only list of a workflow id's runs, lags.
// The window is two RPCs of one API call wide, while the run that slips in must go through a
// Treezor identification and a compliance decision or a KYC review. docs/architecture.md says
// so too.
//
// Created is decided by comparing run ids: false when the run that answered is the run that was
// running when the call began, true otherwise. Two truly concurrent first calls for one user may
// both report Created (they still share the one run and URL).
func (s *Service) Start(ctx context.Context, req StartRequest) (StartResponse, error) {
	const op = "start"
	in, err := s.startInput(req)
	if err != nil {
		return StartResponse{}, err
	}
	wid := workflows.WorkflowID(in.UserID)
	for try := 1; ; try++ {
		prev, prior, err := s.checkLatestRun(ctx, op, in.UserID, wid, req.Override)
		if err != nil {
			return StartResponse{}, err
		}
		in.PriorWebhooks = prior
		reuse := enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE
		if prev != nil && !prev.running() {
			reuse = enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE
		}
		res, runID, err := s.updateWithStart(ctx, in, reuse)
		var started *serviceerror.WorkflowExecutionAlreadyStarted
		if errors.As(err, &started) && try < maxStartChecks {
			continue // the run we checked ended meanwhile: check the run that ended
		}
		if err != nil {
			e := s.classify(op, in.UserID, wid, err)
			if e.Kind == KindIdentificationNotAvailable && runID != "" && try < maxStartChecks {
				// The run has ended and is closing (it may wait a moment for its outbound
				// events): once it has closed, check again and start the next one.
				s.waitClosed(ctx, wid, runID)
				continue
			}
			if e.Kind == KindNotFound { // the run ended while the update waited
				e.Kind = KindIdentificationNotAvailable
				e.Reason = "the onboarding ended before an identification URL was available"
			}
			e.RunID = runID
			return StartResponse{}, e
		}
		return StartResponse{
			UserID:            in.UserID,
			WorkflowID:        wid,
			RunID:             runID,
			IdentificationID:  res.IdentificationID,
			IdentificationURL: res.IdentificationURL,
			Attempt:           res.Attempt,
			State:             res.State,
			Created:           prev == nil || !prev.running() || prev.runID != runID,
		}, nil
	}
}

// waitClosed waits, at most the update timeout, for the run to close.
func (s *Service) waitClosed(ctx context.Context, workflowID, runID string) {
	wctx, cancel := context.WithTimeout(ctx, s.updateTimeout)
	defer cancel()
	_ = s.temporal.GetWorkflow(wctx, workflowID, runID).Get(wctx, nil) // its outcome is checked by the next round
}

// maxStartChecks bounds how often Start checks again after the run it checked ended
// between the check and the start.
const maxStartChecks = 5

// checkLatestRun describes the latest run and applies the 409 rules when it has ended; it
// returns the payload hashes the ended run applied (for the next run's deduplication).
func (s *Service) checkLatestRun(ctx context.Context, op, userID, wid string, override bool) (*execution, []string, error) {
	dctx, cancel := context.WithTimeout(ctx, s.callTimeout)
	defer cancel()
	prev, err := s.describe(dctx, wid)
	if err != nil {
		return nil, nil, s.classify(op, userID, wid, err)
	}
	var prior []string
	if prev != nil && !prev.running() {
		if prior, err = s.checkNewRunAllowed(dctx, op, userID, wid, prev, override); err != nil {
			return nil, nil, err
		}
	}
	if prev == nil { // no visible run: ask Treezor (kycguard.go)
		if err := s.checkTreezorKYC(dctx, op, userID, wid); err != nil {
			return nil, nil, err
		}
	}
	return prev, prior, nil
}

func (s *Service) startInput(req StartRequest) (workflows.Input, error) {
	const op = "start"
	if err := ValidUserID(req.UserID); err != nil {
		return workflows.Input{}, invalid(op, "userId", err.Error())
	}
	if req.RedirectURL != "" {
		if err := validRedirectURL(req.RedirectURL, s.production); err != nil {
			return workflows.Input{}, invalid(op, "redirectUrl", err.Error())
		}
	}
	country, err := normalizeCountry(req.Country)
	if err != nil {
		return workflows.Input{}, invalid(op, "country", err.Error())
	}
	if req.WalletID != "" {
		if err := ValidUserID(req.WalletID); err != nil {
			return workflows.Input{}, invalid(op, "walletId", err.Error())
		}
	}
	return workflows.Input{UserID: req.UserID, RedirectURL: req.RedirectURL, Country: country, WalletID: req.WalletID, Policy: s.policy}, nil
}

// checkNewRunAllowed applies the 409 rules to the closed latest run.
func (s *Service) checkNewRunAllowed(ctx context.Context, op, userID, wid string, prev *execution, override bool) ([]string, error) {
	last, err := s.lastResult(ctx, wid, prev)
	if err != nil {
		if errIsNotFound(err) {
			return nil, s.checkTreezorKYC(ctx, op, userID, wid) // the run's history is gone (retention): ask Treezor
		}
		return nil, s.classify(op, userID, wid, fmt.Errorf("read the result of run %s: %w", prev.runID, err))
	}
	if last == nil {
		return nil, nil // terminated, timed out, canceled, invalid input: no business result, start again
	}
	prior := last.AppliedHashes
	last.AppliedHashes = nil
	switch {
	case last.State == workflows.StateCompletedValidated:
		return nil, &Error{Kind: KindAlreadyValidated, Op: op, UserID: userID, WorkflowID: wid, RunID: prev.runID,
			LastResult: last, Reason: "the user's last onboarding ended validated"}
	case last.State == workflows.StateRejected && !override:
		return nil, &Error{Kind: KindRejected, Op: op, UserID: userID, WorkflowID: wid, RunID: prev.runID,
			LastResult: last, Reason: "the user's last onboarding was rejected; only an override starts a new one"}
	}
	return prior, nil
}

// lastResult reads the Result of the closed run prev: the value of a completed run, the
// error details of a run whose onboarding ended FAILED (workflows.FailedResult), nil for a
// run that left none (terminated, timed out, invalid input).
func (s *Service) lastResult(ctx context.Context, wid string, prev *execution) (*workflows.Result, error) {
	switch prev.status {
	case enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED, enumspb.WORKFLOW_EXECUTION_STATUS_FAILED:
	default:
		return nil, nil
	}
	var last workflows.Result
	err := s.temporal.GetWorkflow(ctx, wid, prev.runID).Get(ctx, &last)
	if failed, ok := workflows.FailedResult(err); ok {
		return &failed, nil
	}
	if err != nil {
		var runErr *temporal.WorkflowExecutionError
		if errors.As(err, &runErr) {
			return nil, nil // the run failed without a Result (invalid input): nothing to carry
		}
		return nil, err
	}
	return &last, nil
}

// updateWithStart runs the Update-With-Start call and returns the update's result and the run id.
func (s *Service) updateWithStart(ctx context.Context, in workflows.Input, reuse enumspb.WorkflowIdReusePolicy) (workflows.IdentificationURLResult, string, error) {
	uctx, cancel := context.WithTimeout(ctx, s.updateTimeout)
	defer cancel()
	opts := s.startOptions(in.UserID)
	opts.WorkflowIDReusePolicy = reuse
	opts.TypedSearchAttributes = workflows.StartSearchAttributesOf(in)
	startOp := s.temporal.NewWithStartWorkflowOperation(opts, workflows.WorkflowName, in)
	handle, err := s.temporal.UpdateWithStartWorkflow(uctx, client.UpdateWithStartWorkflowOptions{
		StartWorkflowOperation: startOp,
		UpdateOptions: client.UpdateWorkflowOptions{
			UpdateName:   workflows.UpdateIdentificationURL,
			WaitForStage: client.WorkflowUpdateStageCompleted,
		},
	})
	if err != nil {
		return workflows.IdentificationURLResult{}, "", err
	}
	runID := handle.RunID()
	if run, err := startOp.Get(uctx); err == nil && run.GetRunID() != "" {
		runID = run.GetRunID()
	}
	var res workflows.IdentificationURLResult
	if err := handle.Get(uctx, &res); err != nil {
		return workflows.IdentificationURLResult{}, runID, err
	}
	return res, runID, nil
}

func (s *Service) startOptions(userID string) client.StartWorkflowOptions {
	return client.StartWorkflowOptions{
		ID:                       workflows.WorkflowID(userID),
		TaskQueue:                s.taskQueue,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		TypedSearchAttributes:    workflows.StartSearchAttributes(userID),
	}
}

// errIsNotFound reports a Temporal NotFound (no such workflow, or the run has completed).
func errIsNotFound(err error) bool {
	var nf *serviceerror.NotFound
	return errors.As(err, &nf)
}
