// Package starter is the onboarding API: the Go Service that starts, inspects, restarts and
// cancels QES onboardings on Temporal, and the thin, authenticated HTTP layer over it
// (New). `qesflow api` serves the HTTP layer; `qesflow start` calls the Service directly.
package starter

import (
	"context"
	"errors"
	"fmt"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.uber.org/zap"

	"github.com/qesflow/qesflow/workflows"
)

// Defaults of Config.
const (
	DefaultUpdateTimeout = 30 * time.Second
	DefaultCallTimeout   = 10 * time.Second
)

// TemporalClient is the part of client.Client the starter uses; a client.Client satisfies it.
type TemporalClient interface {
	NewWithStartWorkflowOperation(options client.StartWorkflowOptions, workflow any, args ...any) client.WithStartWorkflowOperation
	UpdateWithStartWorkflow(ctx context.Context, options client.UpdateWithStartWorkflowOptions) (client.WorkflowUpdateHandle, error)
	DescribeWorkflowExecution(ctx context.Context, workflowID, runID string) (*workflowservice.DescribeWorkflowExecutionResponse, error)
	GetWorkflow(ctx context.Context, workflowID string, runID string) client.WorkflowRun
	QueryWorkflow(ctx context.Context, workflowID string, runID string, queryType string, args ...any) (converter.EncodedValue, error)
	UpdateWorkflow(ctx context.Context, options client.UpdateWorkflowOptions) (client.WorkflowUpdateHandle, error)
	CheckHealth(ctx context.Context, request *client.CheckHealthRequest) (*client.CheckHealthResponse, error)
	ListWorkflow(ctx context.Context, request *workflowservice.ListWorkflowExecutionsRequest) (*workflowservice.ListWorkflowExecutionsResponse, error)
}

// Service is the onboarding API as Go calls. It is safe for concurrent use.
type Service struct {
	temporal      TemporalClient
	namespace     string
	taskQueue     string
	production    bool
	policy        *workflows.PolicyOverride
	updateTimeout time.Duration
	callTimeout   time.Duration
	log           *zap.Logger
	treezor       TreezorUsers // nil: no kycReview check before a start (kycguard.go)
}

// NewService builds the Service from cfg; only cfg.Temporal is required (API keys are the
// HTTP layer's concern).
func NewService(cfg Config) (*Service, error) {
	if cfg.Temporal == nil {
		return nil, errors.New("starter: a Temporal client is required")
	}
	if cfg.Policy != nil {
		if err := (workflows.Input{UserID: "policy-check", Policy: cfg.Policy}).Validate(); err != nil {
			return nil, fmt.Errorf("starter: %w", err)
		}
	}
	cfg = cfg.withDefaults()
	return &Service{
		temporal:      cfg.Temporal,
		namespace:     cfg.Namespace,
		taskQueue:     cfg.TaskQueue,
		production:    cfg.ProductionMode,
		policy:        cfg.Policy,
		updateTimeout: cfg.UpdateTimeout,
		callTimeout:   cfg.CallTimeout,
		log:           cfg.Logger,
		treezor:       cfg.Treezor,
	}, nil
}

// Ready reports whether Temporal answers its health check (for /readyz).
func (s *Service) Ready(ctx context.Context) error {
	_, err := s.temporal.CheckHealth(ctx, &client.CheckHealthRequest{})
	return err
}

// Status returns the end-user-safe status (query workflows.QueryUserStatus) of the user's latest
// onboarding, running or closed. Fraud never shows in it.
func (s *Service) Status(ctx context.Context, userID string) (workflows.UserStatus, error) {
	var us workflows.UserStatus
	if err := s.query(ctx, "status", userID, workflows.QueryUserStatus, &us); err != nil {
		return workflows.UserStatus{}, err
	}
	safe, masked := maskUserStatus(us)
	if masked {
		// A workflow defect: the end-user view must never name fraud or compliance.
		s.log.Error("user-status query exposed an internal state; masked it",
			zap.String("userId", userID), zap.String("workflowId", workflows.WorkflowID(userID)))
	}
	return safe, nil
}

// Details returns the internal status (query workflows.QueryStatus) for operators and
// compliance, reasons and fraud suspicions included.
func (s *Service) Details(ctx context.Context, userID string) (workflows.Status, error) {
	var st workflows.Status
	if err := s.query(ctx, "details", userID, workflows.QueryStatus, &st); err != nil {
		return workflows.Status{}, err
	}
	return st, nil
}

// ActionResponse is the state an operator action led to, in both views: the HTTP layer
// answers each caller with the view its scopes allow.
type ActionResponse struct {
	UserID     string
	WorkflowID string
	Action     string
	Result     workflows.ActionResult
}

