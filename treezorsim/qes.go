package treezorsim

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"time"

	"go.uber.org/zap"
)

// IdentificationState is where an identification stands.
type IdentificationState string

// Identification states.
const (
	// StateInitiated: created by POST /qes, the user has not finished yet.
	StateInitiated IdentificationState = "INITIATED"
	// StateInReview: qes.created and qes.processing were sent, no final result yet.
	StateInReview IdentificationState = "IN_REVIEW"
	// StateFinalized: qes.finalized was sent.
	StateFinalized IdentificationState = "FINALIZED"
	// StateAborted: qes.aborted was sent.
	StateAborted IdentificationState = "ABORTED"
)

// Identification is a snapshot of one identification.
type Identification struct {
	ID        string
	UserID    string
	URL       string
	State     IdentificationState
	Result    string
	Reason    int
	Documents []string
	CreatedAt time.Time
}

// identification is the simulator's state of one identification. Guarded by Simulator.mu.
type identification struct {
	Identification
	redirectURL string
}

func (i *identification) ended() bool {
	return i.State == StateFinalized || i.State == StateAborted
}

// LastIdentification returns the user's most recent identification.
func (s *Simulator) LastIdentification(userID string) (id, identificationURL string, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[userID]
	if !ok || len(u.identifications) == 0 {
		return "", "", false
	}
	last := s.idents[u.identifications[len(u.identifications)-1]]
	return last.ID, last.URL, true
}

// Identification returns a snapshot of an identification.
func (s *Simulator) Identification(id string) (Identification, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i, ok := s.idents[id]
	if !ok {
		return Identification{}, false
	}
	snap := i.Identification
	snap.Documents = append([]string(nil), i.Documents...)
	return snap, true
}

// Identifications returns the user's identifications in creation order.
func (s *Simulator) Identifications(userID string) []Identification {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[userID]
	if !ok {
		return nil
	}
	out := make([]Identification, 0, len(u.identifications))
	for _, id := range u.identifications {
		snap := s.idents[id].Identification
		snap.Documents = append([]string(nil), snap.Documents...)
		out = append(out, snap)
	}
	return out
}

type qesRequest struct {
	RedirectURL string `json:"redirectUrl"`
	AccessTag   string `json:"accessTag"`
}

// handleInitiateQES is POST /v1/users/{userId}/qes.
func (s *Simulator) handleInitiateQES(w http.ResponseWriter, r *http.Request) {
	userID := r.PathValue("userId")
	var req qesRequest
	if err := decodeJSON(w, r, &req); err != nil {
		writeTreezorError(w, http.StatusBadRequest, "invalid_request", "input_validation_error", err.Error())
		return
	}
	key := accessTagKey{op: "qes", userID: userID, tag: accessTagOf(r, req.AccessTag)}
	if msg := validateQESRequest(req, key.tag); msg != "" {
		writeTreezorError(w, http.StatusBadRequest, "invalid_request", "input_validation_error", msg)
		return
	}
	base := s.publicBase(r)

	s.mu.Lock()
	if a, ok := s.replayLocked(key); ok {
		s.mu.Unlock()
		s.log.Info("qes initiation replayed for accessTag", zap.String("user_id", userID))
		writeRaw(w, a.status, a.body)
		return
	}
	u, ok := s.users[userID]
	if !ok {
		s.mu.Unlock()
		writeTreezorError(w, http.StatusNotFound, "invalid_request", "resource_not_found", "user not found")
		return
	}
	if missing := u.MissingFields(); len(missing) > 0 {
		s.mu.Unlock()
		s.log.Info("qes initiation refused: user data incomplete", zap.String("user_id", userID), zap.Strings("missing", missing))
		writeTreezorError(w, http.StatusPreconditionRequired, "invalid_request", "user_data_incomplete",
			"user data incomplete: "+strings.Join(missing, ", ")+" must be set")
		return
	}
	ident := s.newIdentificationLocked(u, base, req.RedirectURL)
	body := s.qesAnswer(ident)
	s.rememberLocked(key, http.StatusCreated, body)
	s.mu.Unlock()

	s.log.Info("qes initiated", zap.String("user_id", userID), zap.String("identification_id", ident.ID))
	writeRaw(w, http.StatusCreated, body)
}

func validateQESRequest(req qesRequest, tag string) string {
	if len(tag) > maxAccessTagLen {
		return "accessTag must be at most 250 characters"
	}
	if req.RedirectURL != "" {
		u, err := url.Parse(req.RedirectURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return "redirectUrl must be an absolute http(s) URL"
		}
	}
	return ""
}

// newIdentificationLocked creates an identification of u. Caller holds s.mu.
func (s *Simulator) newIdentificationLocked(u *user, base, redirectURL string) *identification {
	id := s.newIdentificationID()
	ident := &identification{
		Identification: Identification{
			ID: id, UserID: u.UserID, URL: base + "/identifications/" + id,
			State: StateInitiated, CreatedAt: s.now(),
		},
		redirectURL: redirectURL,
	}
	s.idents[id] = ident
	s.identOrder = append(s.identOrder, id)
	u.identifications = append(u.identifications, id)
	s.counters.identificationsByUser[u.UserID]++
	s.changedLocked()
	return ident
}

// qesAnswer encodes the 201 answer, nested (seed) or flat (OpenAPI) as configured.
func (s *Simulator) qesAnswer(ident *identification) []byte {
	fields := map[string]string{"identificationId": ident.ID, "identificationURL": ident.URL}
	var v any = map[string]any{"identification": fields}
	if s.cfg.QESResponseFlat {
		v = fields
	}
	b, _ := json.Marshal(v) // maps of strings always encode
	return append(b, '\n')
}

// publicBase is the base URL of the simulator's own pages, without a trailing slash.
func (s *Simulator) publicBase(r *http.Request) string {
	if s.cfg.PublicURL != "" {
		return strings.TrimRight(s.cfg.PublicURL, "/")
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}
