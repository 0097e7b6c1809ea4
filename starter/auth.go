package starter

import (
	"net/http"
	"strings"
)

const authRealm = `Bearer realm="qesflow"`

// authorize checks the bearer API key against the route's required scope and answers 401/403
// itself when it fails. It returns the caller's scopes.
func (a *api) authorize(w http.ResponseWriter, r *http.Request, required Scope) (Scope, bool) {
	if required == 0 {
		return 0, true
	}
	token, present := bearerToken(r)
	if !present {
		w.Header().Set("WWW-Authenticate", authRealm)
		writeProblem(w, r, simpleProblem(problemUnauthorized, "Unauthorized", http.StatusUnauthorized,
			"An API key is required: Authorization: Bearer <key>."))
		return 0, false
	}
	scopes, ok := a.keys.lookup(token)
	if !ok {
		w.Header().Set("WWW-Authenticate", authRealm+`, error="invalid_token"`)
		writeProblem(w, r, simpleProblem(problemUnauthorized, "Unauthorized", http.StatusUnauthorized,
			"The API key is not valid."))
		return 0, false
	}
	if !scopes.Has(required) {
		a.forbidden(w, r, required, "This API key lacks the "+required.String()+" scope.")
		return 0, false
	}
	return scopes, true
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