// Restart asks the running onboarding for a new attempt (after the user fixed their data).
// It is refused (KindNotApplicable) where the onboarding does not wait for one.
func (s *Service) Restart(ctx context.Context, userID string, req workflows.RestartRequest) (ActionResponse, error) {
	const op = "restart"
	if err := validText(req.Reason, maxReasonLen); err != nil {
		return ActionResponse{}, invalid(op, "reason", err.Error())
	}
	return s.action(ctx, op, userID, workflows.UpdateRestart, req)
}

// Cancel stops the running onboarding (operator action).
func (s *Service) Cancel(ctx context.Context, userID string, req workflows.CancelRequest) (ActionResponse, error) {
	const op = "cancel"
	if err := validText(req.Reason, maxReasonLen); err != nil {
		return ActionResponse{}, invalid(op, "reason", err.Error())
	}
	return s.action(ctx, op, userID, workflows.UpdateCancel, req)
}

// ComplianceDecision delivers compliance's verdict (clear or reject) on a fraud suspicion.
// It is refused (KindNotApplicable) outside a compliance review.
func (s *Service) ComplianceDecision(ctx context.Context, userID string, d workflows.ComplianceDecision) (ActionResponse, error) {
	const op = "compliance-decision"
	if d.Decision != workflows.DecisionClear && d.Decision != workflows.DecisionReject {
		return ActionResponse{}, invalid(op, "decision", `must be "clear" or "reject"`)
	}
	if err := validText(d.Note, maxNoteLen); err != nil {
		return ActionResponse{}, invalid(op, "note", err.Error())
	}
	return s.action(ctx, op, userID, workflows.UpdateComplianceDecision, d)
}

func (s *Service) query(ctx context.Context, op, userID, queryType string, out any) error {
	if err := ValidUserID(userID); err != nil {
		return invalid(op, "userId", err.Error())
	}
	wid := workflows.WorkflowID(userID)
	qctx, cancel := context.WithTimeout(ctx, s.callTimeout)
	defer cancel()
	v, err := s.temporal.QueryWorkflow(qctx, wid, "", queryType)
	if err != nil {
		return s.classify(op, userID, wid, err)
	}
	if err := v.Get(out); err != nil {
		return &Error{Kind: KindInternal, Op: op, UserID: userID, WorkflowID: wid, Reason: "decode query result", Err: err}
	}
	return nil
}

// action sends an operator action (a workflow update) to the user's running onboarding and
// waits for the state it led to.
func (s *Service) action(ctx context.Context, op, userID, name string, arg any) (ActionResponse, error) {
	if err := ValidUserID(userID); err != nil {
		return ActionResponse{}, invalid(op, "userId", err.Error())
	}
	wid := workflows.WorkflowID(userID)
	uctx, cancel := context.WithTimeout(ctx, s.updateTimeout)
	defer cancel()
	var res workflows.ActionResult
	handle, err := s.temporal.UpdateWorkflow(uctx, client.UpdateWorkflowOptions{
		WorkflowID: wid, UpdateName: name, Args: []any{arg},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err == nil {
		err = handle.Get(uctx, &res)
	}
	if err == nil {
		return ActionResponse{UserID: userID, WorkflowID: wid, Action: name, Result: res}, nil
	}
	e := s.classify(op, userID, wid, err)
	if e.Kind != KindNotFound {
		return ActionResponse{}, e
	}
	// Not found: either no onboarding ever ran for this user, or the latest one has ended.
	dctx, dcancel := context.WithTimeout(ctx, s.callTimeout)
	defer dcancel()
	last, derr := s.describe(dctx, wid)
	if derr != nil {
		return ActionResponse{}, s.classify(op, userID, wid, derr)
	}
	if last != nil && !last.running() {
		e.Kind = KindClosed
		e.RunID = last.runID
		e.Reason = "the onboarding has ended"
		if res, rerr := s.lastResult(dctx, wid, last); rerr == nil && res != nil {
			// How it ended, in both views: the problem says it in the caller's words.
			e.Current = &workflows.ActionResult{UserID: userID, State: res.State, Attempt: res.Attempts,
				User: workflows.EndedUserStatus(*res)}
		}
	}
	return ActionResponse{}, e
}

// execution is what DescribeWorkflowExecution tells about the latest run of a workflow id.
type execution struct {
	runID  string
	status enumspb.WorkflowExecutionStatus
}

func (x *execution) running() bool {
	return x.status == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING
}

// describe returns the latest run of wid, or nil when there is none.
func (s *Service) describe(ctx context.Context, wid string) (*execution, error) {
	resp, err := s.temporal.DescribeWorkflowExecution(ctx, wid, "")
	if err != nil {
		var nf *serviceerror.NotFound
		if errors.As(err, &nf) {
			return nil, nil
		}
		return nil, err
	}
	info := resp.GetWorkflowExecutionInfo()
	return &execution{runID: info.GetExecution().GetRunId(), status: info.GetStatus()}, nil
}
