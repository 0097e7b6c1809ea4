package treezorsim

import (
	"net/http"
	"time"

	"go.uber.org/zap"
)

// RouteFault is how the simulator answers calls to one route instead of its normal answer:
// the failures Treezor and its gateway produce (maintenance, throttling, a refused token,
// a slow answer). Tests set it with SetRouteFault.
type RouteFault struct {
	// Status, when not 0, is answered before the call is processed (nothing changes):
	// Treezor's error body with Code, or the gateway's HTML page for 502. 0: the call is
	// processed after Delay.
	Status int
	// Code is the error code of the body (default from the status; the token endpoint
	// answers it as an OAuth error).
	Code string
	// Message is the message of the body (default the status text), e.g. the fields a 428
	// names.
	Message string
	// UserID, when set, limits the fault to the calls for this user (the {userId} of the
	// route); without it the fault applies to every call of the route.
	UserID string
	// Delay is waited before the call is answered or processed.
	Delay time.Duration
	// Times is how many calls the fault applies to; 0 applies it until cleared.
	Times int
}

// SetRouteFault makes the calls to route, a pattern of Handler's list such as
// "POST /v1/users/{userId}/qes" or "POST /oauth/token", answer f (for f.UserID only, when
// set). A fault with neither Status nor Delay clears the one set for route and f.UserID.
func (s *Simulator) SetRouteFault(route string, f RouteFault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := faultKey{route: route, userID: f.UserID}
	if f.Status == 0 && f.Delay == 0 {
		delete(s.routeFaults, key)
		return
	}
	s.routeFaults[key] = f
}

// faultKey is where a RouteFault applies: a route, for one user or (userID "") for all.
type faultKey struct{ route, userID string }

// ClearRouteFaults removes every route fault.
func (s *Simulator) ClearRouteFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.routeFaults)
}

// RevokeTokens makes every issued access token invalid, as Treezor does when it rotates or
// revokes them: the next API call answers 401 and the client needs a new token.
func (s *Simulator) RevokeTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.tokens)
	s.changedLocked()
}

// takeRouteFault returns the fault of route for one call of userID (the user's own fault
// first), counting it down.
func (s *Simulator) takeRouteFault(route, userID string) (RouteFault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := faultKey{route: route, userID: userID}
	f, ok := s.routeFaults[key]
	if !ok || userID == "" {
		key.userID = ""
		f, ok = s.routeFaults[key]
	}
	if !ok {
		return RouteFault{}, false
	}
	if f.Times > 0 {
		if f.Times--; f.Times == 0 {
			delete(s.routeFaults, key)
		} else {
			s.routeFaults[key] = f
		}
	}
	return f, true
}

// withRouteFault wraps the handler of route with its RouteFault.
func (s *Simulator) withRouteFault(route string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, ok := s.takeRouteFault(route, r.PathValue("userId"))
		if !ok {
			next.ServeHTTP(w, r)
			return
		}
		if f.Delay > 0 {
			t := time.NewTimer(f.Delay)
			select {
			case <-t.C:
			case <-r.Context().Done():
				t.Stop()
				return
			case <-s.ctx.Done():
				t.Stop()
			}
		}
		switch {
		case f.Status == 0:
			next.ServeHTTP(w, r)
		case route == tokenRoute:
			s.log.Info("token fault injected", zap.Int("status", f.Status))
			writeOAuthError(w, f.Status, orDefault(f.Code, "invalid_client"), orDefault(f.Message, "refused by a test fault"))
		case f.Status == http.StatusBadGateway && f.Code == "":
			s.log.Info("route fault injected", zap.String("route", route), zap.Int("status", f.Status))
			writeFault(w, f.Status)
		default:
			s.log.Info("route fault injected", zap.String("route", route), zap.Int("status", f.Status))
			code := orDefault(f.Code, codeOf(f.Status))
			writeTreezorError(w, f.Status, errorType(f.Status), code, orDefault(f.Message, http.StatusText(f.Status)))
		}
	})
}

// errorType is the type field of Treezor's error body for status.
func errorType(status int) string {
	switch status {
	case http.StatusUnauthorized:
		return "unauthorized"
	case http.StatusForbidden:
		return "forbidden"
	case http.StatusNotFound:
		return "not_found"
	case http.StatusTooManyRequests:
		return "too_many_requests"
	}
	if status >= 500 {
		return "unexpected_error"
	}
	return "invalid_request"
}
