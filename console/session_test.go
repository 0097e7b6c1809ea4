package console

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/qesflow/qesflow/starter"
)

// noTemporal is a Temporal that the sign-in paths never call (any call panics).
type noTemporal struct{ Temporal }

const operatorKey = "Zq8rX2vLm4Tn7Wp9Ks3Hd6Fj1Gb5Yc0A"

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newTestConsole(t *testing.T, clk *clock) *Console {
	t.Helper()
	c, err := New(Config{
		Temporal: noTemporal{},
		Keys: []starter.APIKey{
			{Name: "alice", Key: operatorKey, Scopes: starter.ScopeCompliance},
			{Name: "bot", Key: "Onb8rX2vLm4Tn7Wp9Ks3Hd6Fj1Gb5Yc0B", Scopes: starter.ScopeOnboarding},
		},
		Now: clk.now, SignInDelay: 20 * time.Millisecond,
	})
	require.NoError(t, err)
	return c
}

var csrfInput = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// browser is a minimal cookie-keeping client of the console's handler.
type browser struct {
	t       *testing.T
	h       http.Handler
	host    string
	cookies map[string]*http.Cookie
}

func (b *browser) do(method, path string, form url.Values) *httptest.ResponseRecorder {
	var req *http.Request
	if form != nil {
		req = httptest.NewRequest(method, "http://"+b.host+path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	} else {
		req = httptest.NewRequest(method, "http://"+b.host+path, nil)
	}
	for _, c := range b.cookies {
		req.AddCookie(c)
	}
	rec := httptest.NewRecorder()
	b.h.ServeHTTP(rec, req)
	for _, c := range rec.Result().Cookies() {
		if c.MaxAge < 0 {
			delete(b.cookies, c.Name)
		} else {
			b.cookies[c.Name] = c
		}
	}
	return rec
}

func (b *browser) signInForm() string {
	rec := b.do(http.MethodGet, "/console/signin", nil)
	require.Equal(b.t, http.StatusOK, rec.Code)
	m := csrfInput.FindStringSubmatch(rec.Body.String())
	require.NotNil(b.t, m, "the sign-in form carries a CSRF token")
	return m[1]
}

func TestSignInSessionAndCSRF(t *testing.T) {
	clk := &clock{t: time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)}
	c := newTestConsole(t, clk)
	b := &browser{t: t, h: c, host: "127.0.0.1:8080", cookies: map[string]*http.Cookie{}}

	rec := b.do(http.MethodGet, "/console/queue", nil)
	require.Equal(t, http.StatusSeeOther, rec.Code)
	require.Equal(t, "/console/signin", rec.Header().Get("Location"), "signed out: sent to sign-in")
	require.Equal(t, http.StatusUnauthorized, b.do(http.MethodPost, "/console/cases/1/decision", url.Values{"decision": {"clear"}}).Code)

	token := b.signInForm()
	require.Equal(t, http.StatusForbidden, b.do(http.MethodPost, "/console/signin", url.Values{"key": {operatorKey}}).Code,
		"a sign-in without the form's token is refused")
	require.Equal(t, http.StatusForbidden, b.do(http.MethodPost, "/console/signin", url.Values{"key": {operatorKey}, "csrf": {"forged"}}).Code)

	start := time.Now()
	rec = b.do(http.MethodPost, "/console/signin", url.Values{"key": {"wrong-key"}, "csrf": {token}})
	require.Equal(t, http.StatusUnauthorized, rec.Code)
	require.GreaterOrEqual(t, time.Since(start), 20*time.Millisecond, "a wrong key is slowed down")
	require.Contains(t, rec.Body.String(), `id="error">Wrong key`)
	token = b.signInForm()
	rec = b.do(http.MethodPost, "/console/signin", url.Values{"key": {"Onb8rX2vLm4Tn7Wp9Ks3Hd6Fj1Gb5Yc0B"}, "csrf": {token}})
	require.Equal(t, http.StatusUnauthorized, rec.Code, "a key without the compliance scope does not sign in")

	token = b.signInForm()
	rec = b.do(http.MethodPost, "/console/signin", url.Values{"key": {operatorKey}, "csrf": {token}})
	require.Equal(t, http.StatusSeeOther, rec.Code)
	sess := b.cookies[sessionCookie]
	require.NotNil(t, sess)
	require.True(t, sess.HttpOnly)
	require.Equal(t, http.SameSiteStrictMode, sess.SameSite)
	require.False(t, sess.Secure, "plain HTTP on loopback: a Secure cookie would be dropped")
	require.NotContains(t, sess.Value, operatorKey)

	// Signed in: the sign-in page sends to the queue; signing out needs the session's token.
	require.Equal(t, "/console/queue", b.do(http.MethodGet, "/console/signin", nil).Header().Get("Location"))
	require.Equal(t, http.StatusForbidden, b.do(http.MethodPost, "/console/signout", url.Values{}).Code)
	csrf := c.sessionsFor(t, sess.Value).csrf
	require.Equal(t, http.StatusSeeOther, b.do(http.MethodPost, "/console/signout", url.Values{"csrf": {csrf}}).Code)
	b.cookies[sessionCookie] = sess // a copy of the old cookie is worthless after sign-out
	require.Equal(t, "/console/signin", b.do(http.MethodGet, "/console/queue", nil).Header().Get("Location"))

	// Sessions end after the idle timeout.
	delete(b.cookies, sessionCookie)
	token = b.signInForm()
	require.Equal(t, http.StatusSeeOther, b.do(http.MethodPost, "/console/signin", url.Values{"key": {operatorKey}, "csrf": {token}}).Code)
	clk.add(DefaultIdleTimeout + time.Second)
	require.Equal(t, "/console/signin", b.do(http.MethodGet, "/console/queue", nil).Header().Get("Location"), "idle session expired")
}

func TestCookiesSecureOutsideLoopback(t *testing.T) {
	c := newTestConsole(t, &clock{t: time.Now()})
	b := &browser{t: t, h: c, host: "console.example.com", cookies: map[string]*http.Cookie{}}
	b.signInForm()
	require.True(t, b.cookies[preSigninCookie].Secure)
}

func TestNoOperatorNoConsole(t *testing.T) {
	_, err := New(Config{Temporal: noTemporal{}, Keys: []starter.APIKey{{Key: operatorKey, Scopes: starter.ScopeCompliance}}})
	require.ErrorContains(t, err, "no operator can sign in")
}

// sessionsFor returns the live session of a cookie value (test helper).
func (c *Console) sessionsFor(t *testing.T, id string) *session {
	t.Helper()
	s, ok := c.sessions.get(id)
	require.True(t, ok)
	return s
}
