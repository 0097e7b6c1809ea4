package hostile

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/qesflow/qesflow/console"
	"github.com/qesflow/qesflow/devstack"
)

// TestCodecOriginIsNotAuthentication runs the dev stack as `qesflow dev` runs it (plain HTTP on
// loopback, with its Web UI) and attacks its codec endpoint, which decrypts PII. A request that
// only sets the Web UI's Origin header gets 401, so does one with the codec cookie of a session
// that is expired, idle, of another scope, tampered with, or signed out; /encode (an encryption
// oracle) never answers a session. The controls: the compliance token decodes, and so does the
// codec cookie of an operator signed in to the console, sent from the UI's origin (what the
// UI's browser sends).
func TestCodecOriginIsNotAuthentication(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s, err := devstack.Start(ctx, devstack.Config{Ephemeral: true, DataDir: t.TempDir()}) // with its Web UI
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Stop()) })
	require.NotEmpty(t, s.UIURL)

	// A real encrypted payload of the stack, as an attacker would have read from history.
	const secretURL = "https://sim.example/identifications/secret-url"
	sealed, err := s.DataConverter.ToPayloads(secretURL)
	require.NoError(t, err)
	body, err := protojson.Marshal(sealed)
	require.NoError(t, err)
	clear := base64.StdEncoding.EncodeToString([]byte(`"` + secretURL + `"`))
	call := func(path string, header map[string]string) response {
		h := map[string]string{"Content-Type": "application/json", "X-Namespace": s.Server.Namespace()}
		for k, v := range header {
			h[k] = v
		}
		b := body
		if path == "/codec/encode" {
			b = []byte(`{"payloads":[]}`)
		}
		return send(t, request{method: http.MethodPost, url: s.APIURL, rawPath: path, header: h, body: b})
	}
	refused := func(t *testing.T, path string, header map[string]string) {
		t.Helper()
		resp := call(path, header)
		require.Equal(t, http.StatusUnauthorized, resp.status, "%s", resp.body)
		require.NotContains(t, string(resp.body), clear)
	}

	t.Run("origin only", func(t *testing.T) {
		refused(t, "/codec/decode", map[string]string{"Origin": s.UIURL})
		refused(t, "/codec/encode", map[string]string{"Origin": s.UIURL})
	})
	t.Run("control: the compliance token", func(t *testing.T) {
		resp := call("/codec/decode", map[string]string{"Authorization": "Bearer " + s.Credentials.ComplianceKey})
		require.Equal(t, http.StatusOK, resp.status, "%s", resp.body)
		require.Contains(t, string(resp.body), clear)
	})

	op := signInToConsole(t, s, s.Credentials.ComplianceKey)
	codecCookie := func(v string) string { return console.CodecSessionCookie + "=" + v }
	t.Run("signed-in session from the UI origin", func(t *testing.T) {
		resp := call("/codec/decode", map[string]string{"Origin": s.UIURL, "Cookie": codecCookie(op.codec)})
		require.Equal(t, http.StatusOK, resp.status, "%s", resp.body)
		require.Contains(t, string(resp.body), clear, "decoded for the signed-in operator")
		require.Equal(t, s.UIURL, resp.header.Get("Access-Control-Allow-Origin"))
		require.Equal(t, "true", resp.header.Get("Access-Control-Allow-Credentials"))
	})
	t.Run("session without the UI origin, or to encode", func(t *testing.T) {
		refused(t, "/codec/decode", map[string]string{"Cookie": codecCookie(op.codec)})
		refused(t, "/codec/encode", map[string]string{"Origin": s.UIURL, "Cookie": codecCookie(op.codec)})
	})
	t.Run("console cookie is not a codec credential", func(t *testing.T) {
		refused(t, "/codec/decode", map[string]string{"Origin": s.UIURL, "Cookie": codecCookie(op.console)})
	})

	// Tokens sealed with the stack's own session key, so that only the claim under test is wrong.
	keys, err := console.ParseSessionKeys(s.Credentials.ConsoleSessionKeys)
	require.NoError(t, err)
	claims, err := keys.Open(op.codec)
	require.NoError(t, err)
	reseal := func(mod func(*console.SessionClaims)) string {
		c := claims
		mod(&c)
		tok, err := keys.Seal(c)
		require.NoError(t, err)
		return tok
	}
	now := time.Now()
	for _, tc := range []struct {
		name  string
		token string
		want  int
	}{
		{name: "scope onboarding", token: reseal(func(c *console.SessionClaims) { c.Scope = "onboarding" }), want: http.StatusUnauthorized},
		{name: "expired", token: reseal(func(c *console.SessionClaims) { c.Expires = now.Add(-time.Minute) }), want: http.StatusUnauthorized},
		{name: "idle", token: reseal(func(c *console.SessionClaims) { c.SeenAt = now.Add(-console.DefaultIdleTimeout - time.Minute) }), want: http.StatusUnauthorized},
		{name: "tampered", token: op.codec[:len(op.codec)-6] + strings.Repeat("A", 6), want: http.StatusUnauthorized},
		// The control: resealed unchanged, it opens, so the refusals above are their claims'.
		{name: "resealed unchanged", token: reseal(func(*console.SessionClaims) {}), want: http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.want == http.StatusOK {
				resp := call("/codec/decode", map[string]string{"Origin": s.UIURL, "Cookie": codecCookie(tc.token)})
				require.Equal(t, http.StatusOK, resp.status, "%s", resp.body)
				require.Contains(t, string(resp.body), clear)
				return
			}
			refused(t, "/codec/decode", map[string]string{"Origin": s.UIURL, "Cookie": codecCookie(tc.token)})
		})
	}

	t.Run("signed out", func(t *testing.T) {
		page := send(t, request{method: http.MethodGet, url: s.APIURL, rawPath: "/console/queue",
			header: map[string]string{"Cookie": console.SessionCookie + "=" + op.console}})
		require.Equal(t, http.StatusOK, page.status, "%s", page.body)
		csrf := csrfField.FindStringSubmatch(string(page.body))
		require.NotNil(t, csrf)
		out := send(t, request{method: http.MethodPost, url: s.APIURL, rawPath: "/console/signout",
			body:   []byte(url.Values{"csrf": {csrf[1]}}.Encode()),
			header: map[string]string{"Cookie": console.SessionCookie + "=" + op.console, "Content-Type": "application/x-www-form-urlencoded"}})
		require.Equal(t, http.StatusSeeOther, out.status, "%s", out.body)
		refused(t, "/codec/decode", map[string]string{"Origin": s.UIURL, "Cookie": codecCookie(op.codec)})
	})
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// consoleSession is the cookies of an operator signed in to the console.
type consoleSession struct{ console, codec string }

