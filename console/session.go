package console

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/qesflow/qesflow/internal/httpserver"
	"github.com/qesflow/qesflow/starter"
)

// Cookie names. The pre-session cookie carries the sign-in form's CSRF token (double submit).
const (
	sessionCookie   = "qesflow_console"
	preSigninCookie = "qesflow_console_signin"
	csrfField       = "csrf"
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

// session is one signed-in operator. The id and the CSRF token are random; only the id's
// hash is the map key, so a memory dump of the map does not hand out sessions.
type session struct {
	operator string
	csrf     string
	created  time.Time
	lastSeen time.Time
	flash    string // one message for the next page (after a redirect)
}

// sessions live in the API process: behind several API replicas, route /console/ stickily.
type sessions struct {
	mu   sync.Mutex
	m    map[[sha256.Size]byte]*session
	ttl  time.Duration
	idle time.Duration
	now  func() time.Time
}

func newSessions(ttl, idle time.Duration, now func() time.Time) *sessions {
	return &sessions{m: map[[sha256.Size]byte]*session{}, ttl: ttl, idle: idle, now: now}
}

func randomToken() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic("console: no randomness: " + err.Error()) // crypto/rand does not fail on supported systems
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// create starts a session and returns its id (the cookie's value).
func (s *sessions) create(operator string) (string, *session) {
	id := randomToken()
	now := s.now()
	sess := &session{operator: operator, csrf: randomToken(), created: now, lastSeen: now}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweep(now)
	s.m[sha256.Sum256([]byte(id))] = sess
	return id, sess
}

// get returns the live session of id and marks it used; an expired one is deleted.
func (s *sessions) get(id string) (*session, bool) {
	key := sha256.Sum256([]byte(id))
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	sess, ok := s.m[key]
	if !ok {
		return nil, false
	}
	if now.Sub(sess.created) >= s.ttl || now.Sub(sess.lastSeen) >= s.idle {
		delete(s.m, key)
		return nil, false
	}
	sess.lastSeen = now
	return sess, true
}

func (s *sessions) delete(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, sha256.Sum256([]byte(id)))
}

// takeFlash returns and clears the session's message.
func (s *sessions) takeFlash(sess *session) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := sess.flash
	sess.flash = ""
	return f
}

func (s *sessions) setFlash(sess *session, msg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sess.flash = msg
}

// sweep drops expired sessions; the caller holds mu.
func (s *sessions) sweep(now time.Time) {
	for k, sess := range s.m {
		if now.Sub(sess.created) >= s.ttl || now.Sub(sess.lastSeen) >= s.idle {
			delete(s.m, k)
		}
	}
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
	http.SetCookie(w, &http.Cookie{
		Name: name, Value: value, Path: "/console/", MaxAge: maxAge,
		HttpOnly: true, Secure: secureCookies(r), SameSite: http.SameSiteStrictMode,
	})
}

// currentSession returns the request's live session, if any.
func (c *Console) currentSession(r *http.Request) (string, *session, bool) {
	ck, err := r.Cookie(sessionCookie)
	if err != nil || ck.Value == "" {
		return "", nil, false
	}
	sess, ok := c.sessions.get(ck.Value)
	return ck.Value, sess, ok
}

// signedIn wraps a handler that needs a session: without one, GET goes to the sign-in page
// and anything else is refused; every POST must carry the session's CSRF token.
func (c *Console) signedIn(h func(http.ResponseWriter, *http.Request, *session)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		_, sess, ok := c.currentSession(r)
		if !ok {
			if r.Method == http.MethodGet {
				http.Redirect(w, r, "/console/signin", http.StatusSeeOther)
				return
			}
			http.Error(w, "Signed out: sign in again.", http.StatusUnauthorized)
			return
		}
		if r.Method == http.MethodPost && !validCSRF(r, sess.csrf) {
			c.log.Warn("console: refused a form without a valid CSRF token",
				zap.String("operator", sess.operator), zap.String("path", r.URL.Path), zap.String("remoteAddr", r.RemoteAddr))
			http.Error(w, "Forbidden: the form's CSRF token is missing or wrong; reload the page.", http.StatusForbidden)
			return
		}
		h(w, r, sess)
	}
}

// validCSRF checks the form's token against want in constant time.
func validCSRF(r *http.Request, want string) bool {
	r.Body = http.MaxBytesReader(nil, r.Body, 16<<10)
	got := r.PostFormValue(csrfField)
	return got != "" && want != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

func (c *Console) signInPage(w http.ResponseWriter, r *http.Request) {
	if _, _, ok := c.currentSession(r); ok {
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
	id, _ := c.sessions.create(name)
	setCookie(w, r, preSigninCookie, "", -1)
	setCookie(w, r, sessionCookie, id, int(c.cfg.SessionTTL.Seconds()))
	c.log.Info("console: operator signed in", zap.String("operator", name), zap.String("remoteAddr", r.RemoteAddr))
	http.Redirect(w, r, "/console/queue", http.StatusSeeOther)
}

func (c *Console) signOut(w http.ResponseWriter, r *http.Request, sess *session) {
	if id, _, ok := c.currentSession(r); ok {
		c.sessions.delete(id)
	}
	setCookie(w, r, sessionCookie, "", -1)
	c.log.Info("console: operator signed out", zap.String("operator", sess.operator))
	http.Redirect(w, r, "/console/signin", http.StatusSeeOther)
}
