package console

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/qesflow/qesflow/codec"
	"github.com/qesflow/qesflow/internal/httpserver"
	"github.com/qesflow/qesflow/starter"
)

// Cookie names. The pre-session cookie carries the sign-in form's CSRF token (double submit).
const (
	SessionCookie   = "qesflow_console"
	preSigninCookie = "qesflow_console_signin"
	csrfField       = "csrf"
	// CodecSessionCookie carries the session to the codec endpoint (path /codec/).
	CodecSessionCookie = "qesflow_codec"
)

// operators holds the SHA-256 hashes of the named compliance keys, never the keys.
type operators struct {
	entries []operatorEntry
}

type operatorEntry struct {
	hash [sha256.Size]byte
	name string
}

func newOperators(keys []starter.APIKey) (*operators, error) {
	ops := &operators{}
	for _, k := range keys {
		if k.Name == "" || !k.Scopes.Has(starter.ScopeCompliance) {
			continue
		}
		if err := starter.ValidKeyName(k.Name); err != nil {
			return nil, err
		}
		ops.entries = append(ops.entries, operatorEntry{hash: sha256.Sum256([]byte(k.Key)), name: k.Name})
	}
	if len(ops.entries) == 0 {
		return nil, errors.New(`console: no operator can sign in: give a compliance key a name ("name:key:compliance")`)
	}
	return ops, nil
}

// lookup returns the operator holding the presented key, comparing against every hash in
// constant time so that neither the key nor its position leaks through timing.
func (o *operators) lookup(presented string) (string, bool) {
	h := sha256.Sum256([]byte(presented))
	name, found := "", 0
	for _, e := range o.entries {
		if subtle.ConstantTimeCompare(h[:], e.hash[:]) == 1 {
			name, found = e.name, 1
		}
	}
	return name, found == 1
}

// ScopeName is the scope a session token carries: only compliance operators sign in.
const ScopeName = "compliance"

// refreshEvery is how stale a cookie's SeenAt may get before a request re-issues it, so that
// the idle expiry slides without a Set-Cookie on every request.
const refreshEvery = time.Minute

// session is one signed-in operator, as opened from the request's cookie.
type session struct {
	claims SessionClaims
	csrf   string
}

// operator is the session's operator name.
func (s *session) operator() string { return s.claims.Operator }

// Sessions issues and checks console sessions. A session is a sealed token in a cookie, not a
// row in this process, so every API replica configured with the same SessionKeys accepts it
// and no shared store is needed. Sign-out removes the browser's cookies and revokes the
// session here; other replicas learn nothing of it: a copy of the cookie taken before
// sign-out still opens on them until it expires (idle or absolute expiry, whichever is
// first). The codec endpoint of the same process shares the revocation list.
type Sessions struct {
	keys *SessionKeys
	ttl  time.Duration
	idle time.Duration
	now  func() time.Time

	mu      sync.Mutex
	revoked map[string]time.Time // session id → when its token expires anyway
}

// SessionsConfig configures Sessions; zero durations take the console's defaults.
type SessionsConfig struct {
	Keys        *SessionKeys // nil: RandomSessionKeys (this process only)
	TTL         time.Duration
	IdleTimeout time.Duration
	Now         func() time.Time
}

// NewSessions returns the session issuer and checker of cfg.
func NewSessions(cfg SessionsConfig) *Sessions {
	s := &Sessions{keys: cfg.Keys, ttl: cfg.TTL, idle: cfg.IdleTimeout, now: cfg.Now, revoked: map[string]time.Time{}}
	if s.keys == nil {
		s.keys = RandomSessionKeys()
	}
	if s.ttl <= 0 {
		s.ttl = DefaultSessionTTL
	}
	if s.idle <= 0 {
		s.idle = DefaultIdleTimeout
	}
	if s.now == nil {
		s.now = time.Now
	}
	return s
}

func randomToken() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic("console: no randomness: " + err.Error()) // crypto/rand does not fail on supported systems
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// create starts a session for operator.
func (s *Sessions) create(operator string) *session {
	now := s.now().Truncate(time.Second)
	c := SessionClaims{ID: randomToken(), Operator: operator, Scope: ScopeName, Audience: AudienceConsole,
		IssuedAt: now, SeenAt: now, Expires: now.Add(s.ttl)}
	return &session{claims: c, csrf: s.keys.csrfToken(c.ID)}
}