// signInToConsole signs in over HTTP as a browser would: the sign-in form's CSRF token and
// cookie, then the key.
func signInToConsole(t *testing.T, s *devstack.Stack, key string) consoleSession {
	t.Helper()
	form := send(t, request{method: http.MethodGet, url: s.APIURL, rawPath: "/console/signin"})
	require.Equal(t, http.StatusOK, form.status)
	csrf := csrfField.FindStringSubmatch(string(form.body))
	require.NotNil(t, csrf)
	var pre []string
	for _, c := range (&http.Response{Header: form.header}).Cookies() {
		pre = append(pre, c.Name+"="+c.Value)
	}
	resp := send(t, request{method: http.MethodPost, url: s.APIURL, rawPath: "/console/signin",
		body:   []byte(url.Values{"csrf": {csrf[1]}, "key": {key}}.Encode()),
		header: map[string]string{"Cookie": strings.Join(pre, "; "), "Content-Type": "application/x-www-form-urlencoded"}})
	require.Equal(t, http.StatusSeeOther, resp.status, "%s", resp.body)
	var out consoleSession
	for _, c := range (&http.Response{Header: resp.header}).Cookies() {
		switch c.Name {
		case console.SessionCookie:
			out.console = c.Value
		case console.CodecSessionCookie:
			out.codec = c.Value
			require.Equal(t, "/codec/", c.Path)
		}
	}
	require.NotEmpty(t, out.console)
	require.NotEmpty(t, out.codec)
	return out
}
