package treezorsim

import (
	"net/http"
	"strconv"
)

// Patterns of the token endpoint and of the storage behind presigned URLs.
const (
	tokenRoute = "POST /oauth/token"
	fileRoute  = "GET /files/{documentId}" // the storage behind presigned URLs
)

// Handler returns the simulator's HTTP handler:
//
//	POST /oauth/token                          client credentials → bearer token
//	POST /v1/users, GET|PUT /v1/users/{userId} sandbox users
//	POST /v1/users/{userId}/qes                initiate QES (201), 428 if user data is incomplete
//	PUT  /v1/users/{userId}/Kycreview          request the KYC review (also …/kycreview)
//	GET  /v1/documents/{documentId}/download   presigned download URL (403 unless DownloadsEnabled)
//	GET  /files/{documentId}?expires=&sig=     the document behind a presigned URL
//	GET  /identifications/{id}                 the end user's page (POST …/actions, …/payin)
//	GET  /kyc                                  the KYC desk (POST /kyc/{userId})
//	POST /sim/users                            create a sandbox user without a token (scripts, try-it)
//	POST /sim/identifications/{id}/actions     {"action","reasonCode","result"}
//	POST /sim/users/{userId}/kycreview         {"decision","comment"}
//	POST /sim/users/{userId}/payins            {"amount"}
//	GET  /sim/users/{userId}                   the user's simulator state (no PII)
//	GET  /sim/stats                            counters
//
// The token endpoint, the /v1 calls and the presigned files answer the RouteFault set on their pattern, if any.
// /v1 calls need a bearer token (read_write for writes, read_only for reads: read_write
// alone cannot read) and are subject to the API fault chaos. With Config.ClientCAFile the
// whole listener requires a client certificate (mutual TLS).
func (s *Simulator) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle(tokenRoute, s.withRouteFault(tokenRoute, http.HandlerFunc(s.handleToken)))

	api := func(pattern string, h http.HandlerFunc) {
		mux.Handle(pattern, s.withRouteFault(pattern, s.withFaults(s.requireScope(h))))
	}
	api("POST /v1/users", s.handleCreateUser)
	api("GET /v1/users/{userId}", s.handleGetUser)
	api("PUT /v1/users/{userId}", s.handleUpdateUser)
	api("POST /v1/users/{userId}/qes", s.handleInitiateQES)
	api("PUT /v1/users/{userId}/Kycreview", s.handleKYCReview)
	api("PUT /v1/users/{userId}/kycreview", s.handleKYCReview)
	api("GET /v1/documents/{documentId}/download", s.handleDocumentDownload)
	api("GET /v1/payins", s.handleListPayins)
	api("GET /v1/wallets", s.handleListWallets)
	mux.Handle(fileRoute, s.withRouteFault(fileRoute, http.HandlerFunc(s.handleFile)))

	mux.HandleFunc("GET /identifications/{id}", s.handleIdentificationPage)
	mux.HandleFunc("POST /identifications/{id}/actions", s.handleIdentificationForm)
	mux.HandleFunc("POST /identifications/{id}/payin", s.handleIdentificationPayin)
	mux.HandleFunc("GET /kyc", s.handleKYCDesk)
	mux.HandleFunc("POST /kyc/{userId}", s.handleKYCDeskForm)
	mux.HandleFunc("GET /{$}", s.handleIndex)

	mux.HandleFunc("POST /sim/users", s.handleCreateUser)
	mux.HandleFunc("POST /sim/identifications/{id}/actions", s.handleSimAction)
	mux.HandleFunc("POST /sim/users/{userId}/kycreview", s.handleSimDecision)
	mux.HandleFunc("POST /sim/users/{userId}/payins", s.handleSimPayin)
	mux.HandleFunc("GET /sim/users/{userId}", s.handleSimUser)
	mux.HandleFunc("GET /sim/stats", s.handleStats)
	mux.HandleFunc("GET /openapi.json", handleOpenAPI)
	return mux
}

// simUser is the JSON of GET /sim/users/{userId}: ids and states only.
type simUser struct {
	UserID                string           `json:"userId"`
	Country               string           `json:"country"`
	MissingFields         []string         `json:"missingFields"`
	KYCReview             string           `json:"kycReview"`
	KYCLevel              string           `json:"kycLevel"`
	KYCReviewPending      bool             `json:"kycReviewPending"`
	Identifications       []simIdentState  `json:"identifications"`
	LastIdentificationID  string           `json:"lastIdentificationId,omitempty"`
	LastIdentificationURL string           `json:"lastIdentificationURL,omitempty"`
	Deliveries            []simDeliveryRow `json:"deliveries"`
}

type simIdentState struct {
	IdentificationID string              `json:"identificationId"`
	State            IdentificationState `json:"state"`
	Result           string              `json:"result,omitempty"`
	ReasonCode       int                 `json:"reasonCode,omitempty"`
	Documents        []string            `json:"documents,omitempty"`
}

type simDeliveryRow struct {
	WebhookID string `json:"webhookId"`
	Webhook   string `json:"webhook"`
	Duplicate bool   `json:"duplicate"`
	Attempts  int    `json:"attempts"`
	OK        bool   `json:"ok"`
	Status    int    `json:"status"`
}

// handleSimUser is GET /sim/users/{userId}, for scripts: the user's identifications (the
// last one's URL included, to open it), KYC state and webhook deliveries.
func (s *Simulator) handleSimUser(w http.ResponseWriter, r *http.Request) {
	userID := r.PathValue("userId")
	s.mu.Lock()
	u, ok := s.users[userID]
	if !ok {
		s.mu.Unlock()
		writeSimError(w, ErrUnknownUser)
		return
	}
	out := simUser{
		UserID: userID, Country: u.Country, MissingFields: u.MissingFields(),
		KYCReview: strconv.Itoa(int(u.kycReview)), KYCLevel: strconv.Itoa(u.kycLevel),
		KYCReviewPending: u.review != nil, Identifications: []simIdentState{}, Deliveries: []simDeliveryRow{},
	}
	for _, id := range u.identifications {
		i := s.idents[id]
		out.Identifications = append(out.Identifications, simIdentState{
			IdentificationID: id, State: i.State, Result: i.Result, ReasonCode: i.Reason, Documents: i.Documents,
		})
		out.LastIdentificationID, out.LastIdentificationURL = id, i.URL
	}
	for _, d := range s.deliveries[userID] {
		out.Deliveries = append(out.Deliveries, simDeliveryRow{
			WebhookID: d.WebhookID, Webhook: d.Webhook, Duplicate: d.Duplicate, Attempts: d.Attempts, OK: d.OK, Status: d.StatusCode,
		})
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}