// open returns the live session of a token meant for audience.
func (s *Sessions) open(token, audience string) (*session, error) {
	c, err := s.keys.Open(token)
	if err != nil {
		return nil, err
	}
	now := s.now()
	switch {
	case c.Audience != audience, c.Scope != ScopeName, c.ID == "", c.Operator == "":
		return nil, ErrSessionInvalid
	case !now.Before(c.Expires), now.Sub(c.SeenAt) >= s.idle, c.SeenAt.Sub(now) > refreshEvery:
		return nil, fmt.Errorf("%w: expired", ErrSessionInvalid)
	}
	s.mu.Lock()
	_, gone := s.revoked[c.ID]
	s.mu.Unlock()
	if gone {
		return nil, fmt.Errorf("%w: signed out", ErrSessionInvalid)
	}
	return &session{claims: c, csrf: s.keys.csrfToken(c.ID)}, nil
}

// seal returns sess's token for audience, seen now, carrying flash (console audience only).
func (s *Sessions) seal(sess *session, audience, flash string) (string, error) {
	c := sess.claims
	c.Audience = audience
	c.SeenAt = s.now().Truncate(time.Second)
	c.Flash = ""
	if audience == AudienceConsole {
		c.Flash = flash
	}
	return s.keys.Seal(c)
}

// revoke refuses sess on this process until it would have expired anyway.
func (s *Sessions) revoke(sess *session) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, exp := range s.revoked {
		if !now.Before(exp) {
			delete(s.revoked, id)
		}
	}
	s.revoked[sess.claims.ID] = sess.claims.Expires
}

// AuthenticateSession recognises the codec cookie of a signed-in compliance operator and
// returns the operator's name; the codec endpoint accepts it as a credential for /decode. A
// cookie older than a minute is re-issued on w, so that an operator reading the Web UI keeps
// the session alive.
func (s *Sessions) AuthenticateSession(w http.ResponseWriter, r *http.Request) (string, bool) {
	ck, err := r.Cookie(CodecSessionCookie)
	if err != nil || ck.Value == "" {
		return "", false
	}
	sess, err := s.open(ck.Value, AudienceCodec)
	if err != nil {
		return "", false
	}
	if s.now().Sub(sess.claims.SeenAt) >= refreshEvery {
		if token, err := s.seal(sess, AudienceCodec, ""); err == nil {
			setCodecCookie(w, r, token, sess.claims.Expires.Sub(s.now()))
		}
	}
	return sess.operator(), true
}

// secureCookies reports whether cookies get the Secure attribute: always, except for a
// plain-HTTP console opened on loopback (qesflow dev), where a browser would drop them.
func secureCookies(r *http.Request) bool {
	if r.TLS != nil {
		return true
	}
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if strings.EqualFold(host, "localhost") {
		return false
	}
	ip := net.ParseIP(host)
	return ip == nil || !ip.IsLoopback()
}

func setCookie(w http.ResponseWriter, r *http.Request, name, value string, maxAge int) {
	setCookiePath(w, r, name, "/console/", value, maxAge)
}

func setCookiePath(w http.ResponseWriter, r *http.Request, name, path, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{
		Name: name, Value: value, Path: path, MaxAge: maxAge,
		HttpOnly: true, Secure: secureCookies(r), SameSite: http.SameSiteStrictMode,
	})
}

// setCodecCookie sets the session's codec token, sent by the browser to /codec/ on any port of
// this host: the Web UI's decode requests carry it (the UI fetches with credentials).
// SameSite=Strict still holds it back from every other site.
func setCodecCookie(w http.ResponseWriter, r *http.Request, token string, life time.Duration) {
	setCookiePath(w, r, CodecSessionCookie, codec.PathPrefix, token, max(int(life.Seconds()), 1))
}

// issue sets the session's two cookies, seen now; flash goes to the next console page.
func (c *Console) issue(w http.ResponseWriter, r *http.Request, sess *session, flash string) {
	life := max(int(sess.claims.Expires.Sub(c.cfg.Now()).Seconds()), 1)
	consoleToken, err := c.sessions.seal(sess, AudienceConsole, flash)
	if err != nil {
		c.log.Error("console: seal session", zap.Error(err))
		return
	}
	codecToken, err := c.sessions.seal(sess, AudienceCodec, "")
	if err != nil {
		c.log.Error("console: seal session", zap.Error(err))
		return
	}
	setCookie(w, r, SessionCookie, consoleToken, life)
	setCodecCookie(w, r, codecToken, time.Duration(life)*time.Second)
}

