package starter

import (
	"errors"
	"net/http"
	"time"

	"go.uber.org/zap"

	"github.com/qesflow/qesflow/internal/httpserver"
	"github.com/qesflow/qesflow/workflows"
)

// api is the HTTP layer over the Service.
type api struct {
	svc     *Service
	keys    *keyring
	log     *zap.Logger
	metrics *apiMetrics
	mux     *http.ServeMux
	limiter *httpserver.AuthLimiter
}

// New returns the onboarding API's HTTP handler (routes in routeTable, OpenAPI document at
// GET /openapi.json). It fails without a Temporal client or without at least one API key.
// Mount it behind internal/httpserver, which adds /healthz, /readyz, /metrics and request ids.
func New(cfg Config) (http.Handler, error) {
	svc, err := NewService(cfg)
	if err != nil {
		return nil, err
	}
	keys, err := newKeyring(cfg.Keys)
	if err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	a := &api{
		svc:     svc,
		keys:    keys,
		log:     cfg.Logger.With(zap.String("namespace", cfg.Namespace)),
		metrics: newAPIMetrics(cfg.Registry),
		mux:     http.NewServeMux(),
		limiter: cfg.AuthLimiter,
	}
	if a.limiter == nil {
		a.limiter = httpserver.NewAuthLimiter()
	}
	for _, rt := range routeTable() {
		a.mux.Handle(rt.pattern(), a.instrument(rt))
	}
	a.mux.HandleFunc("/", a.unmatched)
	return a.mux, nil
}

// instrument wraps one route with metrics and the scope check.
func (a *api) instrument(rt route) http.Handler {
	label := rt.pattern()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusWriter{ResponseWriter: w}
		defer func() { a.metrics.observe(label, rec.statusOr500(), time.Since(start)) }()
		caller, ok := a.authorize(rec, r, rt.scope, rt.anyScope)
		if !ok {
			return
		}
		if rt.scope != 0 && !acceptRequestShape(rec, r) {
			return
		}
		rt.handle(a, rec, r, caller)
	})
}

// unmatched answers paths outside the table: 405 with Allow when another method fits, else 404.
func (a *api) unmatched(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rec := &statusWriter{ResponseWriter: w}
	defer func() { a.metrics.observe("unmatched", rec.statusOr500(), time.Since(start)) }()
	var allowed []string
	for _, m := range []string{http.MethodGet, http.MethodPost} {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := a.mux.Handler(probe); pattern != "" && pattern != "/" {
			allowed = append(allowed, m)
		}
	}
	if len(allowed) > 0 {
		for _, m := range allowed {
			rec.Header().Add("Allow", m)
		}
		writeProblem(rec, r, simpleProblem(problemMethodNotAllowed, "Method not allowed",
			http.StatusMethodNotAllowed, "This path does not support "+r.Method+"."))
		return
	}
	writeProblem(rec, r, simpleProblem(KindNotFound.String(), "Not found", http.StatusNotFound,
		"No such route; see GET /openapi.json."))
}

// fail answers a Service error and logs the outcome (ids and kind only).
func (a *api) fail(w http.ResponseWriter, r *http.Request, op string, caller Scope, err error) {
	p := problemFromError(err, caller)
	fields := a.logFields(r, op, p.UserID, p.WorkflowID, p.RunID, KindOf(err).String())
	switch KindOf(err) {
	case KindInternal:
		a.log.Error("onboarding request failed", append(fields, zap.Error(err))...)
	case KindUnavailable, KindTimeout:
		a.log.Warn("onboarding request failed", fields...)
	default:
		a.log.Info("onboarding request refused", fields...)
	}
	writeProblem(w, r, p)
}

func (a *api) logFields(r *http.Request, op, userID, workflowID, runID, outcome string) []zap.Field {
	return []zap.Field{
		zap.String("op", op),
		zap.String("userId", userID),
		zap.String("workflowId", workflowID),
		zap.String("runId", runID),
		zap.String("outcome", outcome),
		zap.String("requestId", httpserver.RequestIDFrom(r.Context())),
	}
}

// userIDFromPath reads and checks the {userId} path value.
func userIDFromPath(r *http.Request, op string) (string, error) {
	id := r.PathValue("userId")
	if err := ValidUserID(id); err != nil {
		return "", invalid(op, "userId", err.Error())
	}
	return id, nil
}

// onboardingResponse is the body of 200/201 answers to POST /v1/onboardings.
type onboardingResponse struct {
	UserID            string `json:"userId"`
	WorkflowID        string `json:"workflowId"`
	RunID             string `json:"runId"`
	IdentificationID  string `json:"identificationId,omitempty"`
	IdentificationURL string `json:"identificationURL,omitempty"` // absent: nothing to open right now
	Attempt           int    `json:"attempt"`
	Status            string `json:"status"`
	Created           bool   `json:"created"`
}

// createRequest is the body of POST /v1/onboardings.
type createRequest struct {
	UserID      string `json:"userId"`
	RedirectURL string `json:"redirectUrl,omitempty"`
	Country     string `json:"country,omitempty"`
	WalletID    string `json:"walletId,omitempty"`
	Override    bool   `json:"override,omitempty"`
}

