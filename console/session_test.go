package console

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/workflowservice/v1"

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
	sess := b.cookies[SessionCookie]
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
	b.cookies[SessionCookie] = sess // a copy of the old cookie is worthless after sign-out
	require.Equal(t, "/console/signin", b.do(http.MethodGet, "/console/queue", nil).Header().Get("Location"))

	// Sessions end after the idle timeout.
	delete(b.cookies, SessionCookie)
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
func (c *Console) sessionsFor(t *testing.T, token string) *session {
	t.Helper()
	s, err := c.sessions.open(token, AudienceConsole)
	require.NoError(t, err)
	return s
}

// emptyTemporal answers the queue's visibility calls with no workflow.
type emptyTemporal struct{ Temporal }

func (emptyTemporal) ListWorkflow(context.Context, *workflowservice.ListWorkflowExecutionsRequest) (*workflowservice.ListWorkflowExecutionsResponse, error) {
	return &workflowservice.ListWorkflowExecutionsResponse{}, nil
}

func (emptyTemporal) CountWorkflow(context.Context, *workflowservice.CountWorkflowExecutionsRequest) (*workflowservice.CountWorkflowExecutionsResponse, error) {
	return &workflowservice.CountWorkflowExecutionsResponse{}, nil
}

const (
	sessionSecret      = "s3ss10n-K3y-0ne-7f2a9c4e1b8d6a3f5c0e9b7d"
	otherSessionSecret = "s3ss10n-K3y-tw0-1c8e5a7f3b9d2e6a4c0f8b1d"
)

// replica is one API process's console, with its own memory, configured with keys.
func replica(t *testing.T, clk *clock, keys string) *Console {
	t.Helper()
	k, err := ParseSessionKeys(keys)
	require.NoError(t, err)
	c, err := New(Config{
		Temporal:    emptyTemporal{},
		Keys:        []starter.APIKey{{Name: "alice", Key: operatorKey, Scopes: starter.ScopeCompliance}},
		SessionKeys: k, Now: clk.now, SignInDelay: 20 * time.Millisecond,
	})
	require.NoError(t, err)
	return c
}

// signedInBrowser signs alice in on c and returns the browser.
func signedInBrowser(t *testing.T, c *Console) *browser {
	t.Helper()
	b := &browser{t: t, h: c, host: "127.0.0.1:8080", cookies: map[string]*http.Cookie{}}
	token := b.signInForm()
	require.Equal(t, http.StatusSeeOther, b.do(http.MethodPost, "/console/signin", url.Values{"key": {operatorKey}, "csrf": {token}}).Code)
	require.NotNil(t, b.cookies[SessionCookie])
	require.NotNil(t, b.cookies[CodecSessionCookie])
	return b
}

// TestSessionAcceptedByAnotherReplica: a session signed in on one API process is accepted by a
// second process configured with the same keys (no shared store), including its CSRF token,
// and by a process that rotated a new key in front of the old one; a process with other keys
// refuses it.
func TestSessionAcceptedByAnotherReplica(t *testing.T) {
	clk := &clock{t: time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)}
	a := replica(t, clk, sessionSecret)
	b := replica(t, clk, sessionSecret)
	rotated := replica(t, clk, otherSessionSecret+","+sessionSecret)
	stranger := replica(t, clk, otherSessionSecret)

	onA := signedInBrowser(t, a)
	for name, c := range map[string]*Console{"same keys": b, "rotated": rotated} {
		t.Run(name, func(t *testing.T) {
			onB := &browser{t: t, h: c, host: onA.host, cookies: map[string]*http.Cookie{SessionCookie: onA.cookies[SessionCookie]}}
			rec := onB.do(http.MethodGet, "/console/queue", nil)
			require.Equal(t, http.StatusOK, rec.Code, "%s", rec.Body)
			require.Contains(t, rec.Body.String(), `id="operator">alice<`)
			csrf := csrfInput.FindStringSubmatch(rec.Body.String())
			require.NotNil(t, csrf)
			require.Equal(t, http.StatusSeeOther, onB.do(http.MethodPost, "/console/signout", url.Values{"csrf": {csrf[1]}}).Code,
				"the form token of a page from one replica is accepted by another")
		})
	}
	onStranger := &browser{t: t, h: stranger, host: onA.host, cookies: map[string]*http.Cookie{SessionCookie: onA.cookies[SessionCookie]}}
	require.Equal(t, "/console/signin", onStranger.do(http.MethodGet, "/console/queue", nil).Header().Get("Location"),
		"a replica with other keys refuses the session")
}