// currentSession returns the request's live session, if any.
func (c *Console) currentSession(r *http.Request) (*session, bool) {
	ck, err := r.Cookie(SessionCookie)
	if err != nil || ck.Value == "" {
		return nil, false
	}
	sess, err := c.sessions.open(ck.Value, AudienceConsole)
	return sess, err == nil
}

// signedIn wraps a handler that needs a session: without one, GET goes to the sign-in page
// and anything else is refused; every POST must carry the session's CSRF token.
func (c *Console) signedIn(h func(http.ResponseWriter, *http.Request, *session)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		sess, ok := c.currentSession(r)
		if !ok {
			if r.Method == http.MethodGet {
				http.Redirect(w, r, "/console/signin", http.StatusSeeOther)
				return
			}
			http.Error(w, "Signed out: sign in again.", http.StatusUnauthorized)
			return
		}
		if r.Method == http.MethodPost && !c.sessions.keys.validCSRF(sess.claims.ID, formToken(r)) {
			c.log.Warn("console: refused a form without a valid CSRF token",
				zap.String("operator", sess.operator()), zap.String("path", r.URL.Path), zap.String("remoteAddr", r.RemoteAddr))
			http.Error(w, "Forbidden: the form's CSRF token is missing or wrong; reload the page.", http.StatusForbidden)
			return
		}
		h(w, r, sess)
	}
}

// formToken is the form's CSRF field (the body is bounded).
func formToken(r *http.Request) string {
	r.Body = http.MaxBytesReader(nil, r.Body, 16<<10)
	return r.PostFormValue(csrfField)
}

// validCSRF checks the form's token against want in constant time.
func validCSRF(r *http.Request, want string) bool {
	got := formToken(r)
	return got != "" && want != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

func (c *Console) signInPage(w http.ResponseWriter, r *http.Request) {
	if _, ok := c.currentSession(r); ok {
		http.Redirect(w, r, "/console/queue", http.StatusSeeOther)
		return
	}
	c.renderSignIn(w, r, http.StatusOK, "")
}

// renderSignIn shows the sign-in form with a fresh double-submit CSRF token.
func (c *Console) renderSignIn(w http.ResponseWriter, r *http.Request, status int, msg string) {
	token := randomToken()
	setCookie(w, r, preSigninCookie, token, 600)
	c.render(w, status, "signin", page{Title: "Sign in", CSRF: token, Error: msg})
}

func (c *Console) signIn(w http.ResponseWriter, r *http.Request) {
	pre, err := r.Cookie(preSigninCookie)
	if err != nil || !validCSRF(r, pre.Value) {
		http.Error(w, "Forbidden: the sign-in form's CSRF token is missing or wrong; reload the page.", http.StatusForbidden)
		return
	}
	if wait, blocked := c.limiter.Blocked(r); blocked {
		w.Header().Set("Retry-After", httpserver.RetryAfter(wait))
		c.renderSignIn(w, r, http.StatusTooManyRequests, "Too many failed sign-ins from this address; try again later.")
		return
	}
	name, ok := c.ops.lookup(strings.TrimSpace(r.PostFormValue("key")))
	if !ok {
		c.limiter.Failed(r)
		c.log.Warn("console: failed sign-in", zap.String("remoteAddr", r.RemoteAddr))
		select { // slow guessing down; a client that gives up frees the handler
		case <-time.After(c.cfg.SignInDelay):
		case <-r.Context().Done():
			return
		}
		c.renderSignIn(w, r, http.StatusUnauthorized, "Wrong key, or not a named compliance key.")
		return
	}
	sess := c.sessions.create(name)
	setCookie(w, r, preSigninCookie, "", -1)
	c.issue(w, r, sess, "")
	c.log.Info("console: operator signed in", zap.String("operator", name), zap.String("remoteAddr", r.RemoteAddr))
	http.Redirect(w, r, "/console/queue", http.StatusSeeOther)
}

// signOut revokes the session on this process and removes both cookies from the browser.
func (c *Console) signOut(w http.ResponseWriter, r *http.Request, sess *session) {
	c.sessions.revoke(sess)
	setCookie(w, r, SessionCookie, "", -1)
	setCookiePath(w, r, CodecSessionCookie, codec.PathPrefix, "", -1)
	c.log.Info("console: operator signed out", zap.String("operator", sess.operator()))
	http.Redirect(w, r, "/console/signin", http.StatusSeeOther)
}