func (a *api) createOnboarding(w http.ResponseWriter, r *http.Request, caller Scope) {
	const op = "start"
	var req createRequest
	if !a.readBody(w, r, op, caller, &req, false) {
		return
	}
	if req.Override && !caller.Has(ScopeCompliance) {
		a.forbidden(w, r, ScopeCompliance, `"override" needs a key with the compliance scope`)
		return
	}
	res, err := a.svc.Start(r.Context(), StartRequest{
		UserID: req.UserID, RedirectURL: req.RedirectURL, Country: req.Country, WalletID: req.WalletID, Override: req.Override,
	})
	if err != nil {
		a.fail(w, r, op, caller, err)
		return
	}
	status, outcome := http.StatusOK, "existing"
	if res.Created {
		status, outcome = http.StatusCreated, "created"
	}
	if res.IdentificationURL == "" {
		outcome += "-no-identification"
	}
	a.log.Info("onboarding identification handed out",
		a.logFields(r, op, res.UserID, res.WorkflowID, res.RunID, outcome)...)
	w.Header().Set("Location", "/v1/onboardings/"+res.UserID)
	writeJSON(w, status, onboardingResponse{
		UserID:            res.UserID,
		WorkflowID:        res.WorkflowID,
		RunID:             res.RunID,
		IdentificationID:  res.IdentificationID,
		IdentificationURL: res.IdentificationURL,
		Attempt:           res.Attempt,
		Status:            res.PublicState(),
		Created:           res.Created,
	})
}

func (a *api) getStatus(w http.ResponseWriter, r *http.Request, caller Scope) {
	const op = "status"
	userID, err := userIDFromPath(r, op)
	if err == nil {
		var us workflows.UserStatus
		if us, err = a.svc.Status(r.Context(), userID); err == nil {
			writeJSON(w, http.StatusOK, us)
			return
		}
	}
	a.fail(w, r, op, caller, err)
}

func (a *api) getDetails(w http.ResponseWriter, r *http.Request, caller Scope) {
	const op = "details"
	userID, err := userIDFromPath(r, op)
	if err == nil {
		var st workflows.Status
		if st, err = a.svc.Details(r.Context(), userID); err == nil {
			writeJSON(w, http.StatusOK, statusWire(st))
			return
		}
	}
	a.fail(w, r, op, caller, err)
}

func (a *api) restart(w http.ResponseWriter, r *http.Request, caller Scope) {
	const op = "restart"
	var req workflows.RestartRequest
	a.action(w, r, op, caller, &req, true, func(userID string) (ActionResponse, error) {
		return a.svc.Restart(r.Context(), userID, req)
	})
}

func (a *api) cancel(w http.ResponseWriter, r *http.Request, caller Scope) {
	const op = "cancel"
	var req workflows.CancelRequest
	a.action(w, r, op, caller, &req, true, func(userID string) (ActionResponse, error) {
		return a.svc.Cancel(r.Context(), userID, req)
	})
}

func (a *api) complianceDecision(w http.ResponseWriter, r *http.Request, caller Scope) {
	const op = "compliance-decision"
	var req struct { // the document's body; the operator's name is the console's to set
		Decision string `json:"decision"`
		Note     string `json:"note,omitempty"`
	}
	a.action(w, r, op, caller, &req, false, func(userID string) (ActionResponse, error) {
		return a.svc.ComplianceDecision(r.Context(), userID, workflows.ComplianceDecision{Decision: req.Decision, Note: req.Note})
	})
}

// actionResponse is the body of 200 answers to the operator actions.
type actionResponse struct {
	UserID     string `json:"userId"`
	WorkflowID string `json:"workflowId"`
	Action     string `json:"action"`
	State      string `json:"state"` // as the caller may see it
	Attempt    int    `json:"attempt"`
}

// action is the shared shape of the operator action routes: path user id, JSON body, 200
// with the state the action led to.
func (a *api) action(w http.ResponseWriter, r *http.Request, op string, caller Scope, body any, optional bool,
	send func(userID string) (ActionResponse, error)) {
	userID, err := userIDFromPath(r, op)
	if err != nil {
		a.fail(w, r, op, caller, err)
		return
	}
	if !a.readBody(w, r, op, caller, body, optional) {
		return
	}
	res, err := send(userID)
	if err != nil {
		a.fail(w, r, op, caller, err)
		return
	}
	a.log.Info("onboarding action applied", a.logFields(r, op, res.UserID, res.WorkflowID, "", "applied")...)
	writeJSON(w, http.StatusOK, actionResponse{
		UserID: res.UserID, WorkflowID: res.WorkflowID, Action: res.Action,
		State: scopedState(res.Result, caller), Attempt: res.Result.Attempt,
	})
}

// readBody decodes the JSON body into dst, answering 400/413 itself when it cannot.
func (a *api) readBody(w http.ResponseWriter, r *http.Request, op string, caller Scope, dst any, optional bool) bool {
	err := decodeJSONBody(w, r, dst, optional)
	if err == nil {
		return true
	}
	if errors.Is(err, errBodyTooLarge) {
		a.log.Info("onboarding request refused", a.logFields(r, op, "", "", "", problemPayloadTooLarge)...)
		writeProblem(w, r, simpleProblem(problemPayloadTooLarge, "Payload too large",
			http.StatusRequestEntityTooLarge, "The request body exceeds 64 KiB."))
		return false
	}
	a.fail(w, r, op, caller, invalid(op, "body", err.Error()))
	return false
}

func (a *api) openAPIDocument(w http.ResponseWriter, _ *http.Request, _ Scope) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(openAPIJSON)
}

// statusWriter remembers the status a handler wrote, for metrics.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

func (s *statusWriter) statusOr500() int {
	if s.status == 0 {
		return http.StatusInternalServerError // the handler panicked before answering
	}
	return s.status
}
