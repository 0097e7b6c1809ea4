package treezorsim

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"slices"
	"strings"
	"time"
)

// OAuth scopes of the Treezor API the simulator knows.
const (
	ScopeReadOnly  = "read_only"
	ScopeReadWrite = "read_write"
)

var knownScopes = []string{ScopeReadOnly, ScopeReadWrite, "admin", "keys", "legal", "read_kyc"}

// token is an issued access token, stored under tokenKey of the token so that neither
// memory dumps nor the state file hold a usable bearer token.
type token struct {
	scopes  []string
	expires time.Time
}

// handleToken is POST /oauth/token: the client credentials grant, with the credentials in
// the form (urlencoded or multipart) or in HTTP Basic auth.
func (s *Simulator) handleToken(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := parseAnyForm(r); err != nil {
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", "the body must be a urlencoded or multipart form")
		return
	}
	if gt := r.PostForm.Get("grant_type"); gt != "client_credentials" {
		writeOAuthError(w, http.StatusBadRequest, "unsupported_grant_type", "only client_credentials is supported")
		return
	}
	id, secret, ok := r.BasicAuth()
	if !ok {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	if !s.validClient(id, secret) {
		s.log.Info("token refused: invalid client")
		writeOAuthError(w, http.StatusUnauthorized, "invalid_client", "client authentication failed")
		return
	}
	scopes := strings.Fields(r.PostForm.Get("scope"))
	if len(scopes) == 0 {
		scopes = []string{ScopeReadOnly, ScopeReadWrite}
	}
	for _, sc := range scopes {
		if !slices.Contains(knownScopes, sc) {
			writeOAuthError(w, http.StatusBadRequest, "invalid_scope", "unknown scope")
			return
		}
	}
	access := base64.RawURLEncoding.EncodeToString(randomBytes(32))
	s.mu.Lock()
	now := s.now()
	s.purgeExpiredTokens(now)
	s.tokens[tokenKey(access)] = token{scopes: scopes, expires: now.Add(s.cfg.TokenTTL)}
	s.counters.tokensIssued++
	s.changedLocked()
	s.mu.Unlock()
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]any{
		"token_type":   "Bearer",
		"expires_in":   int(s.cfg.TokenTTL / time.Second),
		"access_token": access,
		"scope":        strings.Join(scopes, " "),
	})
}

func (s *Simulator) validClient(id, secret string) bool {
	idOK := subtle.ConstantTimeCompare([]byte(id), []byte(s.cfg.ClientID)) == 1
	secretOK := subtle.ConstantTimeCompare([]byte(secret), []byte(s.cfg.ClientSecret)) == 1
	return idOK && secretOK
}

// tokenKey is the hex SHA-256 of an access token.
func tokenKey(access string) string {
	sum := sha256.Sum256([]byte(access))
	return hex.EncodeToString(sum[:])
}

// purgeExpiredTokens drops expired tokens. Caller holds s.mu.
func (s *Simulator) purgeExpiredTokens(now time.Time) {
	for k, t := range s.tokens {
		if !now.Before(t.expires) {
			delete(s.tokens, k)
		}
	}
}

// requireScope wraps an API handler: a valid bearer token is needed (401 otherwise), with
// read_only for GET and read_write for PUT/POST/DELETE (403 otherwise). As at Treezor
// (docs.treezor.com/guide/api-basics/scopes.html), read_write does not grant reads.
func (s *Simulator) requireScope(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || raw == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="treezorsim"`)
			writeTreezorError(w, http.StatusUnauthorized, "unauthorized", "missing_token", "a bearer access token is required")
			return
		}
		s.mu.Lock()
		t, known := s.tokens[tokenKey(strings.TrimSpace(raw))]
		expired := known && !s.now().Before(t.expires)
		s.mu.Unlock()
		if !known || expired {
			w.Header().Set("WWW-Authenticate", `Bearer realm="treezorsim", error="invalid_token"`)
			writeTreezorError(w, http.StatusUnauthorized, "unauthorized", "invalid_token", "the access token is invalid or expired")
			return
		}
		if !slices.Contains(t.scopes, neededScope(r.Method)) {
			writeTreezorError(w, http.StatusForbidden, "forbidden", "insufficient_scope", "the access token lacks the scope "+neededScope(r.Method))
			return
		}
		next.ServeHTTP(w, r)
	})
}

func isRead(method string) bool { return method == http.MethodGet || method == http.MethodHead }

func neededScope(method string) string {
	if isRead(method) {
		return ScopeReadOnly
	}
	return ScopeReadWrite
}

// parseAnyForm parses a urlencoded or multipart form body into r.PostForm.
func parseAnyForm(r *http.Request) error {
	if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data") {
		return r.ParseMultipartForm(32 << 10)
	}
	return r.ParseForm()
}

func writeOAuthError(w http.ResponseWriter, status int, code, description string) {
	writeJSON(w, status, map[string]string{"error": code, "error_description": description})
}
