package starter

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"

	"go.uber.org/zap"

	"github.com/qesflow/qesflow/internal/httpserver"
)

const authRealm = `Bearer realm="qesflow"`

// authorize checks the bearer API key against the route's required scope (every scope in
// required, or any one of them when anyOf) and answers 401/403 itself when it fails. It
// returns the caller's scopes.
func (a *api) authorize(w http.ResponseWriter, r *http.Request, required Scope, anyOf bool) (Scope, bool) {
	if required == 0 {
		return 0, true
	}
	if wait, blocked := a.limiter.Blocked(r); blocked {
		w.Header().Set("Retry-After", httpserver.RetryAfter(wait))
		writeProblem(w, r, simpleProblem(problemTooManyFailures, "Too Many Requests", http.StatusTooManyRequests,
			"Too many failed authentications from this address; retry later."))
		return 0, false
	}
	token, present := bearerToken(r)
	if !present {
		a.limiter.Failed(r)
		w.Header().Set("WWW-Authenticate", authRealm)
		writeProblem(w, r, simpleProblem(problemUnauthorized, "Unauthorized", http.StatusUnauthorized,
			"An API key is required: Authorization: Bearer <key>."))
		return 0, false
	}
	scopes, ok := a.keys.lookup(token)
	if !ok {
		a.limiter.Failed(r)
		a.log.Warn("unknown API key", zap.String("remoteAddr", r.RemoteAddr), zap.String("route", r.Pattern))
		w.Header().Set("WWW-Authenticate", authRealm+`, error="invalid_token"`)
		writeProblem(w, r, simpleProblem(problemUnauthorized, "Unauthorized", http.StatusUnauthorized,
			"The API key is not valid."))
		return 0, false
	}
	switch {
	case anyOf && scopes&required == 0:
		a.forbidden(w, r, required, "This API key has none of the scopes "+required.String()+".")
		return 0, false
	case !anyOf && !scopes.Has(required):
		a.forbidden(w, r, required, "This API key lacks the "+required.String()+" scope.")
		return 0, false
	}
	if required.Has(ScopeCompliance) && (!anyOf || scopes.Has(ScopeCompliance)) {
		// Compliance routes read or decide on PII: who, from where.
		a.log.Info("compliance access", zap.String("keyId", KeyID(token)), zap.String("remoteAddr", r.RemoteAddr),
			zap.String("route", r.Pattern), zap.String("userId", r.PathValue("userId")))
	}
	return scopes, true
}

// KeyID identifies an API key in logs without revealing it: the first 12 hex digits of its
// SHA-256 (`printf %s "$KEY" | sha256sum | cut -c1-12`).
func KeyID(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:6])
}

func (a *api) forbidden(w http.ResponseWriter, r *http.Request, required Scope, detail string) {
	w.Header().Set("WWW-Authenticate", authRealm+`, error="insufficient_scope", scope="`+required.String()+`"`)
	p := simpleProblem(problemForbidden, "Forbidden", http.StatusForbidden, detail)
	p.RequiredScope = required.String()
	writeProblem(w, r, p)
}

// bearerToken returns the token of an "Authorization: Bearer <token>" header.
func bearerToken(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	scheme, token, found := strings.Cut(h, " ")
	if !found || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}
