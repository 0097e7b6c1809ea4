package starter

import "net/http"

// route is one operation of the API. Every route lives in routeTable, which the mux, the
// auth check and the OpenAPI test all read.
type route struct {
	method      string
	path        string // http.ServeMux pattern path, e.g. /v1/onboardings/{userId}
	operationID string // the OpenAPI operationId
	scope       Scope  // required scope; 0: public
	// anyScope: any one of the scopes in scope is enough; the handler answers each caller
	// with the view its scopes allow.
	anyScope bool
	// statuses are the status codes the handler can answer with (the OpenAPI test compares
	// them to the document's responses, and the API tests check every answer against them).
	statuses []int
	handle   func(a *api, w http.ResponseWriter, r *http.Request, caller Scope)
}

// pattern is the http.ServeMux pattern, also the route's label in metrics and logs.
func (rt route) pattern() string { return rt.method + " " + rt.path }

// Status codes shared by the authenticated routes.
var (
	authStatuses   = []int{http.StatusUnauthorized, http.StatusForbidden, http.StatusTooManyRequests}
	serverStatuses = []int{http.StatusInternalServerError, http.StatusServiceUnavailable, http.StatusGatewayTimeout}
)

func statuses(own ...int) []int {
	out := append([]int{}, own...)
	out = append(out, authStatuses...)
	return append(out, serverStatuses...)
}

func routeTable() []route {
	actionStatuses := statuses(http.StatusOK, http.StatusBadRequest, http.StatusNotFound,
		http.StatusConflict, http.StatusRequestEntityTooLarge)
	queryStatuses := statuses(http.StatusOK, http.StatusBadRequest, http.StatusNotFound)
	return []route{
		{
			method: http.MethodPost, path: "/v1/onboardings", operationID: "createOnboarding",
			scope: ScopeOnboarding, handle: (*api).createOnboarding,
			statuses: statuses(http.StatusOK, http.StatusCreated, http.StatusBadRequest, http.StatusConflict,
				http.StatusRequestEntityTooLarge, http.StatusUnprocessableEntity),
		},
		{
			method: http.MethodGet, path: "/v1/onboardings", operationID: "listOnboardings",
			scope: ScopeOnboarding | ScopeCompliance, anyScope: true, handle: (*api).listOnboardings,
			statuses: statuses(http.StatusOK, http.StatusBadRequest),
		},
		{
			method: http.MethodGet, path: "/v1/onboardings/{userId}", operationID: "getOnboardingStatus",
			scope: ScopeOnboarding, handle: (*api).getStatus, statuses: queryStatuses,
		},
		{
			method: http.MethodGet, path: "/v1/onboardings/{userId}/details", operationID: "getOnboardingDetails",
			scope: ScopeCompliance, handle: (*api).getDetails, statuses: queryStatuses,
		},
		{
			method: http.MethodPost, path: "/v1/onboardings/{userId}/restart", operationID: "restartOnboarding",
			scope: ScopeOnboarding, handle: (*api).restart, statuses: actionStatuses,
		},
		{
			method: http.MethodPost, path: "/v1/onboardings/{userId}/cancel", operationID: "cancelOnboarding",
			scope: ScopeOnboarding, handle: (*api).cancel, statuses: actionStatuses,
		},
		{
			method: http.MethodPost, path: "/v1/onboardings/{userId}/compliance-decision", operationID: "decideCompliance",
			scope: ScopeCompliance, handle: (*api).complianceDecision, statuses: actionStatuses,
		},
		{
			method: http.MethodGet, path: "/openapi.json", operationID: "getOpenAPIDocument",
			handle: (*api).openAPIDocument, statuses: []int{http.StatusOK},
		},
	}
}