// TestSessionTokenRefused: a tampered, forged, expired, idle, wrong-audience or wrong-scope
// token is refused; sign-out revokes the session on the process that served it.
func TestSessionTokenRefused(t *testing.T) {
	clk := &clock{t: time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)}
	c := replica(t, clk, sessionSecret)
	keys, err := ParseSessionKeys(sessionSecret)
	require.NoError(t, err)
	good := signedInBrowser(t, c).cookies[SessionCookie].Value
	claims, err := keys.Open(good)
	require.NoError(t, err)
	seal := func(mod func(*SessionClaims)) string {
		cl := claims
		mod(&cl)
		tok, err := keys.Seal(cl)
		require.NoError(t, err)
		return tok
	}
	flip := func(tok string, i int) string {
		b := []byte(tok)
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		return string(b)
	}
	for _, tc := range []struct {
		name  string
		token string
		at    time.Duration // clock advance before the request
	}{
		{name: "ciphertext byte changed", token: flip(good, len(good)-10)},
		{name: "key id changed", token: flip(good, 4)},
		{name: "truncated", token: good[:len(good)-4]},
		{name: "not a token", token: "v1.abc.def"},
		{name: "past its absolute expiry", token: seal(func(cl *SessionClaims) { cl.Expires = clk.now().Add(-time.Second) })},
		{name: "idle too long", token: good, at: DefaultIdleTimeout + time.Second},
		{name: "codec audience", token: seal(func(cl *SessionClaims) { cl.Audience = AudienceCodec })},
		{name: "other scope", token: seal(func(cl *SessionClaims) { cl.Scope = "onboarding" })},
		{name: "sealed with another key", token: func() string {
			other, err := ParseSessionKeys(otherSessionSecret)
			require.NoError(t, err)
			tok, err := other.Seal(claims)
			require.NoError(t, err)
			return tok
		}()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := replica(t, &clock{t: clk.now().Add(tc.at)}, sessionSecret)
			b := &browser{t: t, h: c, host: "127.0.0.1:8080", cookies: map[string]*http.Cookie{SessionCookie: {Name: SessionCookie, Value: tc.token}}}
			require.Equal(t, "/console/signin", b.do(http.MethodGet, "/console/queue", nil).Header().Get("Location"))
		})
	}
	// The control: the untouched token opens.
	b := &browser{t: t, h: c, host: "127.0.0.1:8080", cookies: map[string]*http.Cookie{SessionCookie: {Name: SessionCookie, Value: good}}}
	require.Equal(t, http.StatusOK, b.do(http.MethodGet, "/console/queue", nil).Code)
}

// TestCodecCookie: the codec cookie opens for the codec only, slides its idle expiry when a
// minute old, and is refused after sign-out on the same process.
func TestCodecCookie(t *testing.T) {
	clk := &clock{t: time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)}
	c := replica(t, clk, sessionSecret)
	b := signedInBrowser(t, c)
	ck := b.cookies[CodecSessionCookie]
	require.Equal(t, "/codec/", ck.Path)
	require.True(t, ck.HttpOnly)
	require.Equal(t, http.SameSiteStrictMode, ck.SameSite)

	decode := func(ck *http.Cookie) (string, bool, *httptest.ResponseRecorder) {
		req := httptest.NewRequest(http.MethodPost, "http://127.0.0.1:8080/codec/decode", nil)
		req.AddCookie(ck)
		rec := httptest.NewRecorder()
		who, ok := c.Sessions().AuthenticateSession(rec, req)
		return who, ok, rec
	}
	who, ok, rec := decode(ck)
	require.True(t, ok)
	require.Equal(t, "alice", who)
	require.Empty(t, rec.Result().Cookies(), "a fresh cookie is not re-issued")

	// The console cookie is not a codec credential.
	_, ok, _ = decode(&http.Cookie{Name: CodecSessionCookie, Value: b.cookies[SessionCookie].Value})
	require.False(t, ok)

	// Used every 20 minutes, the codec cookie outlives the 30-minute idle expiry.
	for i := 0; i < 3; i++ {
		clk.add(20 * time.Minute)
		_, ok, rec = decode(ck)
		require.True(t, ok, "round %d", i)
		require.Len(t, rec.Result().Cookies(), 1, "re-issued")
		ck = rec.Result().Cookies()[0]
		require.Equal(t, http.StatusOK, b.do(http.MethodGet, "/console/queue", nil).Code, "the console slides too")
	}
	idle := *ck
	clk.add(DefaultIdleTimeout)
	_, ok, _ = decode(&idle)
	require.False(t, ok, "unused for the idle timeout")
	clk.add(-DefaultIdleTimeout)

	// Sign-out revokes the session for the codec of this process too.
	page := b.do(http.MethodGet, "/console/queue", nil)
	csrf := csrfInput.FindStringSubmatch(page.Body.String())
	require.NotNil(t, csrf)
	require.Equal(t, http.StatusSeeOther, b.do(http.MethodPost, "/console/signout", url.Values{"csrf": {csrf[1]}}).Code)
	_, ok, _ = decode(ck)
	require.False(t, ok, "signed out")
}

// TestSessionKeysRefuseWeakSecrets: a session secret must be long and random.
func TestSessionKeysRefuseWeakSecrets(t *testing.T) {
	for name, spec := range map[string]string{
		"empty": "", "short": "0123456789abcdef", "patterned": strings.Repeat("ab", 20), "twice": sessionSecret + "," + sessionSecret,
	} {
		t.Run(name, func(t *testing.T) {
			_, err := ParseSessionKeys(spec)
			require.Error(t, err)
		})
	}
}
